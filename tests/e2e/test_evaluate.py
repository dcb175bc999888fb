"""`conformance evaluate`: a tender end to end, with candidates started as real processes on 127.0.0.1,
one that never starts, and a resume that keeps finished work and completes the rest."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.schemas import load_schema
from tests.conftest import SEED, conformance

pytestmark = pytest.mark.slow

TENDER = f"""\
tender: 1
id: e2e
title: End-to-end tender
profiles:
  - profile: pole-records@1.0.0
category_weights: {{safeguarding: 2}}
thresholds: {{all_must: true, min_score: 80}}
run: {{seed: {SEED}}}
load: {{duration_s: 3}}  # the quick tier's rate for 3 s: enough to measure, and the suite stays quick
waivers:
  - requirement: POLE-REC-006
    reason: accepted by the design authority for this test
candidates:
  clean:
    supplier: Clean Ltd
    command: conformance reference serve --port 0
    claims: {{profiles: [pole-records@1.0.0]}}
  drifty:
    supplier: Drifty plc
    command: conformance reference serve --port 0 --fault schema-drift
    claims: {{profiles: [pole-records@1.0.0]}}
  broken:
    supplier: Broken Co
    command: {sys.executable} -c "print('no database'); raise SystemExit(4)"
"""


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def runs_of(folder: Path, name: str) -> list[Path]:
    base = folder / "runs" / name
    return sorted(p for p in base.iterdir() if p.is_dir()) if base.exists() else []


@pytest.mark.serial  # its candidates' whole runs measure load: judged on a machine the other tiers do not crowd
def test_evaluate_ranks_candidates_keeps_going_past_a_broken_one_and_resumes(tmp_path: Path) -> None:
    tender = tmp_path / "tender.yaml"
    tender.write_text(TENDER, encoding="utf-8")
    out = tmp_path / "evaluations"
    proc = conformance("evaluate", str(tender), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr  # at least one candidate meets the thresholds
    assert "Traceback" not in proc.stderr
    (folder,) = out.iterdir()
    comparison = read(folder / "comparison.json")
    jsonschema.validate(comparison, load_schema("comparison"))
    ranking = {r["candidate"]: r for r in comparison["ranking"]}
    assert [r["candidate"] for r in comparison["ranking"]] == ["clean", "drifty", "broken"]
    assert ranking["clean"]["verdict"] == "conformant" and ranking["clean"]["meets_thresholds"]
    assert ranking["drifty"]["verdict"] == "non-conformant"
    assert ranking["broken"]["verdict"] == "incomplete"
    broken = next(c for c in comparison["candidates"] if c["name"] == "broken")
    error = broken["profiles"]["pole-records@1.0.0"]["error"]
    # the reports say why, without the candidate's own output (it may carry anything); its log keeps it
    assert "exited (4) before serving" in error and "logs/broken.log" in error and "no database" not in error
    assert "no database" in (folder / "logs" / "broken.log").read_text(encoding="utf-8")
    outcomes = {r["id"]: {k: v["outcome"] for k, v in r["results"].items()} for r in comparison["requirements"]}
    assert outcomes["POLE-IF-001"] == {"clean": "pass", "drifty": "fail", "broken": "not-run"}
    # the tender's waiver and weights reached every run's scorecard and report
    (clean_run,) = runs_of(folder, "clean")
    card = read(clean_run / "scorecard.json")
    assert card["waivers"][0]["id"] == "POLE-REC-006" and card["categories"]["safeguarding"]["category_weight"] == 2
    assert card["claims"]["profile"] is True and card["claims"]["demonstrated"] == "conformant"
    assert card["run"]["seed"] == int(SEED)
    for name in ("report.html", "report.md", "junit.xml"):
        assert (clean_run / name).stat().st_size > 0
    assert "accepted by the design authority" in (folder / "comparison.html").read_text(encoding="utf-8")
    state = read(folder / "evaluation.json")
    assert {k: v["status"] for k, v in state["candidates"].items()} == {
        "clean": "finished", "drifty": "finished", "broken": "error"}

    # Pretend the drifty run was cut short: three results lost, the run unfinished.
    (drifty_run,) = runs_of(folder, "drifty")
    results = (drifty_run / "results.jsonl").read_text(encoding="utf-8").splitlines()
    (drifty_run / "results.jsonl").write_text("\n".join(results[:-3]) + "\n", encoding="utf-8")
    meta = read(drifty_run / "run.json")
    meta.update(status="interrupted", finished_at=None)
    (drifty_run / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    state["candidates"]["drifty"]["status"] = "interrupted"
    (folder / "evaluation.json").write_text(json.dumps(state), encoding="utf-8")

    again = conformance("evaluate", "--resume", str(folder))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "clean: already evaluated, kept" in again.stdout
    assert f"resuming {drifty_run.name}" in again.stdout
    assert runs_of(folder, "clean") == [clean_run] and runs_of(folder, "drifty") == [drifty_run]
    assert read(drifty_run / "run.json")["status"] == "finished"
    finished = {json.loads(line)["requirement_id"] for line in
                (drifty_run / "results.jsonl").read_text(encoding="utf-8").splitlines() if line}
    assert {json.loads(line)["requirement_id"] for line in results} <= finished
    resumed = read(folder / "comparison.json")
    assert [r["candidate"] for r in resumed["ranking"]] == ["clean", "drifty", "broken"]


def test_evaluate_refuses_a_bad_tender_before_starting_anything(tmp_path: Path) -> None:
    tender = tmp_path / "tender.yaml"
    tender.write_text(TENDER.replace("POLE-REC-006", "POLE-REC-060"), encoding="utf-8")
    proc = conformance("evaluate", str(tender), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert f"{tender}:11: waivers[0].requirement: no requirement 'POLE-REC-060'" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()


def test_a_tender_with_a_peer_profile_runs_every_ordered_pair_and_draws_the_interoperability_matrix(
        tmp_path: Path) -> None:
    """Two candidates on records-migration: each is first tested against the reference as its peer, then each
    ordered pair is run; the clean candidate's journeys to and from the lossy one fail with reconciliation
    findings naming the missing records, and the comparison carries the matrix."""
    tender = tmp_path / "tender.yaml"
    tender.write_text(f"""\
