"""The run's time budget shared among requirements (conformance/session/budget.py): pure planning, no clock."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance.inputs.profiles import load_profile
from conformance.model import CheckKind, Outcome, Result
from conformance.session.budget import (
    HARNESS_PER_REQUEST_S,
    QUICK_BUDGET_S,
    SLACK,
    AnswerTime,
    Planner,
    default_budget_s,
    exposes_slowness,
    water_fill,
)

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


def planned_shares(plan: Planner, budget_s: float) -> dict[str, float]:
    """Each requirement's share in turn, every one using all of its share (the worst case for the later ones)."""
    shares: dict[str, float] = {}
    for index, req in enumerate(ACTIVE):
        shares[req.id] = plan.share_s(ACTIVE[index:], budget_s - sum(shares.values()))
    return shares


def test_the_requirements_that_expose_slowness_are_not_starved_by_the_schema_ones_before_them() -> None:
    """A target answering in 1.5 s: the seven schema requirements alone would need hours; the quick tier's budget
    still leaves the task-cost requirement (POLE-PERF-005) and the loads what they need."""
    plan = planner(1.5)
    assert sum(plan.need_s(r) for r in ACTIVE if r.check.kind is CheckKind.SCHEMA) > 3600
    shares = planned_shares(plan, QUICK_BUDGET_S)
    assert shares["POLE-PERF-005"] >= 2 * 1.5  # twice its max_seconds: a slow task is seen to be slow
    for req in ACTIVE:
        if req.check.kind is CheckKind.LOAD:  # its duration, the generator's start and the tasks in flight
            assert shares[req.id] >= float(req.check.options["duration_s"]) + 8 + 30
            assert exposes_slowness(req)
    assert exposes_slowness(BY_ID["POLE-PERF-005"]) and not exposes_slowness(BY_ID["POLE-REC-001"])
    schema = [shares[r.id] for r in ACTIVE if r.check.kind is CheckKind.SCHEMA]
    assert max(schema) - min(schema) < 1 and min(schema) > 5  # the expensive ones share the rest equally
    assert sum(shares.values()) == pytest.approx(QUICK_BUDGET_S)


def test_when_everything_fits_every_requirement_gets_more_than_it_needs() -> None:
    """Even when every requirement uses all of its share (the worst case for the later ones), each gets what it
    needs; the first gets SLACK times its need (a busy machine is slower than the estimate)."""
    plan = planner(0.01)
    shares = planned_shares(plan, QUICK_BUDGET_S)
    assert all(shares[r.id] >= plan.need_s(r) - 1e-6 for r in ACTIVE)
    assert shares[ACTIVE[0].id] == pytest.approx(SLACK * plan.need_s(ACTIVE[0]))
    assert sum(shares.values()) <= QUICK_BUDGET_S + 1e-6


def test_a_schema_pass_is_planned_as_its_costliest_member_not_the_sum_of_its_members() -> None:
    """One engine pass runs the union of its members' phases at the largest example budget any asks: it costs
    about what its costliest member would alone. Planned as the sum (seven members), its share behind a slow
    supplier left the contract requirements no time."""
    plan = planner(0.005)
    schema = [r for r in ACTIVE if r.check.kind is CheckKind.SCHEMA]
    assert len(schema) > 2
    costliest = max(plan.need_s(r) for r in schema)
    alone = plan.share_s([schema[0], *(r for r in ACTIVE if r not in schema)], QUICK_BUDGET_S)
    with_costliest = replace(schema[0], check=replace(schema[0].check, options={
        **schema[0].check.options, "max_examples": max(int(r.check.options.get("max_examples", 20)) for r in schema)}))
    as_costliest = plan.share_s([with_costliest, *(r for r in ACTIVE if r not in schema)], QUICK_BUDGET_S)
    together = plan.share_s(ACTIVE, QUICK_BUDGET_S, together=schema[1:])
    assert plan.need_s(with_costliest) == pytest.approx(costliest)
    assert together == pytest.approx(as_costliest)  # the pass is planned as its costliest member
    assert alone <= together < 2 * as_costliest  # not seven members' needs (and SLACK on them)


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
    assert plan.answer_s == pytest.approx(0.01 + HARNESS_PER_REQUEST_S)  # the probe's, and the harness's own time
    contract = BY_ID["POLE-REC-002"]
    plan.learn(contract, Result(contract.id, Outcome.PASS, measurements={"requests": 40, "elapsed_s": 60.0}))
    assert plan.answer_s == pytest.approx(1.5)
    schema = BY_ID["POLE-IF-001"]
    stopped = Result(schema.id, Outcome.ERROR, measurements={"requests": 2, "elapsed_s": 30.0, "max_examples": 20,
                                                             "stop_reason": None})
    plan.learn(schema, stopped)  # a stopped engine's count misses its last scenario: not an example's cost
    assert plan.answer_s == pytest.approx(1.5) and not plan.per_example
    plan.learn(schema, replace(stopped, measurements={**stopped.measurements,  # but the answers it read count
                                                      "answers": {"count": 20, "seconds": 30.0 - 20 * 0.008}}))
    assert plan.answer_s == pytest.approx(1.5)
    finished = replace(stopped, outcome=Outcome.PASS, measurements={**stopped.measurements, "requests": 1000,
                                                                     "stop_reason": "completed"})
    plan.learn(schema, finished)
    assert plan.per_example == [50.0]


def test_the_default_budget_fits_ci_for_quick_and_gives_full_schema_requirements_their_time() -> None:
    assert default_budget_s("quick", ACTIVE, {}) == QUICK_BUDGET_S < 600
    schema = sum(r.check.kind is CheckKind.SCHEMA for r in ACTIVE)
    assert default_budget_s("full", ACTIVE, {}) > 600 * schema
