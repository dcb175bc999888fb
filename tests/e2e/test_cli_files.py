"""The CLI over files: `conformance compare` on real runs, `conformance profiles lint` and `run` on broken profiles
(real processes: the exit code and what reaches stderr are under test)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conformance.inputs.profiles import load_profile
from conformance.schemas import load_schema
from tests.conftest import Run, conformance
from tests.unit.test_profiles import MINIMAL_PROFILE, make_profile

REF = load_profile("pole-records").ref


@pytest.mark.slow
def test_compare_command_builds_every_file_from_real_runs(clean_run: Run, drift_run: Run, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    proc = conformance("compare", str(clean_run.run_dir), str(drift_run.run_dir / "scorecard.json"),
                       "--out", str(out), "--title", "Before and after")
    assert proc.returncode == 0, proc.stderr
    for name in ("comparison.json", "comparison.html", "comparison.md", "comparison.csv", "ranking.csv"):
        assert (out / name).stat().st_size > 0, name
    comparison = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    jsonschema.validate(comparison, load_schema("comparison"))
    # both runs target 127.0.0.1, on different ports: told apart by host:port, the conformant one first
    assert [r["verdict"] for r in comparison["ranking"]] == ["conformant", "non-conformant"]
    assert comparison["ranking"][1]["candidate"] == drift_run.url.split("://", 1)[1]
    report = comparison["candidates"][0]["profiles"][REF]["report"]
    assert report is not None and (out / report).resolve() == (clean_run.run_dir / "report.html").resolve()
    bad = conformance("compare", str(tmp_path / "cmp" / "comparison.json"), "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "not a valid scorecard" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("mutation", ["bad-yaml", "unknown-key", "no-openapi"])
def test_cli_lint_prints_one_line_and_exits_2(tmp_path: Path, mutation: str) -> None:
    if mutation == "bad-yaml":
        folder = make_profile(tmp_path, MINIMAL_PROFILE.replace("title: Minimal", "title: [Minimal"))
    elif mutation == "unknown-key":
        folder = make_profile(tmp_path, MINIMAL_PROFILE.replace("summary:", "sumary: x\nsummary:"))
    else:
        folder = make_profile(tmp_path, openapi=None)
    for command in (["profiles", "lint", str(folder)], ["run", str(folder), "--target", "http://127.0.0.1:9"]):
        proc = conformance(*command, cwd=tmp_path, timeout=60)
        assert proc.returncode == 2, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert str(folder) in lines[0]
