"""The session and the contract runners in this process, against references served in this process: the same
engine the CLI drives, measured without a process of its own (component tier)."""

from __future__ import annotations

from pathlib import Path

from conformance.model import Outcome, Requirement, Result
from conformance.session.execute import start_run
from fixtures.kit.launch import serving

SCENARIOS = ("POLE-REC-001", "POLE-REC-003")  # YAML scenarios
PROPERTY = "POLE-REC-007"  # a Python check of the profile's checks/, hypothesis over the interface


class Recorder:
    """A RunListener that keeps what it was told."""

    def __init__(self) -> None:
        self.finished: dict[str, Result] = {}
        self.warnings: list[str] = []

    def planned(self, total: int, run_dir: Path) -> None:
        self.total = total

    def requirement_started(self, requirement: Requirement) -> None:
        pass

    def requirement_progress(self, requirement: Requirement, text: str) -> None:
        pass

    def requirement_finished(self, requirement: Requirement, result: Result) -> None:
        self.finished[requirement.id] = result

    def warning(self, text: str) -> None:
        self.warnings.append(text)


def _run(url: str, runs: Path, *only: str) -> tuple[Recorder, dict[str, str]]:
    listener = Recorder()
    outcome = start_run("pole-records", url, runs_dir=runs, listener=listener, seed=20261124,
                        only=tuple(only))
    assert not outcome.interrupted
    return listener, {row["id"]: row["outcome"] for row in outcome.scorecard["requirements"]
                      if row["id"] in only}


def test_scenarios_and_a_property_pass_on_the_clean_reference(tmp_path: Path) -> None:
    with serving() as url:
        listener, outcomes = _run(url, tmp_path / "runs", *SCENARIOS, PROPERTY)
    assert outcomes == dict.fromkeys((*SCENARIOS, PROPERTY), "pass")
    measured = {rid for rid, result in listener.finished.items() if result.outcome is not Outcome.SKIPPED}
    assert listener.total == len(listener.finished) and measured == {*SCENARIOS, PROPERTY}  # the rest: skipped
    assert listener.finished[PROPERTY].measurements["requests"] > 0  # it really sent something


def test_a_fault_fails_exactly_the_requirement_it_breaks(tmp_path: Path) -> None:
    with serving("pole-records", ["first-error-only"]) as url:
        listener, outcomes = _run(url, tmp_path / "runs", *SCENARIOS)
    assert outcomes == {"POLE-REC-001": "pass", "POLE-REC-003": "fail"}
    finding = listener.finished["POLE-REC-003"].findings[0]
    assert finding.curl and "curl" in finding.curl  # a reproduction a supplier can run
