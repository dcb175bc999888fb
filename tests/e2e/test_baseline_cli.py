"""`conformance run --baseline` and `--certify` with the real command: against a reference that loses concurrent
updates, a baseline entry for POLE-REC-005 keeps the failure in every report but takes it out of the exit code
(the three-requirement run is then `incomplete`, exit 3, like the clean one); the same entry expired makes it exit 1
naming it; `--certify` with `--only` or a baseline is a one-line usage error (exit 2) before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import conformance, only_run_dir, reference

ONLY = ("--only", "POLE-REC-001", "--only", "POLE-REC-003", "--only", "POLE-REC-005")


def _baseline(tmp: Path, expires: str) -> Path:
    path = tmp / f"baseline-{expires}.yaml"
    path.write_text("profile: pole-records\nentries:\n  - requirement: POLE-REC-005\n"
                    "    reason: optimistic locking lands in 2.4\n    accepted_by: QA lead\n"
                    f"    expires: {expires}\n", encoding="utf-8")
    return path


def test_a_baselined_failure_is_shown_and_does_not_fail_the_exit_code_until_it_expires(tmp_path: Path) -> None:
    with reference("lost-update") as url:
        fresh = conformance("run", "pole-records", "--target", url, "--seed", "1", "--runs-dir",
                            str(tmp_path / "fresh"), "--baseline", str(_baseline(tmp_path, "2999-01-01")), *ONLY)
        stale = conformance("run", "pole-records", "--target", url, "--seed", "1", "--runs-dir",
                            str(tmp_path / "stale"), "--baseline", str(_baseline(tmp_path, "2000-01-01")), *ONLY)
    assert fresh.returncode == 3, fresh.stdout + fresh.stderr  # incomplete (not selected), no longer non-conformant
    assert "baselined (accepted, not failing the job): POLE-REC-005" in fresh.stdout
    run_dir = only_run_dir(tmp_path / "fresh")
    card = json.loads((run_dir / "scorecard.json").read_text(encoding="utf-8"))
    assert card["verdict"] == "non-conformant" and card["baseline"]["accepted"] == ["POLE-REC-005"]
    assert "POLE-REC-005** accepted failure" in (run_dir / "report.md").read_text(encoding="utf-8")
    assert 'message="baselined: optimistic locking' in (run_dir / "junit.xml").read_text(encoding="utf-8")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "baseline expired (failing the job): POLE-REC-005" in stale.stdout


def test_certify_refuses_a_selection_and_a_baseline_before_anything_runs(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    selected = conformance("run", "pole-records", "--target", "http://127.0.0.1:9", "--certify",
                           "--only", "POLE-REC-001", "--runs-dir", str(runs))
    assert selected.returncode == 2 and "a certification run refuses --only" in selected.stderr
    quick = conformance("run", "pole-records", "--target", "http://127.0.0.1:9", "--certify", "--tier", "quick",
                        "--runs-dir", str(runs))
    assert quick.returncode == 2 and "refuses the quick tier" in quick.stderr
    baselined = conformance("run", "pole-records", "--target", "http://127.0.0.1:9", "--certify", "--baseline",
                            str(_baseline(tmp_path, "2999-01-01")), "--runs-dir", str(runs))
    assert baselined.returncode == 2 and "refuses baselines" in baselined.stderr
    for proc in (selected, quick, baselined):
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not runs.exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: pole-records\nentries:\n  - requirement: POLE-X-1\n", encoding="utf-8")
    refused = conformance("run", "pole-records", "--target", "http://127.0.0.1:9", "--baseline", str(bad),
                          "--runs-dir", str(runs))
    assert refused.returncode == 2 and "bad.yaml:3" in refused.stderr
