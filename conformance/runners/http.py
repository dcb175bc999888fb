"""The sender shared by YAML scenarios and Python checks: one HTTP client per system, bounded exchanges
(`conformance.engine.bounded`: the target's `timeout_s` for the whole exchange, 10 MiB before and after
decompression, 100 headers), every exchange recorded as evidence (secrets redacted), requests counted, and the
result a task's exchanges lead to.

A request's path is under the system's base URL, or an absolute URL taken from an answer (a `rel=next` link):
that is requested only when its origin (scheme, host, port) is the system's own; another origin is refused
before anything is sent (an `EngineFailure` naming the URL), so credentials never go to a host the supplier named.

A transport failure, refused credentials or an answer that breaks a bound is an `EngineFailure` (an error),
never the supplier's failure; a stop (Ctrl-C, SIGTERM) ends the request in flight at once. Requests may be
sent from several threads at once (a burst): the count and the evidence file are shared under a lock.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from conformance.engine.bounded import (
    MAX_BODY_BYTES,
    BoundExceeded,
    Bounds,
    Interrupted,
    bounded_client,
    bounded_send,
)
from conformance.engine.evidence import body_text, curl, jsonl
from conformance.errors import EngineFailure
from conformance.model import Finding, Outcome, Requirement, Result
from conformance.runners import RunContext

__all__ = ["MAX_BODY_BYTES", "REQUEST_TIMEOUT_S", "Exchanges", "exchanges", "send"]

REQUEST_TIMEOUT_S = 30.0  # the default of a target's `timeout_s`


@dataclass
class Exchanges:
    """The requests of one requirement: the clients, the evidence file, how many were sent and the last one as
    a curl (a failure's reproduction)."""

    ctx: RunContext
    evidence: IO[str]
    clients: dict[str | None, httpx.Client]
    started: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    last_curl: str = ""
    restarts: int = 0  # times a Python check restarted the target's process (c.restart())
    # Set when the requirement has been concluded without its check (a Python check abandoned at its deadline):
    # from then on nothing is sent and nothing more is written.
    closed: bool = False


@contextlib.contextmanager
def exchanges(requirement: Requirement, ctx: RunContext) -> Iterator[Exchanges]:
    """The requirement's evidence file (exchanges/<id>.jsonl) and clients, open while it runs; its time runs
    from now."""
    started = time.monotonic()
    with ctx.run_dir.open_exchanges(requirement.id) as evidence, _clients(ctx) as clients:
        yield Exchanges(ctx, evidence, clients, started)


@contextlib.contextmanager
def _clients(ctx: RunContext) -> Iterator[dict[str | None, httpx.Client]]:
    """One HTTP client for the target (key None) and one for each other system the requirement needs."""
    with contextlib.ExitStack() as stack:
        clients: dict[str | None, httpx.Client] = {None: stack.enter_context(bounded_client(
            base_url=ctx.target.base_url, deadline_s=ctx.target.timeout_s, **ctx.target.http_options()))}
        for name, system in ctx.systems.items():
            clients[name] = stack.enter_context(bounded_client(
                base_url=system.base_url, deadline_s=system.timeout_s, headers=system.request_headers(),
                **system.http_options()))
        yield clients


def send(ex: Exchanges, step: str, spec: dict[str, Any], *, system: str | None = None,
         expected: Collection[int] = ()) -> httpx.Response:
    """Send one request, `spec`: {method, path, and optionally query, headers, json or content}, to the target
    or the named other system; record it as evidence under `step`. A 401/403 not among the `expected` statuses
    is an EngineFailure: the credentials were refused, so nothing about the rule was measured."""
    ctx = ex.ctx
    if ex.closed:
        raise EngineFailure(f"step '{step}': not sent, the requirement had already ended at its deadline")
    if ctx.deadline is not None and ctx.deadline.passed():
        raise ctx.deadline.exceeded(f"{ex.requests} request(s) sent; step '{step}' not started")
    client = ex.clients[system]
    _check_origin(step, str(spec["path"]), client.base_url, ctx.redactor.text, system)
    if system is None:
        headers = {**ctx.headers, **(ctx.auth() if ctx.auth else {}), **spec.get("headers", {})}
    else:  # the system's own credentials are the client's default headers
        headers = {**client.headers, **spec.get("headers", {})}
    body = json.dumps(spec["json"]).encode() if "json" in spec else spec.get("content")
    if "json" in spec:
        headers.setdefault("Content-Type", "application/json")
    request = client.build_request(spec["method"], spec["path"], params=spec.get("query"), headers=headers,
                                   content=body)
    redact = ctx.redactor
    with ex.lock:
        ex.last_curl = redact.text(curl(request.method, str(request.url), redact.headers(headers), body))
        ex.requests += 1
        seq = ex.requests
    record: dict[str, Any] = {
        "seq": seq, "step": step, **({"system": system} if system else {}),
        "request": {"method": request.method, "url": redact.text(str(request.url)),
                    "headers": redact.headers(dict(request.headers)), "body": body_text(body or b"", redact.text)},
        "response": None,
    }
    timeout_s = (ctx.systems[system] if system else ctx.target).timeout_s
    deadline_s = max(0.001, ctx.remaining_s(timeout_s))  # the requirement's deadline caps the exchange's
    where = f" on {system}" if system else ""
    try:
        response = bounded_send(client, request, Bounds(deadline_s=deadline_s), stop=ctx.stop)
    except Interrupted:
        _record(ex, {**record, "error": "interrupted: the run was stopped with this request in flight"})
        raise KeyboardInterrupt from None
    except BoundExceeded as exc:
        _record(ex, {**record, "error": f"bound exceeded ({exc.bound}): {exc}"})
        if exc.bound == "deadline" and ctx.deadline is not None and deadline_s < timeout_s:
            raise ctx.deadline.exceeded(f"step '{step}' ({spec['method']} {spec['path']}{where}) was still "
                                        f"waiting for an answer; {ex.requests} request(s) sent") from None
        raise EngineFailure(f"step '{step}': {spec['method']} {spec['path']}{where}: {exc}") from None
    except EngineFailure as exc:
        _record(ex, {**record, "error": str(exc)})
        raise EngineFailure(f"step '{step}': {spec['method']} {spec['path']}{where}: {exc}") from None
    except httpx.HTTPError as exc:
        _record(ex, {**record, "error": redact.text(f"{type(exc).__name__}: {exc}")})
        raise EngineFailure(f"step '{step}': {spec['method']} {spec['path']}{where} got no answer: "
                            f"{type(exc).__name__}: {redact.text(str(exc))}") from None
    if response.status_code in (401, 403) and response.status_code not in expected:
        _record(ex, {**record, "response": {"status": response.status_code}})
        raise EngineFailure(f"step '{step}': the target refused the credentials ({response.status_code}), "
                            "so the rule could not be tested; check the target's auth settings")
    record["response"] = {"status": response.status_code,
                          "elapsed_ms": round(response.elapsed.total_seconds() * 1000, 2),
                          "headers": redact.headers(dict(response.headers)),
                          "body": body_text(response.content, redact.text)}
    _record(ex, record)
    return response


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or {"http": 80, "https": 443}.get(url.scheme)


def _check_origin(step: str, path: str, base: httpx.URL, redact: Any, system: str | None) -> None:
    """A path under the base URL, or an absolute URL of the same origin; anything else is refused unsent."""
    if path.startswith("/"):
        return
    whose = f"the {system} system's" if system else "the target's"
    if not path.lower().startswith(("http://", "https://")):
        raise EngineFailure(f"step '{step}': {redact(path)[:200]!r} is neither a path starting with / nor an "
                            "http(s) URL, so it was not requested")
    try:
        url = httpx.URL(path)
    except httpx.InvalidURL as exc:
        raise EngineFailure(f"step '{step}': {redact(path)[:200]!r} is not a URL ({exc}); not requested") from None
    if _origin(url) != _origin(base):
        origin = f"{base.scheme}://{base.host}" + (f":{base.port}" if base.port else "")
        raise EngineFailure(f"step '{step}': refused to request {redact(path)[:300]}: its origin is not "
                            f"{whose} ({origin}); the harness follows links only within it, and sent nothing")


def _record(ex: Exchanges, record: dict[str, Any]) -> None:
    with ex.lock:
        if not ex.closed:
            ex.evidence.write(jsonl(record))


# --- the result of a task's exchanges ----------------------------------------------------------------------------

def measurements(requirement: Requirement, ex: Exchanges, *, scenario: str | None, python: str | None,
                 steps: int, task: str | None) -> dict[str, Any]:
    """What a contract requirement measured: which scenario or check, the requests and time it took, its bounds."""
    elapsed = time.monotonic() - ex.started
    options = requirement.check.options
    return {
        "engine": "contract", "scenario": scenario, "python": python, "steps": steps, "task": task,
        "requests": ex.requests, "elapsed_s": round(elapsed, 3),
        "max_requests": options.get("max_requests"), "max_seconds": options.get("max_seconds"),
        "evidence": str(Path("exchanges") / f"{requirement.id}.jsonl"),
        **({"restarts": ex.restarts} if ex.restarts else {}),
    }


def held(requirement: Requirement, ex: Exchanges, measured: dict[str, Any], *, name: str, task: str | None,
         what: str) -> Result:
    """Every step met (`what` says so): a pass, unless the task cost more requests or time than the requirement
    allows (`max_requests`, `max_seconds`), which is its own finding."""
    elapsed = measured["elapsed_s"]
    options = requirement.check.options
    over = []
    if options.get("max_requests") is not None and ex.requests > options["max_requests"]:
        over.append(f"{ex.requests} requests (at most {options['max_requests']})")
    if options.get("max_seconds") is not None and elapsed > options["max_seconds"]:
        over.append(f"{elapsed:.2f} s (at most {options['max_seconds']} s)")
    if not over:
        if task:
            what = f"task '{task}' done: {what}"
        return Result(requirement.id, Outcome.PASS, (), measurements=measured,
                      reason=f"{what} in {ex.requests} requests, {elapsed:.2f} s")
    named = f"task '{task}'" if task else "the task"
    why = (f"{named} cost too much: {', '.join(over)}; every step met "
           f"({ex.requests} requests, {elapsed:.2f} s in all)")
    finding = Finding(requirement_id=requirement.id, check="workflow cost", code=None,
                      title=f"{name}: {named} cost too much", message=why, operation=None, curl=None,
                      status_code=None, seed=ex.ctx.seed)
    return Result(requirement.id, Outcome.FAIL, (finding,), measurements=measured, reason=why[:300])


def at_deadline(requirement: Requirement, ex: Exchanges, measured: dict[str, Any], *, name: str,
                task: str | None, cut: Exception) -> Result:
    """The result of a task cut short at its deadline (`cut`): a failure if it had already cost more requests or
    time than the requirement allows (whatever the rest would have done), else an error naming the deadline; both
    with what was measured until then."""
    options = requirement.check.options
    over = []
    if options.get("max_requests") is not None and ex.requests > options["max_requests"]:
        over.append(f"{ex.requests} requests (at most {options['max_requests']})")
    if options.get("max_seconds") is not None and measured["elapsed_s"] > options["max_seconds"]:
        over.append(f"{measured['elapsed_s']:.2f} s (at most {options['max_seconds']} s)")
    if not over:
        return Result(requirement.id, Outcome.ERROR, (), measurements=measured, reason=ex.ctx.redactor.text(str(cut)))
    named = f"task '{task}'" if task else "the task"
    why = (f"{named} cost too much: {', '.join(over)}, and it had not even finished when the harness stopped it "
           f"({cut})")
    finding = Finding(requirement_id=requirement.id, check="workflow cost", code=None,
                      title=f"{name}: {named} cost too much", message=why, operation=None, curl=ex.last_curl or None,
                      status_code=None, seed=ex.ctx.seed)
    return Result(requirement.id, Outcome.FAIL, (finding,), measurements=measured, reason=why[:300])


def not_met(requirement: Requirement, ex: Exchanges, measured: dict[str, Any], *, name: str, step: str,
            operation: str | None, why: str) -> Result:
    """A step (or a Python check) found the rule broken: a failure, with the last request as its reproduction."""
    message = ex.ctx.redactor.text(why)
    finding = Finding(
        requirement_id=requirement.id, check=f"step: {step}", code=None,
        title=f"{name}: step '{step}' not met", message=message, operation=operation or None,
        curl=ex.last_curl, status_code=None, seed=ex.ctx.seed,
    )
    return Result(requirement.id, Outcome.FAIL, (finding,), measurements=measured,
                  reason=f"step '{step}': {message}"[:300])
