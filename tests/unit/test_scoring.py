"""Scoring is pure: unit cases for each rule, and hypothesis properties over random outcomes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.model import (
    CheckKind,
    CheckSpec,
    Level,
    Outcome,
    Profile,
    ProfileStatus,
    Requirement,
    RequirementStatus,
    Result,
)
from conformance.scoring.scorecard import score_run

SCORECARD_SCHEMA = json.loads(
    resources.files("conformance.schemas").joinpath("scorecard.schema.json").read_text("utf-8"))
# Built once: jsonschema.validate() checks the schema and builds a validator on every call (300 examples a test).
SCORECARD = jsonschema.validators.validator_for(SCORECARD_SCHEMA)(SCORECARD_SCHEMA)


def req(rid: str, level: Level = Level.MUST, category: str = "interface", weight: float = 1.0,
        planned: bool = False) -> Requirement:
    return Requirement(id=rid, title=rid, level=level, category=category, weight=weight, rationale="r",
                       check=CheckSpec(CheckKind.SCHEMA, {"checks": ["not_a_server_error"]}),
                       status=RequirementStatus.PLANNED if planned else RequirementStatus.ACTIVE)


def profile(*reqs: Requirement) -> Profile:
    return Profile(id="p", version="1.0.0", title="P", status=ProfileStatus.ACTIVE, summary="s",
                   requirements=reqs, path="/x", openapi_path="/x/openapi.yaml", digest="sha256:" + "0" * 64)


def res(rid: str, outcome: Outcome) -> Result:
    return Result(rid, outcome)


def test_all_must_pass_is_conformant_100() -> None:
    p = profile(req("A-1"), req("A-2", weight=3))
    card = score_run(p, [res("A-1", Outcome.PASS), res("A-2", Outcome.PASS)])
    assert card["verdict"] == "conformant"
    assert card["score"] == 100.0
    SCORECARD.validate(card)


def test_failed_must_is_non_conformant_and_weighted() -> None:
    p = profile(req("A-1", weight=1), req("A-2", weight=3))
    card = score_run(p, [res("A-1", Outcome.FAIL), res("A-2", Outcome.PASS)])
    assert card["verdict"] == "non-conformant"
    assert card["score"] == 75.0
    assert "A-1" in card["verdict_reason"]


def test_error_is_incomplete_never_pass_or_fail() -> None:
    p = profile(req("A-1"), req("A-2"))
    card = score_run(p, [res("A-1", Outcome.ERROR), res("A-2", Outcome.PASS)])
    assert card["verdict"] == "incomplete"
    assert card["score"] == 50.0
    row = next(r for r in card["requirements"] if r["id"] == "A-1")
    assert row["outcome"] == "error"


def test_must_not_run_is_incomplete() -> None:
    p = profile(req("A-1"), req("A-2"))
    assert score_run(p, [res("A-1", Outcome.PASS)])["verdict"] == "incomplete"
    assert score_run(p, [res("A-1", Outcome.PASS), res("A-2", Outcome.SKIPPED)])["verdict"] == "incomplete"


def test_planned_requirements_are_listed_never_scored() -> None:
    p = profile(req("A-1"), req("B-1", category="records", planned=True, weight=50))
    card = score_run(p, [res("A-1", Outcome.PASS)])
    assert card["verdict"] == "conformant"
    assert card["score"] == 100.0
    planned = next(r for r in card["requirements"] if r["id"] == "B-1")
    assert planned["status"] == "planned" and planned["outcome"] == "not-run"
    assert "planned" in planned["reason"]
    assert card["categories"]["records"]["score"] is None
    assert card["counts"]["planned"] == 1


def test_should_failure_lowers_score_but_stays_conformant() -> None:
    p = profile(req("A-1"), req("A-2", level=Level.SHOULD))
    card = score_run(p, [res("A-1", Outcome.PASS), res("A-2", Outcome.FAIL)])
    assert card["verdict"] == "conformant"
    assert card["score"] == 50.0


def test_may_is_reported_apart() -> None:
    p = profile(req("A-1"), req("A-2", level=Level.MAY))
    card = score_run(p, [res("A-1", Outcome.PASS), res("A-2", Outcome.FAIL)])
    assert card["score"] == 100.0
    assert card["optional"] == {"passed": 0, "total": 1}


OUTCOMES = st.sampled_from(list(Outcome))
LEVELS = st.sampled_from(list(Level))


@dataclass(frozen=True)
class Scored:
    profile: Profile
    results: list[Result]
    waivers: dict[str, str]
    weights: dict[str, float]

    def card(self, results: list[Result] | None = None) -> dict[str, Any]:
        return score_run(self.profile, self.results if results is None else results, waivers=self.waivers,
                         category_weights=self.weights)


@st.composite
def scored_runs(draw: st.DrawFn) -> Scored:
    n = draw(st.integers(1, 8))
    reqs = [req(f"R-{i}", level=draw(LEVELS), category=draw(st.sampled_from(["a", "b"])),
                weight=draw(st.integers(1, 5)), planned=draw(st.booleans()) and i > 0) for i in range(n)]
    results = [res(r.id, draw(OUTCOMES)) for r in reqs if draw(st.booleans())]
    waivers = {r.id: f"waived {r.id}" for r in reqs if draw(st.integers(0, 3)) == 0}
    weights = draw(st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0])))
    return Scored(profile(*reqs), results, waivers, weights)


@settings(max_examples=300, database=None)
@given(scored_runs(), st.data())
def test_fixing_a_failure_never_lowers_the_score(run: Scored, data: st.DataObject) -> None:
    failing = [r for r in run.results if r.outcome not in (Outcome.PASS, Outcome.NOT_APPLICABLE)]
    if not failing:
        return
    fixed_id = data.draw(st.sampled_from([r.requirement_id for r in failing]))
    fixed = [res(r.requirement_id, Outcome.PASS) if r.requirement_id == fixed_id else r for r in run.results]
    before, after = run.card(), run.card(fixed)
    assert after["score"] >= before["score"]
    for name, category in after["categories"].items():
        if category["score"] is not None:
            assert category["score"] >= before["categories"][name]["score"]


@settings(max_examples=300, database=None)
@given(scored_runs())
def test_verdict_rules_hold(run: Scored) -> None:
    card = run.card()
    by_id = {r.requirement_id: r.outcome for r in run.results}
    counted = [r for r in run.profile.requirements if not r.planned and r.id not in run.waivers
               and by_id.get(r.id) is not Outcome.NOT_APPLICABLE]  # out of the verdict, like a waiver
    if any(r.level is Level.MUST and by_id.get(r.id) is Outcome.FAIL for r in counted):
        assert card["verdict"] == "non-conformant"
    if any(by_id.get(r.id) is Outcome.ERROR for r in counted):
        assert card["verdict"] != "conformant"
    if card["verdict"] == "conformant":
        assert all(by_id.get(r.id) is Outcome.PASS for r in counted if r.level is Level.MUST)
    assert 0.0 <= card["score"] <= 100.0
    SCORECARD.validate(card)


@settings(max_examples=300, database=None)
@given(scored_runs(), st.data())
def test_waived_requirements_are_excluded_from_score_and_verdict_and_listed(run: Scored,
                                                                             data: st.DataObject) -> None:
    card = run.card()
    listed = {w["id"]: w["reason"] for w in card["waivers"]}
    assert listed == run.waivers  # every waiver shown, with its reason; none invented
    for row in card["requirements"]:
        assert row["waived"] == run.waivers.get(row["id"])
    # whatever a waived requirement's outcome, the score and the verdict do not move
    changed = [r for r in run.results if r.requirement_id not in run.waivers]
    changed += [res(rid, data.draw(OUTCOMES)) for rid in run.waivers]
    other = run.card(changed)
    assert (other["score"], other["verdict"]) == (card["score"], card["verdict"])


def test_waived_failed_must_does_not_make_non_conformant_but_is_shown() -> None:
    p = profile(req("A-1"), req("A-2"))
    results = [res("A-1", Outcome.FAIL), res("A-2", Outcome.PASS)]
    card = score_run(p, results, waivers={"A-1": "not used by this force"})
    assert card["verdict"] == "conformant" and card["score"] == 100.0
    assert card["waivers"] == [{"id": "A-1", "reason": "not used by this force", "outcome": "fail"}]
    assert card["requirements"][0]["outcome"] == "fail"
    assert score_run(p, results)["verdict"] == "non-conformant"


def test_category_weights_multiply_requirement_weights() -> None:
    p = profile(req("A-1", category="interface"), req("B-1", category="records"))
    results = [res("A-1", Outcome.FAIL), res("B-1", Outcome.PASS)]
    assert score_run(p, results)["score"] == 50.0
    card = score_run(p, results, category_weights={"records": 3.0})
    assert card["score"] == 75.0
    assert card["categories"]["records"]["category_weight"] == 3.0
    assert score_run(p, results, category_weights={"interface": 0.0})["score"] == 100.0


def test_claims_compare_claimed_with_demonstrated() -> None:
    p = profile(req("A-1"), req("A-2", level=Level.MAY))
    card = score_run(p, [res("A-1", Outcome.PASS), res("A-2", Outcome.FAIL)],
                     claims={"profiles": ["p@1.0.0"], "requirements": ["A-2"]})
    assert card["claims"] == {"profile": True, "demonstrated": "conformant",
                              "requirements": [{"id": "A-2", "title": "A-2", "outcome": "fail", "met": False}]}
    assert score_run(p, [])["claims"] is None
    SCORECARD.validate(card)
