"""Schema checks: property-based conformance of a target to the profile's OpenAPI interface.

The only module that touches schemathesis. Its in-process engine (`schemathesis.engine`) is internal
API, hence the exact pin in pyproject.toml. One engine run per requirement, with only that requirement's
checks, a fixed seed and no example database, so the same seed sends the same generated cases.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from conformance.engine.bounded import DEFAULT_DEADLINE_S, BoundExceeded, Bounds, inflater
from conformance.engine.evidence import BODY_EVIDENCE_LIMIT, body_text, jsonl
from conformance.errors import EngineFailure
from conformance.kit.properties import only_the_seed_decides
from conformance.model import CheckKind, Finding, Outcome, Requirement, Result
from conformance.runners import RunContext
from conformance.runners.schema_coverage import below_minimum, coverage_line, documented_interface
from conformance.runners.schema_coverage import coverage as measure_coverage

__all__ = ["ALL_PHASES", "HARNESS_CHECKS", "TIERS", "SchemaRunner"]

ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")
HARNESS_CHECKS = frozenset({"operation_implemented"})
DEFAULT_MAX_EXAMPLES = 20
MAX_LEARNED_VALUES = 100_000
_TOKEN = re.compile(r"[A-Za-z0-9_\-:.+]{8,}")


@dataclass(frozen=True)
class Tier:
    """How hard to look. `budget_s` is not a cap: given a time budget, schemathesis keeps cycling its
    phases until the budget is spent, so a tier with a budget runs for that long; without one, each
    phase stops at `max-examples` and the run ends when the cases are exhausted."""

    examples_factor: int
    budget_s: int | None  # per requirement, shared by its seeds
    request_timeout_s: float
    seeds: int = 1


TIERS = {
    "quick": Tier(examples_factor=1, budget_s=None, request_timeout_s=10.0),
    "full": Tier(examples_factor=5, budget_s=600, request_timeout_s=30.0, seeds=3),
}
# A stop signalled to the engine, which honours it between cases: the quick tier's cases normally take
# well under a minute per requirement against a responsive system; a budget gets this much grace on top.
QUICK_TIME_LIMIT_S = 600
BUDGET_GRACE_S = 30  # the engine stops between cases, so it overshoots by at most a case per seed
SEED_STRIDE = 7919  # the full tier's further seeds: seed + k * SEED_STRIDE, recorded in the result


def _budget(ctx: RunContext) -> int | None:
    """The engine's generation time per requirement (None: none, it stops when the cases are exhausted): the
    tier's, within the requirement's share of the run's budget (its deadline), leaving a grace to wind down."""
    budget = TIERS[ctx.tier].budget_s
    if budget is None or ctx.deadline is None:
        return budget
    share = ctx.deadline.share_s
    return max(1, min(budget, int(share - min(BUDGET_GRACE_S, share / 2))))


def seeds_for(seed: int, tier: str) -> list[int]:
    return [(seed + k * SEED_STRIDE) % 2**31 for k in range(TIERS[tier].seeds)]

_registered = False


_BOUNDS = Bounds()
# Every answer the engine read, counted as it is read (the tally counts a scenario's requests only once it ends,
# so an engine stopped mid-scenario under-counts): [answers, seconds], for the run's time planning.
_ANSWERED = [0, 0.0]
# How long a stopped engine may take to wind down before the requirement is concluded without it (its worker
# thread, blocked on a request, is left behind: it sends nothing more and ends with its request).
ENGINE_WIND_DOWN_S = 2.0


