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
- when everything still to run fits, the time left is shared in proportion to the needs (each gets more than it
  needs); when it does not, the time is shared max-min fair ("water-filling"): every requirement needing less
  than an equal level gets all it needs, and the expensive ones share the rest equally. So the cheap
  requirements that expose slowness (a task's cost, latency under load) are never starved by the expensive
  property-based ones before them, and time one requirement does not use passes to the ones after it;
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

__all__ = ["QUICK_BUDGET_S", "AnswerTime", "Planner", "default_budget_s", "water_fill"]

QUICK_BUDGET_S = 480  # the quick tier's whole run: fits a CI job; a slow supplier's verdict comes within 10 minutes
FULL_SCHEMA_S = 630  # the full tier: a schema requirement's generation time (600 s, runners.schema) and its wind-down
FULL_OTHER_S = 120  # the full tier: a contract requirement
LOAD_OVERHEAD_S = 12.0  # a load's start, stop and reading of its results, beyond its duration
FULL_LOAD_FACTOR = 6  # the full tier's loads run this many times their duration (runners.load)
SCHEMA_OVERHEAD_S = 2.0  # loading the interface, starting the engine
REQUESTS_PER_EXAMPLE_PER_OPERATION = 4.0  # a first guess (pole-records: 3 to 4); learned from finished runs
DEFAULT_EXAMPLES = 20  # runners.schema's default max_examples
SCENARIO_REQUESTS = 15
PYTHON_CHECK_REQUESTS = 60
MIN_ANSWER_S = 0.005


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


def _load_need(req: Requirement, tier: str, load: dict[str, Any]) -> float:
    duration = float(load.get("duration_s") or req.check.options.get("duration_s", 10))
    if tier == "full" and not load.get("duration_s"):
        duration *= FULL_LOAD_FACTOR
    return duration + LOAD_OVERHEAD_S


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
        """The target's answer time: what the finished requirements measured once they sent enough, else the
        probe's."""
        if self.requests >= 20:
            return max(MIN_ANSWER_S, self.seconds / self.requests)
        return max(MIN_ANSWER_S, self.probe.median_s)

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
            return _load_need(req, self.tier, self.load)
        if kind is CheckKind.SCHEMA:
            if self.tier == "full":
                return float(FULL_SCHEMA_S)
            return SCHEMA_OVERHEAD_S + self._examples(req) * self._requests_per_example() * self.answer_s
        requests = PYTHON_CHECK_REQUESTS if "python" in options else SCENARIO_REQUESTS
        need = 1.0 + requests * self.answer_s * (5 if self.tier == "full" else 1)
        if options.get("max_seconds") is not None:
            need = max(need, 2 * float(options["max_seconds"]) + 1)
        return need

    def share_s(self, todo: Sequence[Requirement], left_s: float) -> float:
        """The share of `left_s` for `todo[0]`, the requirement starting now, given the ones after it."""
        return water_fill([self.need_s(req) for req in todo], left_s)[0]

    def max_examples(self, req: Requirement, share_s: float) -> int | None:
        """Fewer examples than the profile's when the share cannot pay for them at the measured answer time
        (None: the profile's)."""
        if req.check.kind is not CheckKind.SCHEMA or self.tier == "full":
            return None  # the full tier generates for its time, not a count
        wanted = self._examples(req)
        affordable = int((share_s - SCHEMA_OVERHEAD_S) / (self._requests_per_example() * self.answer_s))
        return max(1, affordable) if affordable < wanted else None

    def learn(self, req: Requirement, result: Result) -> None:
        """Take in what a requirement measured: its requests and their time, and for a schema run the requests an
        example cost. A contract requirement counts every request it sent, even when cut short; a schema run only
        when the engine ended by itself (a stopped engine's last scenario is not counted in its requests)."""
        m = result.measurements or {}
        requests, elapsed = m.get("requests"), m.get("elapsed_s")
        if req.check.kind is CheckKind.LOAD or not isinstance(requests, int) or not isinstance(elapsed, float | int):
            return
        schema = req.check.kind is CheckKind.SCHEMA
        if schema and (result.outcome not in (Outcome.PASS, Outcome.FAIL) or m.get("stop_reason") != "completed"):
            return
        if requests > 0:
            self.requests += requests
            self.seconds += float(elapsed)
        examples = m.get("max_examples")
        if schema and isinstance(examples, int) and examples > 0:
            self.per_example.append(requests / examples)
