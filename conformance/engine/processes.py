"""Start a supplier system as a child process and wait until it says where it listens.

Used by the demo, the tests, and tenders whose candidate is "a command that starts it". The command
must print a line containing its base URL (e.g. `reference supplier listening on http://127.0.0.1:PORT`).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conformance.errors import LaunchError

__all__ = ["LaunchError", "launched", "reference_command", "reference_stack", "stop_process_group"]

_URL = re.compile(r"listening on (https?://\S+)")



def reference_command(profile: str = "pole-records", faults: Sequence[str] = (), *,
                      api_key_env: str | None = None) -> list[str]:
    """The command that serves a reference supplier on a free loopback port."""
    cmd = [sys.executable, "-m", "conformance", "reference", "serve", "--profile", profile, "--port", "0"]
    for fault in faults:
        cmd += ["--fault", fault]
    if api_key_env:
        cmd += ["--api-key-env", api_key_env]
    return cmd


@contextmanager
def reference_stack(profile: str, faults: Sequence[str] = (), *, log_dir: Path | None = None,
                    timeout: float = 30.0, extra: Sequence[str] = (),
                    env: dict[str, str] | None = None) -> Iterator[tuple[str, dict[str, str]]]:
    """A profile's reference supplier with the stand-ins for the systems it talks to (the case-file reference's
    court receiver), each a process on a free loopback port. Yields (reference URL, {system: URL}); pass the
    systems to the run as `--system NAME=URL`. Logs go to `log_dir` as <profile>.log and <system>.log."""
    from fixtures.registry import COMPANIONS, REFERENCES

    impl = REFERENCES.get(profile)
    needs = impl.needs if impl else ()
    with contextlib.ExitStack() as stack:
        systems: dict[str, str] = {}
        for name in needs:
            systems[name] = stack.enter_context(launched(
                [sys.executable, "-m", COMPANIONS[name], "--port", "0"], timeout=timeout,
                log_path=log_dir / f"{name}.log" if log_dir else None))
        command = [*reference_command(profile, faults), *extra]
        for name, url in systems.items():
            command += ["--system", f"{name}={url}"]
        url = stack.enter_context(launched(command, timeout=timeout, env=env,
                                           log_path=log_dir / f"{profile}.log" if log_dir else None))
        yield url, systems


@contextmanager
def launched(command: Sequence[str], *, timeout: float = 30.0, log_path: Path | None = None,
             env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `command`; yield the URL it announces; stop it (SIGTERM, then SIGKILL) on exit."""
    log = log_path.open("a", encoding="utf-8") if log_path else None  # a resume adds to it
    proc = subprocess.Popen(
        list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        env={**os.environ, **(env or {})}, start_new_session=True,
    )
    found: list[str] = []
    seen: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if log:
                log.write(line)
                log.flush()
            if not found:
                seen.append(line.rstrip())
                match = _URL.search(line)
                if match:
                    found.append(match.group(1).rstrip("/"))
                    ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if time.monotonic() > deadline:
                raise LaunchError(f"`{' '.join(command)}` did not announce its URL within {timeout:.0f} s",
                                  f"no 'listening on URL' line within {timeout:.0f} s")
        if not found:
            tail = " | ".join(seen[-5:])
            raise LaunchError(f"`{' '.join(command)}` exited ({proc.poll()}) before serving: {tail}",
                              f"it exited ({proc.poll()}) before serving")
        yield found[0]
    finally:
        stop_process_group(proc)
        reader.join(timeout=5)
        if log:
            log.close()


def stop_process_group(proc: subprocess.Popen[Any], signum: int = signal.SIGTERM, grace_s: float = 10.0) -> None:
    """Stop a child started with start_new_session=True: `signum` to its whole group, SIGKILL after `grace_s`."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signum)
        proc.wait(timeout=grace_s)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