def _bound_the_engine() -> None:
    """Give every session the engine makes an adapter that reads answers within the harness's bounds: the answer
    streamed, at most 10 MiB on the wire and after gzip/deflate inflation, at most 100 headers, and the body within
    the request's timeout. A bound that trips is a connection error the engine reports (the requirement is an
    `error` naming it). Patches `schemathesis.engine.context.make_session` (internal API: the pin covers it)."""
    import requests
    from schemathesis.engine import context

    if getattr(context.make_session, "bounded", False):
        return
    original = context.make_session

    class BoundedAdapter(requests.adapters.HTTPAdapter):
        def send(self, request: Any, stream: bool = False, timeout: Any = None, verify: Any = True,
                 cert: Any = None, proxies: Any = None) -> Any:
            started = time.monotonic()
            response = super().send(request, stream=True, timeout=timeout, verify=verify, cert=cert,
                                    proxies=proxies)
            if "event-stream" in response.headers.get("content-type", ""):
                return response  # the engine reads event streams itself, within the request timeout in total
            limit = float(timeout[1] if isinstance(timeout, tuple) else timeout or DEFAULT_DEADLINE_S)
            try:
                response._content = _bounded_body(response, started + limit, limit)
            except BoundExceeded as exc:
                response.close()
                raise requests.exceptions.ConnectionError(f"bound exceeded ({exc.bound}): {exc}",
                                                          request=request) from None
            response._content_consumed = True
            _ANSWERED[0] += 1
            _ANSWERED[1] += time.monotonic() - started
            return response

    def make_session(*args: Any, **kwargs: Any) -> Any:
        session = original(*args, **kwargs)
        adapter = BoundedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    make_session.bounded = True  # type: ignore[attr-defined]
    context.make_session = make_session


def _bounded_body(response: Any, deadline: float, limit: float) -> bytes:
    raw = response.raw
    count = len(list(raw.headers.items()))
    if count > _BOUNDS.max_headers:
        raise BoundExceeded("headers", f"the answer has {count} headers (the harness reads at most "
                                       f"{_BOUNDS.max_headers})")
    cap = _BOUNDS.max_body_bytes
    encoding = response.headers.get("content-encoding", "").strip().lower()
    inflate = inflater(encoding)
    decode = inflate is None and encoding not in ("", "identity")  # another coding: urllib3 decodes, cap counts it
    out = bytearray()
    wire = 0
    while True:
        if time.monotonic() > deadline:
            raise BoundExceeded("deadline", f"the answer's body did not end within the {limit:g} s request timeout")
        chunk = raw.read1(65536, decode_content=decode)
        if not chunk:
            break
        wire += len(chunk)
        try:
            out += inflate(chunk, cap + 1 - len(out)) if inflate is not None else chunk
        except zlib.error as exc:
            raise BoundExceeded("encoding", f"the answer is not valid {encoding}: {exc}") from None
        if wire > cap or len(out) > cap:
            inflated = len(out) > cap >= wire
            out.clear()  # the engine keeps the error, and with it this frame: hold no copy of the answer
            raise BoundExceeded("body size", f"the answer is larger than {cap // (1024 * 1024)} MiB"
                                             f"{' once inflated' if inflated else ''}")
    return bytes(out)


def _register_harness_checks() -> None:
    """Checks of our own, beside schemathesis' built-ins; enabled per requirement like any other."""
    global _registered
    if _registered:
        return
    import schemathesis

    @schemathesis.check  # type: ignore[untyped-decorator,unused-ignore]
    def operation_implemented(ctx: Any, response: Any, case: Any) -> bool | None:
        """A documented operation answers; it is not missing (404 on a path without parameters),
        refused as a method (405) or declared unimplemented (501)."""
        meta = getattr(case, "meta", None)
        if meta is not None and not meta.generation.mode.is_positive:
            return True  # only well-formed requests say anything about implementation
        status = response.status_code
        label = f"{case.operation.method.upper()} {case.operation.path}"
        if status in (405, 501):
            raise AssertionError(f"{label} is documented but the target answered {status}: not implemented")
        if status == 404 and "{" not in case.operation.path:
            raise AssertionError(f"{label} is documented but the target answered 404: no such route")
        return None

    _registered = True


