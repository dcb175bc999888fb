"""The run's time budget, and each requirement's share of it (its deadline).

A tier has a wall-clock budget for the whole run (`--budget` changes it): the quick tier's fits a CI job, the
full tier's gives each schema requirement its generation time. Before the first requirement the harness times a
few requests of the preflight kind (`AnswerTime`); after each requirement it learns from what that requirement
measured (its requests and their time). Each requirement's share is planned when it starts, from the time left
and what every requirement still to run is expected to need:

- what a requirement needs is estimated from its kind and the target's answer time: a schema requirement its
  examples times the requests an example costs on this interface; a contract requirement a few dozen requests
  (and at least twice its `max_seconds`, so a slow task is seen to be slow); a load requirement its duration
  and the generator's start and stop;
- when everything still to run fits, a requirement gets its proportion of the time left, or up to SLACK times its
  need when that leaves the ones after it what they need (estimates are rough; time not used passes on). When
  not, the requirements that expose slowness (loads, and contract requirements bounding a task's cost with
  `max_seconds`/`max_requests`) are reserved what they need first, and the others share the rest max-min fair
  ("water-filling"): every requirement needing less than an equal level gets all it needs, and the expensive
  ones share what is left equally. So the property-based schema requirements before them never starve
  the ones that would show a slow supplier, and time one requirement does not use passes to the ones after it;
- a schema requirement whose share cannot pay for its examples at the measured answer time is planned with
  fewer (`max_examples`), recorded in its result.

Pure: no clock, no I/O; `conformance.session.execute` feeds it times and results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.model import CheckKind, Outcome, Requirement, Result

__all__ = ["QUICK_BUDGET_S", "AnswerTime", "Planner", "default_budget_s", "exposes_slowness", "water_fill"]

QUICK_BUDGET_S = 480  # the quick tier's whole run: fits a CI job; a slow supplier's verdict comes within 10 minutes
FULL_SCHEMA_S = 630  # the full tier: a schema requirement's generation time (600 s, runners.schema) and its wind-down
FULL_OTHER_S = 120  # the full tier: a contract requirement
LOAD_OVERHEAD_S = 12.0  # a load's start, stop and reading of its results, beyond its duration
# After its duration a load waits for the tasks in flight (at most 3 request timeouts, runners.load). Behind a
# supplier answering in about 1 s (writes of 1.5 s) the pole-records loads took 36 to 48 s beyond their duration.
LOAD_TAIL_REQUESTS = 40
LOAD_TAIL_MAX_S = 30.0
FULL_LOAD_FACTOR = 6  # the full tier's loads run this many times their duration (runners.load)
SCHEMA_OVERHEAD_S = 2.0  # loading the interface, starting the engine
REQUESTS_PER_EXAMPLE_PER_OPERATION = 4.0  # a first guess (pole-records: 3 to 4); learned from finished runs
DEFAULT_EXAMPLES = 20  # runners.schema's default max_examples
SCENARIO_REQUESTS = 15
PYTHON_CHECK_REQUESTS = 60
MIN_ANSWER_S = 0.005
# When everything fits, a requirement may take up to this many times its estimated need (if the needs of the ones
# after it still fit): estimates are rough, and a busy machine is slower (pole-records' IF-001: 9 s on a quiet
# 2-core machine, 34 s on a busy one). Time it does not use passes on.
SLACK = 3.0
# How long stopping a requirement at its deadline may take: a schema engine stops between cases (runners.schema
# waits up to 2 s), an abandoned Python check gets 1 s (runners.checks), a load's processes are stopped.
OVERSHOOT_S = {CheckKind.SCHEMA: 1.5, CheckKind.CONTRACT: 1.0, CheckKind.LOAD: 1.0}
# What the harness itself spends on a request beyond the target's answer (generating, checking, recording): the
# probe sees only the answer. pole-records' clean quick run: 1,154 schema requests in 9.4 s on a busy 2-core machine.
HARNESS_PER_REQUEST_S = 0.008


@dataclass(frozen=True)
class AnswerTime:
    """How long the target took to answer the harness's probe: `samples` (seconds each)."""

    samples: tuple[float, ...]

    @property
    def median_s(self) -> float:
        ordered = sorted(self.samples)
        return ordered[len(ordered) // 2] if ordered else MIN_ANSWER_S

    def to_dict(self) -> dict[str, Any]:
        return {"samples_s": [round(s, 4) for s in self.samples], "median_s": round(self.median_s, 4)}


def default_budget_s(tier: str, requirements: Sequence[Requirement], load: dict[str, Any]) -> int:
    """The tier's budget for a run of `requirements`: QUICK_BUDGET_S for quick; for full, each schema
    requirement's generation time and each other requirement's allowance, summed."""
    if tier == "quick":
        return QUICK_BUDGET_S
    total = 0.0
    for req in requirements:
        if req.check.kind is CheckKind.SCHEMA:
            total += FULL_SCHEMA_S
        elif req.check.kind is CheckKind.LOAD:
            total += _load_need(req, tier, load)
        else:
            total += FULL_OTHER_S
    return math.ceil(total)


def water_fill(needs: Sequence[float], available: float) -> list[float]:
    """Share `available` among `needs`: in proportion when all fit, else max-min fair (each gets min(need, level),
    the level set so the shares add up to `available`)."""
    total = sum(needs)
    if not needs or available <= 0:
        return [0.0 for _ in needs]
    if total <= available:
        return [available * need / total if total else available / len(needs) for need in needs]
    left, count = available, len(needs)
    for need in sorted(needs):
        level = left / count
        if need > level:
            break
        left -= need
        count -= 1
    else:
        level = math.inf
    return [min(need, level) for need in needs]


def _load_need(req: Requirement, tier: str, load: dict[str, Any], request_s: float = 0.0) -> float:
    """A load's duration, the generator's start and stop, and the tasks still in flight when it ends."""
    duration = float(load.get("duration_s") or req.check.options.get("duration_s", 10))
    if tier == "full" and not load.get("duration_s"):
        duration *= FULL_LOAD_FACTOR
    return duration + LOAD_OVERHEAD_S + min(LOAD_TAIL_MAX_S, LOAD_TAIL_REQUESTS * request_s)


def exposes_slowness(req: Requirement) -> bool:
    """A load, or a contract requirement bounding a task's cost: reserved its need before the others share."""
    options = req.check.options
    return req.check.kind is CheckKind.LOAD or (
        req.check.kind is CheckKind.CONTRACT
        and (options.get("max_seconds") is not None or options.get("max_requests") is not None))


@dataclass
class Planner:
    """Plans each requirement's share of what is left of `budget_s`; learns the target's answer time and the
    interface's requests per example from the results."""

    budget_s: float
    tier: str
    operations: int  # documented operations of the interface
    probe: AnswerTime
    load: dict[str, Any] = field(default_factory=dict)
    requests: int = 0  # seen in finished requirements
    seconds: float = 0.0
    per_example: list[float] = field(default_factory=list)  # requests per example of schema runs that finished

    @property
    def answer_s(self) -> float:
        """What a request costs the run: what the finished requirements measured (the harness's time included)
        once they sent enough, else the probe's answer time and HARNESS_PER_REQUEST_S."""
        if self.requests >= 20:
            return max(MIN_ANSWER_S, self.seconds / self.requests)
        return max(MIN_ANSWER_S, self.probe.median_s) + HARNESS_PER_REQUEST_S

    def _requests_per_example(self) -> float:
        if self.per_example:
            return sum(self.per_example) / len(self.per_example)
        return REQUESTS_PER_EXAMPLE_PER_OPERATION * max(1, self.operations)

    def _examples(self, req: Requirement) -> int:
        factor = 5 if self.tier == "full" else 1
        return int(req.check.options.get("max_examples", DEFAULT_EXAMPLES)) * factor

    def need_s(self, req: Requirement) -> float:
        """The time `req` is expected to need against this target."""
        kind, options = req.check.kind, req.check.options
        if kind is CheckKind.LOAD:
            return _load_need(req, self.tier, self.load, self.answer_s)
        if kind is CheckKind.SCHEMA:
            if self.tier == "full":
                return float(FULL_SCHEMA_S)
            return SCHEMA_OVERHEAD_S + self._examples(req) * self._requests_per_example() * self.answer_s
        requests = PYTHON_CHECK_REQUESTS if "python" in options else SCENARIO_REQUESTS
        need = 1.0 + requests * self.answer_s * (5 if self.tier == "full" else 1)
        if options.get("max_seconds") is not None:
            need = max(need, 2 * float(options["max_seconds"]) + 1)
        return need

    def share_s(self, todo: Sequence[Requirement], left_s: float,
                together: Sequence[Requirement] = ()) -> float:
        """The share of `left_s` for `todo[0]`, the requirement starting now, given the ones after it: in
        proportion to the needs when all fit; otherwise the requirements that expose slowness are reserved their
        needs (shared fairly among themselves if even those do not fit) and the others share the rest fairly.
        `together`: requirements after it measured in the same run (one schema engine pass): the pass needs what
        its costliest member would alone (it runs the union of their phases, each at the largest example budget
        any of them asks), not their sum: summed, seven members planned a pass 7 times its cost, and the slack
        on that let it spend 360 s of a 480 s budget behind a supplier whose writes take 1.5 s."""
        joined = {req.id for req in together}
        todo = [todo[0], *(req for req in todo[1:] if req.id not in joined)]
        needs = [self.need_s(req) for req in todo]
        needs[0] = max([needs[0], *(self.need_s(req) for req in together)])
        if sum(needs) <= left_s:  # all fit: its proportion, at least SLACK times its need if the others' needs allow
            proportional = water_fill(needs, left_s)[0]
            return min(left_s - sum(needs[1:]), max(proportional, SLACK * needs[0]))
        first = exposes_slowness(todo[0])
        reserved = [need for req, need in zip(todo, needs, strict=True) if exposes_slowness(req)]
        if first:  # what it needs; only if even the reserved needs do not fit, a fair share of them
            return needs[0] if sum(reserved) <= left_s else water_fill(reserved, left_s)[0]
        others = [need for req, need in zip(todo, needs, strict=True) if not exposes_slowness(req)]
        return water_fill(others, max(0.0, left_s - sum(reserved)))[0]

    @staticmethod
    def deadline_s(req: Requirement, share_s: float) -> float:
        """When to stop `req` within its share: earlier by what stopping it may take (a schema engine winds down
        between cases, an abandoned Python check gets a grace), so the next requirement's time is not eaten."""
        return share_s - min(share_s / 4, OVERSHOOT_S[req.check.kind])

    def max_examples(self, req: Requirement, share_s: float) -> int | None:
        """Fewer examples than the profile's when the share cannot pay for them at the measured answer time
        (None: the profile's)."""
        if req.check.kind is not CheckKind.SCHEMA or self.tier == "full":
            return None  # the full tier generates for its time, not a count
        wanted = self._examples(req)
        affordable = int((share_s - SCHEMA_OVERHEAD_S) / (self._requests_per_example() * self.answer_s))
        return max(1, affordable) if affordable < wanted else None

    def learn(self, req: Requirement, result: Result) -> None:
        """Take in what a requirement measured: its requests and their time (a schema run: the answers its engine
        read, even when it was stopped), and from a schema run that ended by itself the requests an example cost
        (a stopped engine's last scenario is not in its `requests`)."""
        m = result.measurements or {}
        requests, elapsed = m.get("requests"), m.get("elapsed_s")
        if req.check.kind is CheckKind.LOAD or not isinstance(requests, int) or not isinstance(elapsed, float | int):
            return
        if req.check.kind is CheckKind.SCHEMA:
            engine_run = m.get("pass") or {}  # the engine pass that measured it (and others): its whole cost
            requests, elapsed = engine_run.get("requests", requests), engine_run.get("elapsed_s", elapsed)
            if not isinstance(requests, int) or not isinstance(elapsed, float | int):
                return
            completed = result.outcome in (Outcome.PASS, Outcome.FAIL) and m.get("stop_reason") == "completed"
            answers = engine_run.get("answers") or m.get("answers") or {}  # every answer the engine read
            if completed and requests > 0:  # the whole cost: the engine's own time included
                self.requests += requests
                self.seconds += float(elapsed)
            elif answers.get("count"):  # stopped: what it read, and the harness's usual time on top
                self.requests += int(answers["count"])
                self.seconds += float(answers["seconds"]) + HARNESS_PER_REQUEST_S * int(answers["count"])
            examples = m.get("max_examples")
            if completed and isinstance(examples, int) and examples > 0:
                self.per_example.append(requests / examples)
        elif requests > 0:  # a contract requirement cut short counts its request in flight as sent: a pessimist's
            self.requests += requests
            self.seconds += float(elapsed)
