"""The one launcher: every child process the harness starts is started and stopped here.

- `launched(command)`: a service that prints a line containing `listening on URL` (a candidate, a reference
  supplier, a tender's other system); yields the URL. `restartable(command)` yields one the harness can kill and
  start again (`Restartable.restart()`, a tender's candidate, for requirements that restart the supplier).
- `ProcessGroup` (and `spawned(command)` for one process): processes that announce nothing (the locust master and
  workers, the demo's evaluation, a CLI run under test), with their log file, environment and working folder.
- `run_command(command, timeout=...)`: a command run to its end, output captured (a target's reset hook).
- `candidate_command(text)`: a tender's command line as the argv to start.

Every child:
- runs in its own session (process group) and is stopped with its group when its context ends, on a normal
  exit, an exception or KeyboardInterrupt alike: the stop signal (SIGTERM unless told) to the group, SIGKILL
  after a grace period;
- dies with the harness on Linux (`PR_SET_PDEATHSIG`: SIGKILL when the harness dies, even by `kill -9`), so no
  candidate or load generator is left running orphaned. Linux sends it when the *thread* that started the child
  ends: start and stop a child on one thread (the context managers here do);
- is handed absolute paths: every `os.PathLike` argument, environment value and `cwd` is made absolute against
  the harness's working directory before the child starts, so a child that runs in another folder (the load
  generator runs in its requirement's folder) finds them. Pass paths as `Path`, never as `str`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from conformance.errors import LaunchError

__all__ = ["Arg", "LaunchError", "ProcessGroup", "Restartable", "candidate_command", "launched", "restartable",
           "run_command", "spawned", "stop_process_group"]

_URL = re.compile(r"listening on (https?://\S+)")

Arg = str | os.PathLike[str]
"""An argument, environment value or folder handed to a child; a `PathLike` is made absolute first."""

GRACE_S = 10.0  # between the stop signal and SIGKILL



def candidate_command(command: str) -> list[str]:
    """The argv for a candidate's (or a tender system's) start command; a leading `conformance` runs this
    harness's own Python, so a tender works the same with or without the virtual environment on PATH.
    Raises ValueError when the text does not parse as a shell would."""
    argv = shlex.split(command)
    if argv and argv[0] == "conformance":
        argv = [sys.executable, "-m", "conformance", *argv[1:]]
    return argv


@contextmanager
def launched(command: Sequence[Arg], *, timeout: float = 30.0, log_path: Path | None = None,
             env: Mapping[str, Arg] | None = None) -> Iterator[str]:
    """Run `command`; yield the URL it announces; stop it (SIGTERM, then SIGKILL) on exit."""
    service = _Service(command, timeout=timeout, log_path=log_path, env=env)
    try:
        yield service.url
    finally:
        service.stop()


class _Service:
    """One start of a command that announces `listening on URL`: started (and its URL read) on creation, or
    LaunchError; `stop` ends its group."""

    def __init__(self, command: Sequence[Arg], *, timeout: float, log_path: Path | None,
                 env: Mapping[str, Arg] | None) -> None:
        self._log = log_path.open("a", encoding="utf-8") if log_path else None  # a resume adds to it
        try:
            self._proc = _popen(command, cwd=None, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                bufsize=1)
        except BaseException:
            if self._log:
                self._log.close()
            raise
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._found: list[str] = []
        self._seen: list[str] = []
        self._ready = threading.Event()
        self._reader.start()
        try:
            self.url = self._wait(" ".join(str(arg) for arg in command), timeout)
        except BaseException:
            self.stop()
            raise

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            if self._log:
                self._log.write(line)
                self._log.flush()
            if not self._found:
                self._seen.append(line.rstrip())
                match = _URL.search(line)
                if match:
                    self._found.append(match.group(1).rstrip("/"))
                    self._ready.set()
        self._ready.set()

    def _wait(self, shown: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if time.monotonic() > deadline:
                raise LaunchError(f"`{shown}` did not announce its URL within {timeout:.0f} s",
                                  f"no 'listening on URL' line within {timeout:.0f} s")
        if not self._found:
            tail = " | ".join(self._seen[-5:])
            # Its output ended: it is exiting. Wait a moment for its exit status, which can come a little after the
            # last byte of output (asking at once sometimes found it still running: "exited (None)").
            try:
                code: int | None = self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None  # it closed its output but goes on running; stop() ends its group
            raise LaunchError(f"`{shown}` exited ({code}) before serving: {tail}",
                              f"it exited ({code}) before serving" if code is not None
                              else "it closed its output before serving")
        return self._found[0]

    def stop(self, signum: int = signal.SIGTERM) -> None:
        stop_process_group(self._proc, signum)
        self._reader.join(timeout=5)
        if self._log:
            self._log.close()
            self._log = None


class Restartable:
    """A service (a tender's candidate) the harness can kill and start again, for the requirements that check
    what survives a restart of the supplier's process. Its command must bring it back at the same URL (a tender
    fills a candidate's `{port}` with one port for all its starts). See `restartable`."""

    def __init__(self, command: Sequence[Arg], *, timeout: float, log_path: Path | None,
                 env: Mapping[str, Arg] | None) -> None:
        self._args = (list(command), timeout, log_path, env)
        self._service = _Service(command, timeout=timeout, log_path=log_path, env=env)
        self.url = self._service.url
        self.restarts = 0

    def restart(self) -> None:
        """Kill the service's whole process group (SIGKILL: no shutdown code runs, as in a crash) and start the same
        command again; LaunchError if it does not start, or announces another URL than before."""
        command, timeout, log_path, env = self._args
        self._service.stop(signal.SIGKILL)
        self._service = _Service(command, timeout=timeout, log_path=log_path, env=env)
        self.restarts += 1
        if self._service.url != self.url:
            raise LaunchError(f"restarted, it listens on {self._service.url}, not {self.url} as before",
                              "it came back at another URL")

    def stop(self) -> None:
        self._service.stop()


@contextmanager
def restartable(command: Sequence[Arg], *, timeout: float = 30.0, log_path: Path | None = None,
                env: Mapping[str, Arg] | None = None) -> Iterator[Restartable]:
    """Like `launched`, yielding a `Restartable` (its `url`, and `restart()`); stopped (SIGTERM, then SIGKILL) on
    exit. Restart it on the thread that started it (see the module docstring)."""
    service = Restartable(command, timeout=timeout, log_path=log_path, env=env)
    try:
        yield service
    finally:
        service.stop()


class ProcessGroup:
    """Child processes that announce nothing, stopped together when the group's context ends (normal exit,
    exception or KeyboardInterrupt), in the order they were started: `stop_signal` to each one's process group,
    SIGKILL after `grace_s`. A second interrupt while stopping skips the grace and kills what is left.

        with ProcessGroup(stop_signal=signal.SIGINT) as group:
            master = group.spawn([...], cwd=folder, env={"CONFIG": folder / "config.json"}, log_path=log)
            master.wait()
    """

    def __init__(self, *, stop_signal: int = signal.SIGTERM, grace_s: float = GRACE_S) -> None:
        self.stop_signal = stop_signal
        self.grace_s = grace_s
        self._procs: list[subprocess.Popen[str]] = []
        self._logs: list[IO[str]] = []

    def spawn(self, command: Sequence[Arg], *, cwd: Arg | None = None, env: Mapping[str, Arg] | None = None,
              log_path: Path | None = None, stdout: int | None = None,
              stderr: int | None = None) -> subprocess.Popen[str]:
        """Start `command` (text mode). `env` is added to the harness's environment. Output goes to `log_path`
        (appended, stderr with it) if given, else where `stdout`/`stderr` say (subprocess.PIPE, DEVNULL,
        STDOUT; None: the harness's own)."""
        log = None
        if log_path is not None:
            log = Path(log_path).open("a", encoding="utf-8")  # noqa: SIM115 (closed by stop())
            stdout, stderr = log.fileno(), subprocess.STDOUT
        try:
            proc = _popen(command, cwd=cwd, env=env, stdout=stdout, stderr=stderr)
        except BaseException:
            if log:
                log.close()
            raise
        if log:
            self._logs.append(log)
        self._procs.append(proc)
        return proc

    def stop(self) -> None:
        procs, self._procs = self._procs, []
        try:
            for proc in procs:
                stop_process_group(proc, self.stop_signal, self.grace_s)
        finally:
            for proc in procs:  # only if stopping itself was interrupted
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            logs, self._logs = self._logs, []
            for log in logs:
                log.close()

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


@contextmanager
def spawned(command: Sequence[Arg], *, cwd: Arg | None = None, env: Mapping[str, Arg] | None = None,
            log_path: Path | None = None, stdout: int | None = None, stderr: int | None = None,
            stop_signal: int = signal.SIGTERM, grace_s: float = GRACE_S) -> Iterator[subprocess.Popen[str]]:
    """One process of a `ProcessGroup`: started on entry, stopped with its group on exit."""
    with ProcessGroup(stop_signal=stop_signal, grace_s=grace_s) as group:
        yield group.spawn(command, cwd=cwd, env=env, log_path=log_path, stdout=stdout, stderr=stderr)


def run_command(command: Sequence[Arg], *, timeout: float, cwd: Arg | None = None,
                env: Mapping[str, Arg] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `command` to its end with stdout and stderr captured, like `subprocess.run(capture_output=True)`.
    On a timeout its whole group is stopped and subprocess.TimeoutExpired raised."""
    with ProcessGroup() as group:
        proc = group.spawn(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            group.stop()
            out, err = proc.communicate()
            raise subprocess.TimeoutExpired(proc.args, timeout, out, err) from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def stop_process_group(proc: subprocess.Popen[Any], signum: int = signal.SIGTERM, grace_s: float = GRACE_S) -> None:
    """Stop a child started here (each is its own process group): `signum` to its whole group, SIGKILL after
    `grace_s`."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signum)
        proc.wait(timeout=grace_s)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


# --- how every child is started ------------------------------------------------------------------------------
def _absolute(arg: Arg) -> str:
    """A path made absolute against the harness's working directory; any other argument as it is."""
    if isinstance(arg, os.PathLike):
        return os.path.abspath(os.fspath(arg))
    return arg


def _popen(command: Sequence[Arg], *, cwd: Arg | None, env: Mapping[str, Arg] | None, stdout: int | IO[Any] | None,
           stderr: int | IO[Any] | None, bufsize: int = -1) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [_absolute(arg) for arg in command], cwd=_absolute(cwd) if cwd is not None else None,
        env={**os.environ, **{name: _absolute(value) for name, value in (env or {}).items()}},
        stdout=stdout, stderr=stderr, text=True, bufsize=bufsize,
        start_new_session=True, preexec_fn=_preexec(),
    )


_PR_SET_PDEATHSIG = 1
_prctl: Any = None
_AUTOGROUP = b"/proc/self/autogroup"


def _lookup_prctl() -> Any:
    """libc's prctl, looked up once in the parent (False where there is none)."""
    global _prctl
    if _prctl is None:
        try:
            _prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            _prctl = False
            return _prctl
        _prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        _prctl.restype = ctypes.c_int
    return _prctl


def _preexec() -> Callable[[], None] | None:
    """What the child does between fork and exec, once it is in its own session (Linux; None elsewhere):

    - dies with the harness: asks Linux to SIGKILL it when the harness dies (PR_SET_PDEATHSIG), and dies at once
      if the harness already has;
    - keeps the harness's priority: Linux's autogroup scheduling (on by default on most distributions) puts each
      new session in a new scheduling group at nice 0, whatever the parent's nice, so `nice conformance evaluate
      ...` would not reach the suppliers and load generators it starts, and `make test`'s niced tiers would
      compete with the load-bearing ones as equals. The child gives its new group the harness's nice value
      itself, before it runs anything (a kernel without autogroup has no such file: nothing to do).

    Everything is prepared here, in the parent, so the child only makes a few system calls (preexec_fn runs in a
    forked copy of a possibly threaded process)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl, harness, kill = _lookup_prctl(), os.getpid(), int(signal.SIGKILL)
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    priority = str(nice).encode("ascii") if nice > 0 else None

    def preexec() -> None:
        if priority is not None:
            try:
                fd = os.open(_AUTOGROUP, os.O_WRONLY)
                try:
                    os.write(fd, priority)
                finally:
                    os.close(fd)
            except OSError:
                pass
        if prctl:
            prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
            if os.getppid() != harness:  # the harness died before the request took effect
                os.kill(os.getpid(), kill)

    return preexec