tender: 1
id: interop-e2e
title: Interoperability end to end
profiles: [{{profile: records-migration@1.0.0}}]
run: {{seed: {SEED}}}
candidates:
  clean: {{command: conformance reference serve --profile records-migration --port 0}}
  lossy: {{command: conformance reference serve --profile records-migration --port 0 --fault lossy-migration}}
""", encoding="utf-8")
    out = tmp_path / "evaluations"
    proc = conformance("evaluate", str(tender), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = next(out.iterdir())
    comparison = read(folder / "comparison.json")
    jsonschema.validate(comparison, load_schema("comparison"))
    (matrix,) = comparison["interoperability"]
    assert matrix["profile"] == "records-migration@1.0.0" and matrix["system"] == "peer"
    ids = [r["id"] for r in matrix["requirements"]]
    assert {"MIG-IMP-001", "MIG-INT-001"} <= set(ids)
    pairs = {(p["target"], p["peer"]): p for p in matrix["pairs"]}
    assert set(pairs) == {("clean", "lossy"), ("lossy", "clean")}
    clean_to_lossy, lossy_to_clean = pairs[("clean", "lossy")], pairs[("lossy", "clean")]
    assert clean_to_lossy["status"] == lossy_to_clean["status"] == "finished"
    # lossy as the target: its export leaves open records out (INT-001), and it drops them on import (IMP-001)
    assert lossy_to_clean["outcomes"] == {"MIG-IMP-001": "fail", "MIG-INT-001": "fail"}
    assert re.search(r"\d+ of \d+ open records missing from the candidate's export: [0-9a-f-]{36}",
                     lossy_to_clean["findings"]["MIG-INT-001"])
    # clean as the target, lossy as its peer: what went wrong is the peer's doing, so nothing is held against clean
    assert clean_to_lossy["outcomes"] == {"MIG-IMP-001": "error", "MIG-INT-001": "error"}
    assert all("the peer system (not the candidate) did not play its part" in text
               for text in clean_to_lossy["findings"].values())
    assert (folder / clean_to_lossy["report"]).is_file()
    html = (folder / "comparison.html").read_text(encoding="utf-8")
    assert 'id="interoperability"' in html
    assert "### Interoperability" in (folder / "comparison.md").read_text(encoding="utf-8")
    ranking = {r["candidate"]: r for r in comparison["ranking"]}
    assert ranking["clean"]["verdict"] == "conformant" and ranking["lossy"]["verdict"] == "non-conformant"