def _engine_config(requirement: Requirement, ctx: RunContext, seed: int) -> dict[str, Any]:
    options = requirement.check.options
    tier = TIERS[ctx.tier]
    phases = options.get("phases", list(ALL_PHASES))
    checks: dict[str, Any] = {"enabled": False}
    for name in options["checks"]:
        entry: dict[str, Any] = {"enabled": True}
        if "expected_statuses" in options and name in (
                "positive_data_acceptance", "negative_data_rejection", "not_a_server_error",
                "missing_required_header"):
            entry["expected-statuses"] = list(options["expected_statuses"])
        checks[name] = entry
    config: dict[str, Any] = {
        "seed": seed,
        "cache": {"enabled": False},
        "base-url": ctx.target.base_url,
        "request-timeout": min(tier.request_timeout_s, ctx.target.timeout_s),
        "headers": dict(ctx.headers),
        "workers": 1,
        "generation": {
            "max-examples": ctx.max_examples  # planned from the target's answer time, else the profile's
            or int(options.get("max_examples", DEFAULT_MAX_EXAMPLES)) * tier.examples_factor,
            "mode": options.get("mode", "all"),
            "database": "none",
        },
        "phases": {name: {"enabled": name in phases} for name in ALL_PHASES},
        "checks": checks,
    }
    tls = ctx.target.tls
    if tls is not None:
        if tls.ca:
            config["tls-verify"] = tls.ca
        if tls.client_cert:
            config["request-cert"] = tls.client_cert
            config["request-cert-key"] = tls.client_key
    budget = _budget(ctx)
    if budget is not None:
        config["max-time"] = max(1, budget // tier.seeds)
    if ctx.target.params:
        config["parameters"] = path_parameters(ctx.target.params)
    return config


def path_parameters(params: dict[str, str]) -> dict[str, str]:
    """The target's parameters as the engine's path-parameter overrides: a path parameter named like one (e.g.
    `{collectionId}`) takes its value instead of generated data, so operations reach the target's real records.
    A value holding `${` is left out: the engine would read it as an environment variable."""
    return {f"path.{name}": value for name, value in params.items() if "${" not in value}


@dataclass
class _Tally:
    """What one engine run observed, gathered from its events."""

    requirement: Requirement
    ctx: RunContext
    evidence: IO[str]
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    evaluated: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    operations_exercised: set[str] = field(default_factory=set)
    statuses: dict[str, set[int]] = field(default_factory=dict)
    requests: int = 0
    cases: int = 0
    sequence: Any = field(default_factory=hashlib.sha256)
    learned: set[str] = field(default_factory=set)
    links_followed: dict[str, int] = field(default_factory=dict)
    seed: int = 0
    new_findings_by_seed: dict[int, int] = field(default_factory=dict)
    timed_out: int | None = None  # the time limit (s) that stopped the engine, if one did
    deadline: str | None = None  # the requirement's deadline, when it is nearer than the engine's own limit
    stop_reason: str | None = None

    def scenario(self, phase: str, recorder: Any) -> None:
        self.cases += len(recorder.cases)
        for case_id, node in recorder.cases.items():
            transition = getattr(node, "transition", None)
            if transition is not None and case_id in recorder.interactions:
                self.links_followed[transition.id] = self.links_followed.get(transition.id, 0) + 1
        for case_id, interaction in recorder.interactions.items():
            node = recorder.cases.get(case_id)
            operation = getattr(getattr(node, "value", None), "operation", None)
            label = operation.label if operation is not None else recorder.label  # stateful: per step
            self._exchange(phase, label, case_id, interaction)
        for case_id, nodes in recorder.checks.items():
            for node in nodes:
                self.evaluated[node.name] = self.evaluated.get(node.name, 0) + 1
                if node.failure_info is not None:
                    self._finding(node.name, case_id, node.failure_info, recorder)

    def _exchange(self, phase: str, label: str, case_id: str, interaction: Any) -> None:
        redact = self.ctx.redactor
        request, response = interaction.request, interaction.response
        body = request.body or b""
        self.requests += 1
        self._fingerprint(request.method, request.uri, body)
        record: dict[str, Any] = {
            "seq": self.requests, "phase": phase, "operation": label, "case_id": case_id,
            "request": {"method": request.method, "url": redact.text(request.uri),
                        "headers": redact.headers(request.headers), "body": body_text(body, redact.text)},
            "response": None,
        }
        # The coverage phase also probes undocumented methods on a path (expecting 405); those answers
        # say nothing about the documented operation's statuses.
        probe = not label.upper().startswith(f"{request.method.upper()} ")
        if response is not None and not probe:
            self.operations_exercised.add(label)
            self.statuses.setdefault(label, set()).add(response.status_code)
        if response is not None:
            record["response"] = {
                "status": response.status_code, "elapsed_ms": round(response.elapsed * 1000, 2),
                "headers": redact.headers(response.headers),
                "body": body_text(response.content or b"", redact.text),
            }
        self.evidence.write(jsonl(record))
        if response is not None:
            self._learn(response)

    def _fingerprint(self, method: str, uri: str, body: bytes) -> None:
        """Add a request to `request_sequence_sha256`. The engine re-uses values the target returned (ids,
        timestamps) in later requests; those differ between runs of any real system, so they are hashed
        as a placeholder, and the fingerprint is the same for the same seed against the same behaviour."""
        relative = uri.removeprefix(self.ctx.target.base_url)
        text = f"{method} {relative}\n{body.decode('utf-8', errors='replace')}\n"
        if self.learned:
            text = _TOKEN.sub(lambda m: "<from-response>" if m.group(0) in self.learned else m.group(0), text)
        self.sequence.update(text.encode())

    def _learn(self, response: Any) -> None:
        """Remember the target-issued values a later request may carry (see `_fingerprint`)."""
        if len(self.learned) > MAX_LEARNED_VALUES:
            return
        for name in ("location", "etag"):
            value = response.headers.get(name) if hasattr(response.headers, "get") else None
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str):
                    self.learned.update(_TOKEN.findall(item))
        content = response.content or b""
        if len(content) > 4 * BODY_EVIDENCE_LIMIT:
            return
        try:
            data = json.loads(content)
        except ValueError:
            return
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, str) and len(node) >= 8:
                self.learned.add(node)

    def _finding(self, check: str, case_id: str, info: Any, recorder: Any) -> None:
        failure = info.failure
        operation = failure.operation or recorder.label
        key = (check, operation, failure.title)
        if key in self.findings:
            old = self.findings[key]
            self.findings[key] = replace(old, occurrences=old.occurrences + 1)
            return
        steps = [step.curl for step in info.steps] if info.steps else [info.code_sample]
        interaction = recorder.interactions.get(case_id)
        status = interaction.response.status_code if interaction and interaction.response else None
        self.findings[key] = Finding(
            requirement_id=self.requirement.id, check=check, code=getattr(failure, "code", None),
            title=failure.title, message=self.ctx.redactor.text(failure.message or failure.title),
            operation=operation, curl=self.ctx.redactor.text("\n".join(steps)), status_code=status,
            seed=self.seed,
        )

    def error(self, text: str) -> None:
        text = self.ctx.redactor.text(text)
        if text not in self.errors:
            self.errors.append(text)


