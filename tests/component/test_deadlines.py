"""Deadlines (issue #15 item 2): a requirement of any check kind ends by its share of the run's --budget, as an
`error` naming the deadline, and the run goes on. Here a profile's Python checks that never end (one computing
forever, one sending forever) run in this process against a reference served in this process."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from conformance.model import Outcome
from conformance.session.execute import start_run
from fixtures.kit.launch import serving
from tests.component.test_runners_in_process import Recorder
from tests.conftest import ROOT

CHECKS = '''
from conformance.kit import ContractContext, contract_check


@contract_check("deadline.computes_forever", requirements=("POLE-REC-002",))
def computes_forever(c: ContractContext) -> None:
    c.send("GET", "/code-lists", step="one request first")
    n = 0
    while True:  # never sends again, never returns
        n += 1


@contract_check("deadline.sends_forever", requirements=("POLE-REC-007",))
def sends_forever(c: ContractContext) -> None:
    while True:
        c.send("GET", "/code-lists", step="again")
'''


def profile_with_endless_checks(tmp_path: Path) -> Path:
    folder = tmp_path / "profiles" / "pole-records" / "2.0.0"
    shutil.copytree(ROOT / "profiles" / "pole-records" / "2.0.0", folder)
    (folder / "checks" / "endless.py").write_text(CHECKS, encoding="utf-8")
    profile = folder / "profile.yaml"
    text = profile.read_text(encoding="utf-8")
    for old, new in (("python: pole_records.person_round_trip", "python: deadline.computes_forever"),
                     ("python: pole_records.person_update_visible", "python: deadline.sends_forever")):
        assert old in text
        text = text.replace(old, new)
    profile.write_text(text, encoding="utf-8")
    return folder


def test_python_checks_that_never_end_are_stopped_at_their_deadline_and_the_run_goes_on(tmp_path: Path) -> None:
    folder = profile_with_endless_checks(tmp_path)
    listener = Recorder()
    budget_s = 12
    with serving() as url:
        started = time.monotonic()
        outcome = start_run(str(folder), url, runs_dir=tmp_path / "runs", listener=listener, seed=1,
                            budget_s=budget_s, only=("POLE-REC-002", "POLE-REC-007", "POLE-REC-001"))
        took = time.monotonic() - started
    assert not outcome.interrupted
    assert took < budget_s + 4, f"the run took {took:.1f} s on an {budget_s} s budget"
    done = listener.finished
    for rid, what in (("POLE-REC-002", "computes_forever' was still running and was abandoned after 1 request"),
                      ("POLE-REC-007", "request(s) sent")):
        result = done[rid]
        assert result.outcome is Outcome.ERROR, (rid, result)
        assert result.reason and result.reason.startswith("deadline: stopped at its deadline"), result.reason
        assert f"of the run's {budget_s} s --budget" in result.reason and what in result.reason, result.reason
        assert 0 < result.measurements["budget"]["share_s"] < budget_s
    assert done["POLE-REC-001"].outcome is Outcome.PASS, done["POLE-REC-001"].reason  # the run went on
    sent = (outcome.run_dir.path / "exchanges" / "POLE-REC-007.jsonl").read_text(encoding="utf-8").count("\n")
    assert sent > 1  # it really was sending
    time.sleep(0.5)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("check-")]  # the abandoned checks ended
    run_json = outcome.run_dir.meta.timing
    assert run_json["budget_s"] == budget_s and len(run_json["probe"]["samples_s"]) == 4
