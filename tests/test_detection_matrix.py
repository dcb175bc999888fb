"""The detection matrix: the clean reference scores 100; each catalogued fault fails exactly the
requirement(s) it is mapped to and no other MUST requirement. A new fault in `fixtures/reference/faults.py`
is a new row here.

The fault runs are profile runs against separate reference processes; they run two at a time (the machine's
two cores) so the matrix grows without the suite's time doubling. A load fault shows only under load (one
request at a time never triggers it), so its run is the load requirements alone, and the other faults' runs
leave the load requirements out (the clean run has them all). Load runs go after the others, two at a time,
so a schema run's CPU does not make a load generator miss its schedule."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.model import CheckKind
from conformance.profiles import load_profile
from fixtures.reference.faults import FAULTS
from tests.conftest import Run, outcomes, run_against

MATRIX_WORKERS = 2


@pytest.fixture(scope="session")
def fault_runs(tmp_path_factory: pytest.TempPathFactory, drift_run: Run) -> dict[str, Run]:
    load_ids = [r.id for r in load_profile("pole-records").requirements if r.check.kind is CheckKind.LOAD]
    only_load = [arg for rid in load_ids for arg in ("--only", rid)]
    no_load = [arg for rid in load_ids for arg in ("--skip", rid)]
    others = sorted(name for name in FAULTS if name != "schema-drift" and not FAULTS[name].load)
    load_faults = sorted(name for name in FAULTS if FAULTS[name].load)
    runs: dict[str, Run] = {}
    for names, extra in ((others, no_load), (load_faults, only_load)):
        with ThreadPoolExecutor(max_workers=MATRIX_WORKERS) as pool:
            futures = {name: pool.submit(run_against, [name], tmp_path_factory.mktemp(name) / "runs", *extra)
                       for name in names}
            runs.update({name: future.result() for name, future in futures.items()})
    return {**runs, "schema-drift": drift_run}


def test_clean_reference_is_conformant_with_score_100(clean_run: Run) -> None:
    card = clean_run.scorecard
    assert clean_run.returncode == 0, clean_run.stdout + clean_run.stderr
    assert card["verdict"] == "conformant"
    assert card["score"] == 100
    active = {r.id for r in load_profile("pole-records").requirements if not r.planned}
    assert {rid for rid, outcome in outcomes(card).items() if outcome == "pass"} == active
    assert all(not r["findings"] for r in card["requirements"])


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_fails_its_requirement_and_no_unrelated_must(fault: str, fault_runs: dict[str, Run]) -> None:
    run = fault_runs[fault]
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
    # follow; a scenario's setup step refused): that is an error naming why, never a pass, never a failure.
    unmeasured = {rid: r["reason"] for rid, r in others.items() if r["outcome"] == "error"}
    assert all(reason.startswith(("coverage below the profile's minimum", "could not be tested: setup step"))
               for reason in unmeasured.values()), unmeasured
    assert run.scorecard["score"] < 100
    left_out = {rid for rid, outcome in got.items() if outcome == "skipped" and levels[rid] == "MUST"}
    if any(levels[rid] == "MUST" for rid in mapped):
        assert (run.returncode, run.scorecard["verdict"]) == (1, "non-conformant")
    elif left_out:  # a SHOULD caught it, but MUSTs were left out of this run: not a claim of conformance
        assert (run.returncode, run.scorecard["verdict"]) == (3, "incomplete")
    elif not unmeasured:  # only SHOULD/MAY requirements caught it: conformant, with a lower score
        assert (run.returncode, run.scorecard["verdict"]) == (0, "conformant")