class SchemaRunner:
    kind = CheckKind.SCHEMA

    def run(self, requirement: Requirement, ctx: RunContext) -> Result:
        import hypothesis.configuration
        import schemathesis
        from schemathesis import engine
        from schemathesis.engine import events

        _register_harness_checks()
        _bound_the_engine()
        only_the_seed_decides()  # the same seed sends the same cases, whatever else this process has loaded
        engine_home = ctx.run_dir.path / ".engine"
        hypothesis.configuration.set_hypothesis_home_dir(str(engine_home))
        seeds = seeds_for(ctx.seed, ctx.tier)
        started = time.monotonic()
        answered = tuple(_ANSWERED)
        budget = _budget(ctx)
        limit = QUICK_TIME_LIMIT_S if budget is None else budget + BUDGET_GRACE_S
        deadline = started + limit
        if ctx.deadline is not None and ctx.deadline.at < deadline:  # the requirement's share of the run's budget
            deadline, limit = ctx.deadline.at, max(1, round(ctx.deadline.remaining()))
            tally_deadline: str | None = ctx.deadline.describe()
        else:
            tally_deadline = None
        with ctx.run_dir.open_exchanges(requirement.id) as evidence:
            tally = _Tally(requirement, ctx, evidence, deadline=tally_deadline)
            for seed in seeds:  # the full tier looks with several seeds; each finding names its seed
                config_data = _engine_config(requirement, ctx, seed)
                try:
                    config = schemathesis.Config.from_dict(config_data)
                    schema = schemathesis.openapi.from_path(ctx.profile.openapi_path, config=config)
                except Exception as exc:  # invalid config or interface: the harness cannot measure
                    raise EngineFailure(f"schemathesis could not load the interface: {exc}") from exc
                operations = [op.ok().label for op in schema.get_all_operations()  # type: ignore[union-attr]
                              if _is_ok(op)]
                if ctx.auth is not None:
                    _use_dynamic_auth(schema, ctx.auth)
                tally.seed = seed
                tally.stop_reason = None
                before = len(tally.findings)
                stream = engine.from_schema(schema).execute()

                def time_is_up(stream: Any = stream) -> None:
                    tally.timed_out = limit
                    stream.stop()  # thread-safe: sets the engine's stop event

                self._consume_within(stream, tally, ctx, seeds, seed, events, deadline, time_is_up)
                if ctx.stop.is_set():
                    raise KeyboardInterrupt
                tally.new_findings_by_seed[seed] = len(tally.findings) - before
                if tally.stop_reason == "server_unavailable" or tally.timed_out:
                    break
        result = _conclude(tally, operations, time.monotonic() - started, config_data)
        count, seconds = _ANSWERED[0] - answered[0], _ANSWERED[1] - answered[1]
        return replace(result, measurements={**result.measurements, "answers": {"count": count,
                                                                                "seconds": round(seconds, 3)}})

    @classmethod
    def _consume_within(cls, stream: Any, tally: _Tally, ctx: RunContext, seeds: list[int], seed: int,
                        events: Any, deadline: float, time_is_up: Any) -> None:
        """Consume the engine's events on a worker thread, so the requirement's deadline and a stop are obeyed
        even while the engine waits on a request: past either, the engine is told to stop and given
        ENGINE_WIND_DOWN_S; if it has not ended by then, the requirement goes on without it."""
        failure: list[BaseException] = []

        def consume() -> None:
            try:
                cls._consume(stream, tally, ctx, seeds, seed, events)
            except BaseException as exc:  # handed to the requirement's thread below
                failure.append(exc)

        worker = threading.Thread(target=consume, name="schema-engine", daemon=True)
        worker.start()
        stopping_since: float | None = None
        while worker.is_alive():
            worker.join(0.2)
            now = time.monotonic()
            if stopping_since is None and (ctx.stop.is_set() or now >= deadline):
                if not ctx.stop.is_set():
                    time_is_up()
                else:
                    stream.stop()
                stopping_since = now
            elif stopping_since is not None and now - stopping_since > ENGINE_WIND_DOWN_S:
                if ctx.stop.is_set():
                    raise KeyboardInterrupt
                tally.error(f"the engine did not stop within {ENGINE_WIND_DOWN_S:g} s of the "
                            f"{tally.timed_out} s limit (a request in flight); it was abandoned")
                return
        if failure:
            raise failure[0]

    @staticmethod
    def _consume(stream: Any, tally: _Tally, ctx: RunContext, seeds: list[int], seed: int, events: Any) -> None:
        for event in _events(stream):
            if ctx.stop.is_set() and tally.stop_reason is None:
                stream.stop()  # the engine winds down its workers and ends with EngineFinished
            if isinstance(event, events.ScenarioFinished):
                tally.scenario(event.phase.value, event.recorder)
                where = f"seed {seed}, " if len(seeds) > 1 else ""
                ctx.progress(f"{where}{event.phase.value}: {event.recorder.label} "
                             f"({tally.requests} requests)")
            elif isinstance(event, events.NonFatalError):
                tally.error(f"{event.label}: {event.info.title}: {event.info.message}")
            elif isinstance(event, events.FatalError):
                raise EngineFailure(f"schemathesis stopped: {ctx.redactor.text(str(event.exception))}")
            elif isinstance(event, events.Interrupted):
                if tally.timed_out is None:  # Ctrl-C; the watchdog's stop is concluded as an error instead
                    raise KeyboardInterrupt
            elif isinstance(event, events.EngineFinished):
                tally.stop_reason = event.stop_reason.value


