"""One schemathesis run judges a group of schema requirements (a **pass**): run it with every seed of the tier,
within its time limit and a stop, and conclude each member's result from what it was judged on.

The same seed sends the same cases: the pass is deterministic as a single requirement's run was
(`request_sequence_sha256`, recorded for every member, is the pass's).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance.errors import EngineFailure
from conformance.model import Outcome, Result
from conformance.runners import RunContext
from conformance.runners.schema_adapter import Answered, BoundTrips, bound_in
from conformance.runners.schema_coverage import below_minimum, coverage_line, documented_interface
from conformance.runners.schema_coverage import coverage as measure_coverage
from conformance.runners.schema_plan import Member
from conformance.runners.schema_tally import JUDGED_ANSWERS, Judged, PassTally

__all__ = ["run_pass"]

# How long a stopped engine may take to wind down before the pass is concluded without it (its worker thread,
# blocked on a request, is left behind: it sends nothing more and ends with its request).
ENGINE_WIND_DOWN_S = 2.0


def _events(stream: Any) -> Iterator[Any]:
    yield from stream


def consume_within(stream: Any, tally: PassTally, ctx: RunContext, events: Any, deadline: float, limit: float,
                   where: str) -> None:
    """Consume the engine's events on a worker thread, so the pass's deadline and a stop are obeyed even while the
    engine waits on a request: past either, the engine is told to stop and given ENGINE_WIND_DOWN_S; if it has not
    ended by then, the pass goes on without it."""
    failure: list[BaseException] = []

    def consume() -> None:
        try:
            _consume(stream, tally, ctx, events, where)
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
                tally.timed_out = limit
            stream.stop()  # thread-safe: sets the engine's stop event
            stopping_since = now
        elif stopping_since is not None and now - stopping_since > ENGINE_WIND_DOWN_S:
            if ctx.stop.is_set():
                raise KeyboardInterrupt
            tally.error(f"the engine did not stop within {ENGINE_WIND_DOWN_S:g} s of the "
                        f"{tally.timed_out:g} s limit (a request in flight); it was abandoned")
            return
    if failure:
        raise failure[0]


def _consume(stream: Any, tally: PassTally, ctx: RunContext, events: Any, where: str) -> None:
    for event in _events(stream):
        if ctx.stop.is_set() and tally.stop_reason is None:
            stream.stop()  # the engine winds down its workers and ends with EngineFinished
        if isinstance(event, events.ScenarioFinished):
            tally.scenario(event.phase.value, event.recorder)
            ctx.progress(f"{where}{event.phase.value}: {event.recorder.label} ({tally.requests} requests)")
        elif isinstance(event, events.NonFatalError):
            bound = bound_in(event.value)
            tally.error(f"{event.label}: {bound.bound} bound exceeded: {bound}" if bound is not None
                        else f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            bound = bound_in(event.exception)
            raise EngineFailure(f"schemathesis stopped: {ctx.redactor.text(str(bound or event.exception))}")
        elif isinstance(event, events.Interrupted):
            if tally.timed_out is None:  # Ctrl-C; the watchdog's stop is concluded as an error instead
                raise KeyboardInterrupt
        elif isinstance(event, events.EngineFinished):
            tally.stop_reason = event.stop_reason.value


def run_pass(members: list[Member], ctx: RunContext, *, seeds: list[int], configure: Any, limit: float,
             load_schema: Any, deadline: str | None = None) -> dict[str, Result]:
    """Run one pass (every seed of the tier) and judge each member. `configure(seed)` is the engine config,
    `load_schema(config)` the loaded interface (with the engine's auth), `limit` the pass's time limit;
    `deadline` describes the run's deadline when that is what the limit is."""
    from schemathesis import engine
    from schemathesis.engine import events

    started = time.monotonic()
    answered = Answered.mark()
    trips = BoundTrips.mark()
    operations: list[str] = []
    config_data: dict[str, Any] = {}
    with ctx.run_dir.open_exchanges(members[0].id) as evidence:
        tally = PassTally(members, ctx, evidence)
        tally.deadline = deadline
        for seed in seeds:  # the full tier looks with several seeds; each finding names its seed
            config_data = configure(seed)
            schema = load_schema(config_data)
            operations = [op.ok().label for op in schema.get_all_operations() if _is_ok(op)]
            tally.seed = seed
            tally.stop_reason = None
            before = {rid: len(j.findings) for rid, j in tally.judged.items()}
            stream = engine.from_schema(schema).execute()
            where = f"seed {seed}, " if len(seeds) > 1 else ""
            consume_within(stream, tally, ctx, events, started + limit, limit, where)
            if ctx.stop.is_set():
                raise KeyboardInterrupt
            for rid, judged in tally.judged.items():
                judged.new_findings_by_seed[seed] = len(judged.findings) - before[rid]
            if tally.stop_reason == "server_unavailable" or tally.timed_out:
                break
    tripped = BoundTrips.since(trips)
    if tripped and tally.stop_reason == "server_unavailable":
        tally.error(f"{tripped[-1].bound} bound exceeded: {tripped[-1]}")
    elapsed = time.monotonic() - started
    count, seconds = Answered.since(answered)
    tally.answers = (count, seconds)
    shared = {"members": [m.id for m in members], "requests": tally.requests, "cases": tally.cases,
              "elapsed_s": round(elapsed, 2),
              # every answer the engine read, counted as read (a stopped engine's last scenario is not in
              # `requests`), and their time: what the run's time plan learns from
              "answers": {"count": count, "seconds": round(seconds, 3)},
              "evidence": str(Path("exchanges") / f"{members[0].id}.jsonl")}
    return {m.id: _conclude(tally, tally.judged[m.id], operations, elapsed, config_data, shared) for m in members}


def _is_ok(result: Any) -> bool:
    try:
        result.ok()
    except Exception:
        return False
    return True


def _conclude(tally: PassTally, judged: Judged, operations: list[str], elapsed: float, config: dict[str, Any],
              shared: dict[str, Any]) -> Result:
    member = judged.member
    req = member.requirement
    checks = list(member.checks)
    documented, links_defined = documented_interface(tally.ctx.profile.openapi_path)
    coverage = measure_coverage(operations, judged.operations_exercised, judged.statuses, judged.links_followed,
                                documented, links_defined)
    phases = config["phases"]
    measurements: dict[str, Any] = {
        "engine": "schemathesis",
        "seed": tally.ctx.seed,
        "seeds": list(judged.new_findings_by_seed),
        "budget_s": config.get("max-time"),
        # Findings first seen with each seed (a finding seen again with a later seed counts once).
        "new_findings_by_seed": {str(s): n for s, n in judged.new_findings_by_seed.items()},
        "tier": tally.ctx.tier,
        "mode": member.mode,
        "phases": list(member.phases),
        # The example budget each of its phases was generated with (the pass's: the largest any member asked).
        "max_examples": {p: phases[p]["generation"]["max-examples"] for p in member.phases
                         if "max-examples" in phases[p]["generation"]},
        "elapsed_s": round(elapsed, 2),
        # The cases and requests this requirement was judged on (its phases, its generation mode).
        "cases": judged.cases,
        "requests": judged.requests,
        "request_sequence_sha256": tally.sequence.hexdigest(),
        "checks_evaluated": {name: judged.evaluated.get(name, 0) for name in checks},
        # of those, the answers in the class each check judges (a pass needs at least one: `_why_not_measured`)
        "answers_judged": {name: judged.answers_judged.get(name, 0) for name in checks},
        "coverage": coverage,
        "stop_reason": tally.stop_reason,
        "pass": shared,
        "evidence": shared["evidence"],
    }
    findings = tuple(judged.findings.values())
    if findings or judged.also:
        notes = [f"{len(findings)} finding(s) over {judged.requests} requests"] if findings else []
        notes += [f"{n} failure(s) reported under {rid}'s finding (the same request breaks this requirement)"
                  for rid, n in sorted(judged.also.items())]
        if tally.errors:
            notes.append(f"also {len(tally.errors)} engine error(s)")
        return Result(req.id, Outcome.FAIL, findings, reason="; ".join(notes),
                      measurements={**measurements, "engine_errors": tally.errors})
    workflows_only = list(member.phases) == ["stateful"]
    reason = _why_not_measured(tally, judged, [] if workflows_only else operations, checks)
    if reason is None and workflows_only and not coverage["links_followed"]:
        reason = "no link of the interface was followed, so no workflow was tested"
    short = below_minimum(coverage, dict(req.check.options.get("min_coverage", {})))
    if reason is None and short:
        reason = f"coverage below the profile's minimum: {', '.join(short)}"
    if reason:
        return Result(req.id, Outcome.ERROR, (), reason=reason,
                      measurements={**measurements, "engine_errors": tally.errors})
    return Result(req.id, Outcome.PASS, (),
                  reason=f"no violation in {judged.requests} requests; coverage: {coverage_line(coverage)}",
                  measurements=measurements)


def _unreported(tally: PassTally, judged: Judged) -> str:
    """What a stopped engine read beyond what it reported: it reports an operation's cases only when that
    operation's test ends, so the answers of the test it was in are read (and timed) but never judged."""
    count, seconds = tally.answers
    if count <= judged.requests:
        return ""
    return (f"; it had read {count} answers, {seconds / count:.2f} s each on average, but reports an operation's "
            "cases only when that operation's test ends")


def _why_not_measured(tally: PassTally, judged: Judged, operations: list[str], checks: list[str]) -> str | None:
    """A pass must be earned: every check ran, every operation answered, the engine finished."""
    if tally.timed_out and tally.deadline:
        return (f"deadline: the engine was stopped at {tally.deadline} ({judged.requests} requests checked, none "
                f"failed{_unreported(tally, judged)}); a larger --budget gives it more time")
    if tally.timed_out:
        return (f"the engine had not finished after {tally.timed_out:g} s and was stopped "
                f"({judged.requests} requests checked, none failed{_unreported(tally, judged)}); rerun with a "
                "larger --budget")
    if tally.errors:
        return "the engine could not test everything: " + "; ".join(tally.errors[:5])
    if tally.stop_reason == "server_unavailable":
        return "the target stopped responding during the run"
    if judged.requests == 0 or not judged.operations_exercised:
        return "no request got a response: nothing was measured"
    refused = sorted(op for op, seen in judged.statuses.items() if seen <= {401, 403})
    if refused:
        return (f"every answer from {len(refused)} operation(s) was 401/403, so nothing behind them was "
                f"tested: {', '.join(refused[:5])}; check the target's credentials")
    missing = sorted(set(operations) - judged.operations_exercised)
    if missing:
        why = "the time budget ran out" if tally.stop_reason == "max_time" else "nothing was generated"
        return f"{len(missing)} operation(s) never answered ({why}): {', '.join(missing[:5])}"
    never = [name for name in checks if not judged.evaluated.get(name)]
    if never:
        return f"check(s) never evaluated, nothing they apply to was generated: {', '.join(never)}"
    blind = [name for name in checks if not judged.answers_judged.get(name)]
    if blind:  # evaluated, but only on answers it says nothing about: a pass would claim what was not seen
        return "; ".join(f"{name} saw no {JUDGED_ANSWERS.get(name, 'answer it judges')} in {judged.requests} "
                         "requests, so what it checks was never observed" for name in blind)
    if "operation_implemented" in checks:
        unshown = sorted(set(operations) - judged.shown_implemented)
        if unshown:
            return (f"{len(unshown)} operation(s) never answered a valid request below 500 with a status the "
                    f"interface documents, so their implementation was not observed: {', '.join(unshown[:5])}")
    return None
