"""A time-bounded run (issue #14 item 2): behind a supplier whose writes take 1.5 s, `conformance run --budget`
ends within its budget, every requirement with a verdict or an error naming its deadline, and the slowness is the
failure of the requirement that names it (POLE-PERF-005, one officer's task), not a string of timeouts."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import SEED, conformance, only_run_dir, reference
from tests.e2e.test_cli_e2e import result_of

BUDGET_S = 24


def test_a_slow_supplier_gets_its_verdict_within_the_budget_with_the_slowness_as_the_failure(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with reference("slow-tasks", extra=["--slow-write-ms", "1500"]) as url:
        started = time.monotonic()
        proc = conformance("run", "pole-records", "--target", url, "--seed", SEED, "--runs-dir", str(runs),
                           "--budget", str(BUDGET_S), "--only", "POLE-IF-001", "--only", "POLE-PERF-005")
        took = time.monotonic() - started
    assert proc.returncode in (1, 3), proc.stdout + proc.stderr
    assert took < BUDGET_S + 15, f"{took:.1f} s on a {BUDGET_S} s budget (the process's start included)"
    run_dir = only_run_dir(runs)
    schema = result_of(run_dir, "POLE-IF-001")  # hundreds of slow writes: cannot finish in its share
    assert schema["outcome"] == "error"
    assert schema["reason"].startswith("deadline: the engine was stopped at its deadline"), schema["reason"]
    assert f"of the run's {BUDGET_S} s --budget" in schema["reason"]
    # the engine reports an operation's cases when its test ends: what it read of the one it was in is said
    read = schema["measurements"]["pass"]["answers"]["count"]
    assert read > schema["measurements"]["requests"]
    assert f"it had read {read} answers" in schema["reason"], schema["reason"]
    task = result_of(run_dir, "POLE-PERF-005")
    assert task["outcome"] == "fail", task["reason"]
    assert "cost too much" in task["reason"] and "(at most 1.5 s)" in task["reason"], task["reason"]
    # each share is planned from the time left when it starts: the schema requirement left the task its need
    assert schema["measurements"]["budget"]["share_s"] < BUDGET_S - 3
    assert task["measurements"]["budget"]["share_s"] >= 3  # twice its 1.5 s bound at least
    timing = json.loads((run_dir / "run.json").read_text())["timing"]
    assert timing["budget_s"] == BUDGET_S and timing["probe"]["samples_s"]
