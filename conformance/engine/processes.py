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
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conformance.errors import LaunchError

__all__ = ["LaunchError", "launched", "stop_process_group"]

_URL = re.compile(r"listening on (https?://\S+)")


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
