"""Run a profile's Python check (`check: {kind: contract, python: NAME}`), declared in the profile's
`checks/` folder with the kit (`conformance.kit`) and loaded with the profile (`conformance.inputs.checks`).

The check gets a `ContractContext` whose `send` is the shared sender (`conformance.runners.http`): evidence,
redaction and request counting as for a scenario step. `SupplierFailure` (`c.fail`) is the finding; an
`EngineFailure` is an error; sending to a system the check did not declare is an error too. A check declared
with `restarts=True` may restart the supplier's process (`c.restart()`, the session's restart hook); each
restart is counted in the measurements.

A check is the profile's code, so it may loop forever or wait on a slow supplier: it runs on a worker thread, and
at the requirement's deadline (`RunContext.deadline`) the requirement ends as an `error` naming the deadline
whatever the check is doing. The request in flight is cut at the deadline, the sender refuses every later one and
writes nothing more, and a check still computing is abandoned (a daemon thread: it cannot send, and dies with the
process).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any

import httpx

from conformance.errors import DeadlineExceeded, EngineFailure, SupplierFailure
from conformance.inputs.profiles import profile_checks
from conformance.kit import ContractContext
from conformance.model import Requirement, Result
from conformance.runners import RunContext
from conformance.runners.http import Exchanges, at_deadline, exchanges, held, measurements, not_met, send

__all__ = ["run_check"]

DEFAULT_EXAMPLES = 25  # generated cases a property tries in the quick tier, unless the requirement says
FULL_TIER_FACTOR = 5


def run_check(requirement: Requirement, ctx: RunContext) -> Result:
    name = requirement.check.options["python"]
    check = profile_checks(ctx.profile).find(name)
    if check is None or requirement.id not in check.requirements:
        raise EngineFailure(f"no contract check '{name}' registered for {requirement.id}")
    examples = int(requirement.check.options.get("max_examples", DEFAULT_EXAMPLES)) * (
        FULL_TIER_FACTOR if ctx.tier == "full" else 1)
    with exchanges(requirement, ctx) as ex:

        def send_one(method: str, path: str, *, json: Any = None, query: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None, step: str = "", system: str | None = None,
                     content: bytes | None = None) -> httpx.Response:
            if ctx.stop.is_set():
                raise KeyboardInterrupt
            if system is not None and system not in check.systems:
                raise EngineFailure(f"contract check '{name}' sent to system '{system}' without declaring it "
                                    "in @contract_check(systems=...)")
            request: dict[str, Any] = {"method": method, "path": path}
            if json is not None:
                request["json"] = json
            if content is not None:
                request["content"] = content
            if query:
                request["query"] = query
            if headers:
                request["headers"] = headers
            where = f" on {system}" if system else ""
            ctx.progress(f"{step or method + ' ' + path}{where} ({ex.requests} requests)")
            return send(ex, step or f"{method} {path}", request, system=system)

        def restart(step: str) -> None:
            if not check.restarts or ctx.restart is None:
                raise EngineFailure(f"contract check '{name}' restarted the supplier without declaring it in "
                                    "@contract_check(restarts=True)" if not check.restarts else
                                    "the target declares no restart hook (`restart:` in the targets file)")
            ctx.progress(f"{step}: restarting the supplier's process ({ex.requests} requests)")
            ex.restarts += 1
            ctx.restart()

        c = ContractContext(send_one, ctx.profile.openapi_path, ctx.seed, examples, frozenset(ctx.systems), restart)
        try:
            _within_deadline(lambda: check.function(c), ex, name)
        except DeadlineExceeded as cut:  # a task already over its cost has failed; otherwise an error
            return at_deadline(requirement, ex, _measurements(requirement, ex, name), name=name, task=None, cut=cut)
        except SupplierFailure as unmet:
            return not_met(requirement, ex, _measurements(requirement, ex, name), name=name,
                           step=f"property {name}", operation=None, why=str(unmet))
        if check.restarts and not ex.restarts:  # what survives a restart was not seen: never a pass
            raise EngineFailure(f"contract check '{name}' declares restarts=True but never restarted the supplier")
    return held(requirement, ex, _measurements(requirement, ex, name), name=name, task=None,
                what=f"property {name} held")


def _measurements(requirement: Requirement, ex: Exchanges, name: str) -> dict[str, Any]:
    return measurements(requirement, ex, scenario=None, python=name, steps=0, task=None)


# After the deadline, how long the requirement waits for a check to notice (its request in flight is cut at the
# deadline, and its next request refused) before abandoning it.
ABANDON_AFTER_S = 1.0
_POLL_S = 0.2


def _within_deadline(call: Callable[[], None], ex: Exchanges, name: str) -> None:
    """Run `call` (the check) on a worker thread and return or raise what it did, within the requirement's
    deadline and obeying a stop; past the deadline (and ABANDON_AFTER_S of grace) the check is abandoned:
    the sender is closed and DeadlineExceeded raised."""
    ctx = ex.ctx
    outcome: list[BaseException] = []

    def work() -> None:
        try:
            call()
        except _Abandoned:
            pass
        except BaseException as exc:  # handed to the requirement's thread below
            outcome.append(exc)

    worker = threading.Thread(target=work, name=f"check-{name}", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(_POLL_S)
        if ctx.stop.is_set() and worker.is_alive():
            worker.join(ABANDON_AFTER_S)  # its request in flight ends at once; give it the moment to see that
            if worker.is_alive():
                _close(ex, worker)
                raise KeyboardInterrupt
        deadline = ctx.deadline
        if deadline is not None and worker.is_alive() and deadline.remaining() < -ABANDON_AFTER_S:
            _close(ex, worker)
            raise deadline.exceeded(f"the Python check '{name}' was still running and was abandoned after "
                                    f"{ex.requests} request(s)")
    if outcome:
        raise outcome[0]


def _close(ex: Exchanges, worker: threading.Thread) -> None:
    """The sender refuses from now on, and the abandoned check is asked to end: an exception is raised in its
    thread at its next Python instruction (CPython's PyThreadState_SetAsyncExc), so a check looping forever stops
    spending the CPU the rest of the run needs; one blocked in C ends when that call returns."""
    with ex.lock:
        ex.closed = True
    if worker.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(_Abandoned))


class _Abandoned(BaseException):
    """Raised inside an abandoned check's thread to end it."""
