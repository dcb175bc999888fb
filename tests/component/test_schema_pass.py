"""Schema requirements judged from one engine pass, in this process against references served in this process:
one cause is one finding naming every requirement it breaks, named by the request as sent, with a curl that
reproduces it; a bound that trips in the engine is named in the requirement's error."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from conformance.engine.processes import run_command
from conformance.model import Outcome, Requirement, Result
from conformance.session.execute import start_run
from fixtures.kit.launch import serving
from tests.hostile import hostile_server

SEED = 20261124


class Listener:
    def __init__(self) -> None:
        self.finished: dict[str, Result] = {}
        self.started: list[str] = []

    def planned(self, total: int, run_dir: Path) -> None:
        self.run_dir = run_dir

    def requirement_started(self, requirement: Requirement) -> None:
        self.started.append(requirement.id)

    def requirement_progress(self, requirement: Requirement, text: str) -> None:
        pass

    def requirement_finished(self, requirement: Requirement, result: Result) -> None:
        self.finished[requirement.id] = result

    def warning(self, text: str) -> None:
        pass


def replayed_status(curl: str) -> int:
    """Send a finding's curl line(s) with the real curl; the status of the last one."""
    status = 0
    for line in curl.splitlines():
        proc = run_command([*shlex.split(line), "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"],
                           timeout=20)
        status = int(proc.stdout.strip() or 0)
    return status


def test_one_pass_one_finding_per_cause_named_as_sent_and_replayable(tmp_path: Path) -> None:
    listener = Listener()
    with serving("pole-records", ["unimplemented-operation"]) as url:
        start_run("pole-records", url, runs_dir=tmp_path, listener=listener, seed=SEED,
                  only=("POLE-IF-002", "POLE-IF-006"))
        status_codes, implemented = listener.finished["POLE-IF-002"], listener.finished["POLE-IF-006"]
        assert status_codes.outcome is implemented.outcome is Outcome.FAIL
        # one engine run judged both: the same pass, one evidence file with every request it sent
        shared = status_codes.measurements["pass"]
        assert shared == implemented.measurements["pass"] and shared["members"] == ["POLE-IF-002", "POLE-IF-006"]
        evidence = (listener.run_dir / shared["evidence"]).read_text(encoding="utf-8").splitlines()
        assert len(evidence) == shared["requests"] > status_codes.measurements["requests"] * 0.9
        assert status_codes.measurements["request_sequence_sha256"] == \
            implemented.measurements["request_sequence_sha256"]
        # the 404 of GET /code-lists breaks both: one finding, under the first, naming the other
        missing = [f for f in status_codes.findings if f.operation == "GET /code-lists"]
        assert len(missing) == 1 and missing[0].also_breaks == ("POLE-IF-006",), status_codes.findings
        assert not [f for f in implemented.findings if f.operation == "GET /code-lists"]
        assert "reported under POLE-IF-002" in implemented.reason
        for finding in (*status_codes.findings, *implemented.findings):
            assert finding.operation and "{" not in finding.operation  # the path as sent
            method = (finding.operation or "").split()[0]
            assert finding.curl and f"-X {method}" in finding.curl.splitlines()[-1]
            assert replayed_status(finding.curl) == finding.status_code, finding


def test_the_pass_keeps_each_requirement_to_its_own_mode(tmp_path: Path) -> None:
    """accepts-invalid answers malformed records 2xx: the negative requirement fails; the positive requirement
    judged in the same pass, on valid requests only, passes."""
    listener = Listener()
    with serving("pole-records", ["accepts-invalid"]) as url:
        start_run("pole-records", url, runs_dir=tmp_path, listener=listener, seed=SEED,
                  only=("POLE-IF-004", "POLE-IF-006"))
    rejection, implemented = listener.finished["POLE-IF-004"], listener.finished["POLE-IF-006"]
    assert rejection.outcome is Outcome.FAIL and implemented.outcome is Outcome.PASS, implemented.reason
    assert rejection.measurements["pass"]["members"] == ["POLE-IF-004", "POLE-IF-006"]
    lines = [json.loads(line) for line in
             (listener.run_dir / rejection.measurements["evidence"]).read_text(encoding="utf-8").splitlines()]
    modes = {line["mode"] for line in lines}
    assert {"positive", "negative"} <= modes
    assert implemented.measurements["requests"] == sum(1 for line in lines if line["mode"] == "positive"
                                                       and line["phase"] != "stateful")


def test_a_bound_that_trips_in_the_engine_is_named_in_the_error(tmp_path: Path) -> None:
    listener = Listener()
    with hostile_server("headers", spare_preflight=True) as url:
        start_run("pole-records", url, runs_dir=tmp_path, listener=listener, seed=SEED, budget_s=20,
                  only=("POLE-IF-006",))
    result = listener.finished["POLE-IF-006"]
    assert result.outcome is Outcome.ERROR
    assert "headers bound exceeded" in result.reason and "100 headers" in result.reason, result.reason
    assert "Connection failed" not in result.reason
