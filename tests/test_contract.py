"""Contract scenarios: clear errors for bad scenario files, findings that show expected against actual,
and the workflow cost (requests and time a business task took) measured and bounded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conformance.scenarios import lint_scenario
from tests.conftest import ROOT, SEED, conformance, only_run_dir, reference
from tests.test_cli_e2e import result_of

PROFILE = ROOT / "profiles" / "pole-records" / "1.0.0"


def copy_profile(tmp_path: Path) -> Path:
    folder = tmp_path / "profiles" / "pole-records" / "1.0.0"
    shutil.copytree(PROFILE, folder)
    return folder


def test_shipped_scenarios_are_valid() -> None:
    files = sorted((PROFILE / "scenarios").glob("*.yaml"))
    assert len(files) >= 8
    for path in files:
        assert lint_scenario(path) == [], path


def test_malformed_scenario_is_one_line_naming_file_and_step(tmp_path: Path) -> None:
    folder = copy_profile(tmp_path)
    scenario = folder / "scenarios" / "rec-005-lost-update.yaml"
    text = scenario.read_text().replace("expect: {status: 412}", "expect: {status: 412, bodyy: {}}")
    scenario.write_text(text)
    proc = conformance("profiles", "lint", str(folder))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    line = (proc.stderr + proc.stdout).replace("\n", "")
    assert "rec-005-lost-update.yaml:" in line and "steps[2].expect.bodyy" in line
    assert "step 'officer B's save from the same old version is refused'" in line
    assert "did you mean 'body'?" in line
    run = conformance("run", str(folder), "--target", "http://127.0.0.1:9")
    assert run.returncode == 2 and "Traceback" not in run.stderr


def test_failed_step_shows_expected_and_actual_with_a_reproduction(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with reference("lost-update") as url:
        proc = conformance("run", "pole-records", "--target", url, "--seed", SEED, "--runs-dir", str(runs),
                           "--only", "POLE-REC-005")
    result = result_of(only_run_dir(runs), "POLE-REC-005")
    assert result["outcome"] == "fail"
    finding = result["findings"][0]
    assert "officer B's save" in finding["title"]
    assert finding["message"].startswith("status: expected 412, got 200")
    assert finding["curl"].startswith("curl -X PUT") and "If-Match" in finding["curl"]
    assert "POLE-REC-005" in proc.stdout
    exchanges = (only_run_dir(runs) / "exchanges" / "POLE-REC-005.jsonl").read_text().split("\n")[:-1]
    assert [json.loads(e)["response"]["status"] for e in exchanges] == [201, 200, 200]


def test_workflow_cost_is_measured_and_bounded(tmp_path: Path) -> None:
    folder = copy_profile(tmp_path)
    profile = folder / "profile.yaml"
    text = profile.read_text()
    marker = "      scenario: scenarios/safe-001-flags-travel.yaml\n"
    assert marker in text
    profile.write_text(text.replace(marker, marker + "      max_requests: 4\n      max_seconds: 30\n"))
    runs = tmp_path / "runs"
    with reference() as url:
        conformance("run", str(folder), "--target", url, "--seed", SEED, "--runs-dir", str(runs),
                    "--only", "POLE-SAFE-001")
    result = result_of(only_run_dir(runs), "POLE-SAFE-001")
    assert result["measurements"]["requests"] == 6
    assert result["measurements"]["elapsed_s"] > 0
    assert result["outcome"] == "fail"
    assert "the task cost too much: 6 requests (at most 4)" in result["findings"][0]["message"]


def test_property_contract_shrinks_to_a_minimal_record(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with reference("clamps-old-dates") as url:
        conformance("run", "pole-records", "--target", url, "--seed", SEED, "--runs-dir", str(runs),
                    "--only", "POLE-REC-002")
    result = result_of(only_run_dir(runs), "POLE-REC-002")
    assert result["outcome"] == "fail"
    message = result["findings"][0]["message"]
    assert "date_of_birth: sent '1899-12-31', read back '1900-01-01'" in message or \
        ("date_of_birth: sent '18" in message and "read back '1900-01-01'" in message)
    assert f"minimal record (seed {SEED})" in message
    assert result["measurements"]["python"] == "pole_records.person_round_trip"
