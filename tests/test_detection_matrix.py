"""The detection matrix: the clean reference scores 100; each catalogued fault fails exactly the
requirement(s) it is mapped to and no other MUST requirement. Later check kinds add rows here by adding
faults to `fixtures/reference/faults.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.profiles import load_profile
from fixtures.reference.faults import FAULTS
from tests.conftest import Run, outcomes, run_against


def test_clean_reference_is_conformant_with_score_100(clean_run: Run) -> None:
    card = clean_run.scorecard
    assert clean_run.returncode == 0, clean_run.stdout + clean_run.stderr
    assert card["verdict"] == "conformant"
    assert card["score"] == 100
    active = {r.id for r in load_profile("pole-records").requirements if not r.planned}
    assert {rid for rid, outcome in outcomes(card).items() if outcome == "pass"} == active
    assert all(not r["findings"] for r in card["requirements"])


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_fails_its_requirement_and_no_unrelated_must(
        fault: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if fault == "schema-drift":  # shared with the end-to-end tests
        run: Run = request.getfixturevalue("drift_run")
    else:
        run = run_against([fault], tmp_path / "runs")
    profile = load_profile("pole-records")
    levels = {r.id: r.level.value for r in profile.requirements}
    got = outcomes(run.scorecard)
    mapped = set(FAULTS[fault].catches)
    for rid in mapped:
        assert got[rid] == "fail", f"{fault} was not caught by {rid}: {got[rid]}"
    others = {r["id"]: r for r in run.scorecard["requirements"] if r["id"] not in mapped and levels[r["id"]] == "MUST"}
    collateral = {rid: r["outcome"] for rid, r in others.items() if r["outcome"] == "fail"}
    assert not collateral, f"{fault} also failed {collateral}"
    # A fault may stop another requirement from being measured (creates that crash leave no workflow to
    # follow): that is reported as an error for lack of coverage, never as a pass and never as a failure.
    unmeasured = {rid: r["reason"] for rid, r in others.items() if r["outcome"] == "error"}
    assert all(reason.startswith("coverage below the profile's minimum") for reason in unmeasured.values()), unmeasured
    assert run.returncode == 1
    assert run.scorecard["verdict"] == "non-conformant"
    assert run.scorecard["score"] < 100