def _use_dynamic_auth(schema: Any, headers: Any) -> None:
    """Ask `headers()` before every request (it renews tokens itself), via schemathesis' auth providers."""

    class DynamicHeaders:
        def get(self, case: Any, context: Any) -> dict[str, str]:
            return dict(headers())

        def set(self, case: Any, data: dict[str, str], context: Any) -> None:
            case.headers = {**(case.headers or {}), **data}

    schema.auth(refresh_interval=None)(DynamicHeaders)


def _is_ok(result: Any) -> bool:
    try:
        result.ok()
    except Exception:
        return False
    return True


def _events(stream: Any) -> Iterator[Any]:
    yield from stream


def _conclude(tally: _Tally, operations: list[str], elapsed: float, config: dict[str, Any]) -> Result:
    req = tally.requirement
    checks = list(req.check.options["checks"])
    documented, links_defined = documented_interface(tally.ctx.profile.openapi_path)
    coverage = measure_coverage(operations, tally.operations_exercised, tally.statuses, tally.links_followed,
                                documented, links_defined)
    measurements: dict[str, Any] = {
        "engine": "schemathesis",
        "seed": tally.ctx.seed,
        "seeds": list(tally.new_findings_by_seed),
        "budget_s": config.get("max-time"),
        # Findings first seen with each seed (a finding seen again with a later seed counts once).
        "new_findings_by_seed": {str(s): n for s, n in tally.new_findings_by_seed.items()},
        "tier": tally.ctx.tier,
        "mode": config["generation"]["mode"],
        "phases": [p for p, v in config["phases"].items() if v["enabled"]],
        "max_examples": config["generation"]["max-examples"],
        "elapsed_s": round(elapsed, 2),
        "cases": tally.cases,
        "requests": tally.requests,
        "request_sequence_sha256": tally.sequence.hexdigest(),
        "checks_evaluated": {name: tally.evaluated.get(name, 0) for name in checks},
        "coverage": coverage,
        "stop_reason": tally.stop_reason,
        "evidence": str(Path("exchanges") / f"{req.id}.jsonl"),
    }
    findings = tuple(tally.findings.values())
    if findings:
        note = f"; also {len(tally.errors)} engine error(s)" if tally.errors else ""
        return Result(req.id, Outcome.FAIL, findings,
                      reason=f"{len(findings)} finding(s) over {tally.requests} requests{note}",
                      measurements={**measurements, "engine_errors": tally.errors})
    workflows_only = measurements["phases"] == ["stateful"]
    reason = _why_not_measured(tally, [] if workflows_only else operations, checks)
    if reason is None and workflows_only and not coverage["links_followed"]:
        reason = "no link of the interface was followed, so no workflow was tested"
    short = below_minimum(coverage, dict(req.check.options.get("min_coverage", {})))
    if reason is None and short:
        reason = f"coverage below the profile's minimum: {', '.join(short)}"
    if reason:
        return Result(req.id, Outcome.ERROR, (), reason=reason,
                      measurements={**measurements, "engine_errors": tally.errors})
    return Result(req.id, Outcome.PASS, (),
                  reason=f"no violation in {tally.requests} requests; coverage: {coverage_line(coverage)}",
                  measurements=measurements)


