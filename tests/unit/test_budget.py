"""The run's time budget shared among requirements (conformance/session/budget.py): pure planning, no clock."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance.inputs.profiles import load_profile
from conformance.model import CheckKind, Outcome, Result
from conformance.session.budget import QUICK_BUDGET_S, AnswerTime, Planner, default_budget_s, water_fill

PROFILE = load_profile("pole-records@2.0.0")
BY_ID = {r.id: r for r in PROFILE.requirements}
ACTIVE = [r for r in PROFILE.requirements if not r.planned]


def planner(answer_s: float, budget_s: float = QUICK_BUDGET_S, tier: str = "quick") -> Planner:
    return Planner(budget_s, tier, 14, AnswerTime((answer_s, answer_s, answer_s)))


def test_water_fill_shares_in_proportion_when_everything_fits_and_fairly_when_not() -> None:
    assert water_fill([1, 3], 8) == [2, 6]
    assert water_fill([2, 2, 100, 100], 50) == [2, 2, 23, 23]  # the cheap ones get all they need
    assert sum(water_fill([5, 50, 500], 100)) == pytest.approx(100)
    assert water_fill([5, 5], 0) == [0, 0]


def test_the_requirements_that_expose_slowness_are_not_starved_by_the_schema_ones_before_them() -> None:
    """A target answering in 1.5 s: the seven schema requirements alone would need hours; the quick tier's budget
    still leaves the task-cost requirement (POLE-PERF-005) and the loads what they need."""
    plan = planner(1.5)
    shares = dict(zip([r.id for r in ACTIVE], water_fill([plan.need_s(r) for r in ACTIVE], QUICK_BUDGET_S),
                      strict=True))
    assert sum(plan.need_s(r) for r in ACTIVE if r.check.kind is CheckKind.SCHEMA) > 3600
    assert shares["POLE-PERF-005"] >= 2 * 1.5  # twice its max_seconds: a slow task is seen to be slow
    for req in ACTIVE:
        if req.check.kind is CheckKind.LOAD:
            assert shares[req.id] >= float(req.check.options["duration_s"]) + 8  # its duration and start-up
    assert sum(shares.values()) == pytest.approx(QUICK_BUDGET_S)
    assert plan.share_s(ACTIVE, QUICK_BUDGET_S) == pytest.approx(shares[ACTIVE[0].id])


def test_a_schema_requirement_gets_fewer_examples_when_its_share_cannot_pay_for_them() -> None:
    schema = BY_ID["POLE-IF-001"]
    assert planner(0.01).max_examples(schema, 60) is None  # a quick target: the profile's 20
    assert planner(1.5).max_examples(schema, 60) == 1  # never fewer than one
    slowish = planner(0.1)  # 56 requests an example (4 x 14 operations): 5.6 s an example
    examples = slowish.max_examples(schema, 60)
    assert examples is not None and 1 < examples < 20
    assert planner(1.5, tier="full").max_examples(schema, 60) is None  # the full tier generates for a time
    assert planner(1.5).max_examples(BY_ID["POLE-REC-001"], 1) is None  # contract requirements: not planned


def test_what_finished_requirements_measured_replaces_the_probe() -> None:
    plan = planner(0.01)
    contract = BY_ID["POLE-REC-002"]
    plan.learn(contract, Result(contract.id, Outcome.PASS, measurements={"requests": 40, "elapsed_s": 60.0}))
    assert plan.answer_s == pytest.approx(1.5)
    schema = BY_ID["POLE-IF-001"]
    stopped = Result(schema.id, Outcome.ERROR, measurements={"requests": 2, "elapsed_s": 30.0, "max_examples": 20,
                                                             "stop_reason": None})
    plan.learn(schema, stopped)  # a stopped engine's count misses its last scenario: not learned from
    assert plan.answer_s == pytest.approx(1.5) and not plan.per_example
    finished = replace(stopped, outcome=Outcome.PASS, measurements={**stopped.measurements, "requests": 1000,
                                                                     "stop_reason": "completed"})
    plan.learn(schema, finished)
    assert plan.per_example == [50.0]


def test_the_default_budget_fits_ci_for_quick_and_gives_full_schema_requirements_their_time() -> None:
    assert default_budget_s("quick", ACTIVE, {}) == QUICK_BUDGET_S < 600
    schema = sum(r.check.kind is CheckKind.SCHEMA for r in ACTIVE)
    assert default_budget_s("full", ACTIVE, {}) > 600 * schema
