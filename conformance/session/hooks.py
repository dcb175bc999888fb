"""The harness's own requests to a target, outside any requirement: the preflight (does it answer HTTP at all?),
the probe of its answer time (for the time budget's plan), and the targets file's `reset` and `restart` hooks (a
request under base_url, or a command). Each answers None when it worked, or why not (a requirement then is an
error, never a supplier failure); `restart` raises EngineFailure instead, from inside the check that asked for it."""

from __future__ import annotations

import shlex
import subprocess
import threading
import time

import httpx

from conformance.engine.bounded import Bounds, Interrupted, bounded_client, bounded_send
from conformance.engine.processes import run_command
from conformance.engine.redact import Redactor
from conformance.errors import EngineFailure
from conformance.inputs.targets import ResetSpec, Target
from conformance.session.budget import AnswerTime

__all__ = ["PREFLIGHT_DEADLINE_S", "PROBE_DEADLINE_S", "RESET_TIMEOUT_S", "RESTART_WAIT_S", "preflight", "probe",
           "reset", "restart"]

PREFLIGHT_DEADLINE_S = 10.0


def preflight(target: Target, headers: dict[str, str], stop: threading.Event | None = None) -> str | None:
    """None if the target answers HTTP at all (a status line and headers within the deadline: the body is not
    read); otherwise why not (an error, never a supplier failure)."""
    _, problem = _harness_request(target, "GET", "/", headers, min(PREFLIGHT_DEADLINE_S, target.timeout_s), stop,
                                  read_body=False,
                                  refused=f"target did not answer the preflight GET {target.base_url}/",
                                  unreachable=f"target unreachable at {target.base_url}")
    return problem


PROBE_REQUESTS = (("GET", "/"), ("GET", "/"), ("POST", "/"), ("POST", "/"))
PROBE_DEADLINE_S = 2.0  # an answer slower than this is slow enough to plan with: the probe stops there


def probe(target: Target, headers: dict[str, str], stop: threading.Event | None = None) -> AnswerTime:
    """How long the target takes to answer: a few timed requests of the preflight kind (a GET and a POST of the
    base URL, whatever they answer; the body is not read). A request that gets no answer within PROBE_DEADLINE_S
    counts as that long, and ends the probe."""
    samples = []
    deadline_s = min(PROBE_DEADLINE_S, target.timeout_s)
    for method, path in PROBE_REQUESTS:
        started = time.monotonic()
        response, _ = _harness_request(target, method, path, headers, deadline_s, stop, read_body=False,
                                       refused="probe", unreachable="probe")
        if response is None:
            samples.append(time.monotonic() - started)
            break
        samples.append(response.elapsed.total_seconds())
    return AnswerTime(tuple(samples))


def _harness_request(target: Target, method: str, path: str, headers: dict[str, str], deadline_s: float,
                     stop: threading.Event | None, *, read_body: bool, refused: str,
                     unreachable: str) -> tuple[httpx.Response | None, str | None]:
    """One request of the harness's own (a preflight, a reset), bounded like every exchange: (the answer, None),
    or (None, why not), prefixed `refused` when a bound tripped and `unreachable` when it could not connect.
    A stop is re-raised as KeyboardInterrupt."""
    try:
        with bounded_client(deadline_s=deadline_s, **target.http_options()) as client:
            response = bounded_send(client, client.build_request(method, target.base_url + path, headers=headers),
                                    Bounds(deadline_s=deadline_s), stop=stop, read_body=read_body)
    except Interrupted:
        raise KeyboardInterrupt from None
    except EngineFailure as exc:
        return None, f"{refused}: {exc}"
    except httpx.HTTPError as exc:
        return None, f"{unreachable}: {type(exc).__name__}: {exc}"
    return response, None


RESET_TIMEOUT_S = 120.0
RESTART_WAIT_S = 60.0  # after a restart hook, how long the target may take to answer again
RESTART_POLL_S = 0.2


def reset(target: Target, headers: dict[str, str], stop: threading.Event | None = None) -> str | None:
    """Put the target back in its known state; None on success, else why not. A reset request has
    RESET_TIMEOUT_S for the whole exchange (resets may be slow), and the shared bounds on its answer."""
    return _run_hook(target, target.reset, "reset", headers, stop)


def _run_hook(target: Target, spec: ResetSpec | None, what: str, headers: dict[str, str],
              stop: threading.Event | None) -> str | None:
    """Run a target's `reset` or `restart` hook (a request under base_url or a command); None on success, else
    why not."""
    if spec is None:
        return None
    if spec.request:
        method, path = spec.request
        failed = f"{what} request {method} {path} failed"
        response, problem = _harness_request(target, method, path, headers, RESET_TIMEOUT_S, stop, read_body=True,
                                             refused=failed, unreachable=failed)
        if response is None:
            return problem
        if not response.is_success:
            return f"{what} request {method} {path} answered {response.status_code}"
        return None
    try:
        proc = run_command(shlex.split(spec.command or ""), timeout=RESET_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{what} command failed: {exc}"
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        return f"{what} command exited {proc.returncode}: {tail[0][:200]}"
    return None


def restart(target: Target, headers: dict[str, str], redactor: Redactor, stop: threading.Event) -> None:
    """Restart the target's process with its `restart` hook, then wait (up to RESTART_WAIT_S) until it answers the
    preflight again at its base URL. EngineFailure (an error: nothing about what survives was measured) if the
    hook fails or the target does not come back in time."""
    failed = _run_hook(target, target.restart, "restart", headers, stop)
    if failed:
        raise EngineFailure(redactor.text(failed))
    deadline = time.monotonic() + RESTART_WAIT_S
    while (problem := preflight(target, headers, stop)) is not None:
        if time.monotonic() > deadline:
            raise EngineFailure(redactor.text(f"the target did not answer within {RESTART_WAIT_S:g} s of its "
                                              f"restart hook: {problem}"))
        if stop.wait(RESTART_POLL_S):
            raise KeyboardInterrupt
