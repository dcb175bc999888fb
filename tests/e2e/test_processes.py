"""The launcher (conformance/engine/processes.py): absolute paths for children, a guaranteed stop, and no child
left running when the harness itself is killed. Real processes; a few seconds in all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.engine.processes import ProcessGroup, launched, run_command, spawned
from conformance.errors import LaunchError

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")

SHOW = "import json, os, sys; print(json.dumps({'argv': sys.argv[1:], 'env': os.environ['WHERE'], 'cwd': os.getcwd()}))"
SLEEP = "import time; print('up', flush=True); time.sleep(120)"
DEAF = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.signal(signal.SIGINT, "
        "signal.SIG_IGN); print('up', flush=True); time.sleep(120)")


def gone(pid: int) -> bool:
    """No such process, or only its zombie (nobody may reap it in a container whose init does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def wait_gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.1)
    return gone(pid)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_paths_handed_to_a_child_are_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Path arguments, environment values and cwd are resolved against the harness's folder before the child
    starts in its own; plain strings are passed as they are."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    proc = run_command([sys.executable, "-c", SHOW, Path("runs/config.json"), "runs/as-text"], timeout=30,
                       cwd=Path("elsewhere"), env={"WHERE": Path("runs/out.json")})
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["argv"] == [str(tmp_path / "runs" / "config.json"), "runs/as-text"]
    assert seen["env"] == str(tmp_path / "runs" / "out.json")
    assert Path(seen["cwd"]).resolve() == (tmp_path / "elsewhere").resolve()


@pytest.mark.parametrize("raised", [RuntimeError, KeyboardInterrupt])
def test_a_group_is_stopped_when_its_block_raises(raised: type[BaseException]) -> None:
    with pytest.raises(raised), ProcessGroup() as group:
        procs = [group.spawn([sys.executable, "-c", SLEEP], stdout=subprocess.PIPE) for _ in range(2)]
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        raise raised
    assert all(proc.returncode == -signal.SIGTERM for proc in procs)


def test_a_child_deaf_to_the_stop_signal_is_killed_after_the_grace(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    started = time.monotonic()
    with spawned([sys.executable, "-c", DEAF], log_path=log, stop_signal=signal.SIGINT, grace_s=0.5) as proc:
        while "up" not in log.read_text():
            time.sleep(0.05)
    assert proc.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 20


def test_run_command_stops_the_command_at_its_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_command([sys.executable, "-c", SLEEP], timeout=1.0)
    assert time.monotonic() - started < 15


@linux_only
def test_a_child_dies_with_the_process_that_started_it() -> None:
    """A parent that starts a child through the launcher and is then SIGKILLed (no clean-up runs) takes the
    child with it."""
    parent_code = ("import sys, subprocess; from conformance.engine.processes import spawned\n"
                   f"with spawned([sys.executable, '-c', {SLEEP!r}], stdout=subprocess.PIPE) as child:\n"
                   "    child.stdout.readline(); print(child.pid, flush=True); child.wait()\n")
    child = None
    try:
        with spawned([sys.executable, "-c", parent_code], stdout=subprocess.PIPE) as parent:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            assert not gone(child)
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait(timeout=10)
            assert wait_gone(child, 5), f"the child {child} outlived its parent"
    finally:
        if child is not None and not gone(child):
            os.killpg(child, signal.SIGKILL)


TENDER = """\
tender: 1
id: orphan-check
title: A candidate must not outlive the evaluation
profiles: [{profile: pole-records@1.0.0}]
run: {tier: quick, seed: 1}
candidates:
  local: {command: "conformance reference serve --port 0", supplier: Local Ltd}
"""


@linux_only
def test_a_killed_evaluation_leaves_no_candidate_running(tmp_path: Path) -> None:
    """`kill -9` of `conformance evaluate` while it tests a candidate it started: the candidate goes too."""
    tender = tmp_path / "tender.yaml"
    tender.write_text(TENDER, encoding="utf-8")
    out = tmp_path / "evaluations"
    candidate = None
    try:
        with spawned([sys.executable, "-m", "conformance", "evaluate", tender, "--out", out],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as evaluation:
            deadline = time.monotonic() + 90
            while not any("listening on" in log.read_text() for log in out.glob("*/logs/local.log")):
                assert time.monotonic() < deadline and evaluation.poll() is None, "the candidate never started"
                time.sleep(0.1)
            started = children_of(evaluation.pid)
            assert len(started) == 1, started
            candidate = started[0]
            os.kill(evaluation.pid, signal.SIGKILL)
            evaluation.wait(timeout=10)
            assert wait_gone(candidate, 5), f"the candidate {candidate} outlived `conformance evaluate`"
    finally:
        if candidate is not None and not gone(candidate):
            os.killpg(candidate, signal.SIGKILL)


def test_a_command_that_closes_its_output_then_exits_is_reported_with_its_exit_status(tmp_path: Path) -> None:
    """Its exit status comes a moment after its output ends: the launcher waits for it instead of reporting
    'exited (None)' (a race seen in CI when a candidate failed to start)."""
    command = ["sh", "-c", "echo starting; exec 1>&- 2>&-; sleep 0.5; exit 4"]
    with pytest.raises(LaunchError) as refused, launched(command, timeout=10):
        pass
    assert "exited (4) before serving" in str(refused.value) and refused.value.summary == "it exited (4) before serving"


AUTOGROUP = Path("/proc/self/autogroup")
NICED_PARENT = ("import os, sys; os.nice(7); from conformance.engine.processes import run_command; "
                "print(run_command([sys.executable, '-c', 'print(open(\"/proc/self/autogroup\").read())'], "
                "timeout=30).stdout)")


@pytest.mark.skipif(not AUTOGROUP.exists(), reason="this kernel has no autogroup scheduling (nothing to carry)")
def test_a_child_in_its_own_session_keeps_the_harness_priority() -> None:
    """A niced harness's children (each in a new session, so a new autogroup) keep its nice value: `make test`
    nices the tiers that must not disturb the load-bearing ones, and without this their suppliers would not be."""
    out = subprocess.run([sys.executable, "-c", NICED_PARENT], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    own = AUTOGROUP.read_text().split()[0]
    group, _, nice = out.stdout.split()[:3]
    assert group != own  # a group of its own (a new session)
    assert int(nice) >= 7