def _why_not_measured(tally: _Tally, operations: list[str], checks: list[str]) -> str | None:
    """A pass must be earned: every check ran, every operation answered, the engine finished."""
    if tally.timed_out is not None and tally.deadline:
        return (f"deadline: the engine was stopped at {tally.deadline} ({tally.requests} requests checked, none "
                "failed); a larger --budget gives it more time")
    if tally.timed_out:
        return (f"the engine had not finished after {tally.timed_out} s and was stopped "
                f"({tally.requests} requests checked, none failed); rerun with a larger --budget")
    if tally.errors:
        return "the engine could not test everything: " + "; ".join(tally.errors[:5])
    if tally.stop_reason == "server_unavailable":
        return "the target stopped responding during the run"
    if tally.requests == 0 or not tally.operations_exercised:
        return "no request got a response: nothing was measured"
    refused = sorted(op for op, seen in tally.statuses.items() if seen <= {401, 403})
    if refused:
        return (f"every answer from {len(refused)} operation(s) was 401/403, so nothing behind them was "
                f"tested: {', '.join(refused[:5])}; check the target's credentials")
    missing = sorted(set(operations) - tally.operations_exercised)
    if missing:
        why = "the time budget ran out" if tally.stop_reason == "max_time" else "nothing was generated"
        return f"{len(missing)} operation(s) never answered ({why}): {', '.join(missing[:5])}"
    never = [name for name in checks if not tally.evaluated.get(name)]
    if never:
        return f"check(s) never evaluated, nothing they apply to was generated: {', '.join(never)}"
    return None
