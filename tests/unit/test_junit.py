"""JUnit XML reporter: counts, outcome mapping, escaping, and validity against a published JUnit XSD.

The XSD is the Jenkins xUnit plugin's junit-10.xsd as shipped in pytest's sdist (tests/data/junit/SOURCE.md).
Scorecards come from the real scoring of the real pole-records profile with synthetic results: no network.
"""

from __future__ import annotations

import copy
import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from conformance.inputs.profiles import load_profile
from conformance.model import Finding, Outcome, Profile, RequirementStatus, Result
from conformance.reporters.junit import render_junit
from conformance.scoring.scorecard import Verdict, score_run

XSD = Path(__file__).resolve().parents[1] / "data" / "junit" / "junit-10.xsd"
CURL = "curl -X POST 'http://127.0.0.1:8000/persons?q=<a>&b=1' -H \"X-Note: it's \x1b[31mred\" -d '{\"x\": \"&amp;\"}'"
RUN = {"id": "20261124T100000-pole-records", "seed": 20261124, "tier": "quick", "harness_version": "0.3.0",
       "started_at": "2026-11-24T10:00:00.000Z", "finished_at": "2026-11-24T10:01:02.500Z"}
TARGET = {"name": "reference", "supplier": "Acme & Sons <Ltd>\x07", "base_url": "http://127.0.0.1:8000"}


def results() -> list[Result]:
    """A pass, a fail with two findings, an error and a skip; everything else is not run or planned."""
    findings = (
        Finding("POLE-REC-002", "round_trip", "Field changed on read back", "dob: sent 1990-01-02\ngot 1990-02-01",
                operation="GET /persons/{id}", curl=CURL, status_code=200, occurrences=3, code="field-changed",
                seed=20261124),
        Finding("POLE-REC-002", "round_trip", "Flag dropped", "flags: [] (expected 1)", operation="POST /persons",
                status_code=201, seed=20261124),
    )
    return [
        Result("POLE-IF-001", Outcome.PASS),
        Result("POLE-REC-002", Outcome.FAIL, findings=findings, reason="2 of 5 fields changed"),
        Result("POLE-IF-003", Outcome.ERROR, reason="connection refused by 127.0.0.1:8000"),
        Result("POLE-REC-003", Outcome.SKIPPED, reason="skipped by --skip"),
    ]


RESULT_IDS = {r.requirement_id for r in results()}


def not_run_ids(profile: Profile) -> list[str]:
    """Active requirements `results()` leaves without a result, in profile order."""
    return [r.id for r in profile.requirements if not r.planned and r.id not in RESULT_IDS]


def with_planned(profile: Profile, requirement_id: str) -> Profile:
    """The profile with one more requirement `planned`, so a planned row exists whatever the real profile holds."""
    return dataclasses.replace(profile, requirements=tuple(
        dataclasses.replace(r, status=RequirementStatus.PLANNED) if r.id == requirement_id else r
        for r in profile.requirements))


def score(profile: Profile | None = None, **extra: Any) -> dict[str, Any]:
    return score_run(profile or load_profile("pole-records@1.0.0"), results(), run=dict(RUN), target=dict(TARGET),
                     **extra)


@pytest.fixture(scope="module")
def scorecard() -> dict[str, Any]:
    return score()


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def parse(card: dict[str, Any]) -> ET.Element:
    return ET.fromstring(render_junit(card).encode("utf-8"))


def case(root: ET.Element, requirement_id: str) -> ET.Element:
    found = [c for c in root.iter("testcase") if c.get("name", "").split(" ", 1)[0] == requirement_id]
    assert len(found) == 1, requirement_id
    return found[0]


def test_valid_against_published_junit_xsd(scorecard: dict[str, Any], schema: xmlschema.XMLSchema) -> None:
    schema.validate(render_junit(scorecard))
    waived = copy.deepcopy(scorecard)
    waived["requirements"][0]["waived"] = "not in lot 2"
    schema.validate(render_junit(waived))
    assert schema.is_valid(render_junit(score_run(load_profile("pole-records@1.0.0"), [])))


def test_the_xsd_catches_invalid_documents(schema: xmlschema.XMLSchema) -> None:
    """So that the validity test above can fail: a suite without its required counts is refused."""
    assert not schema.is_valid("<testsuites><testsuite name='x'><testcase name='a'/></testsuite></testsuites>")


def test_one_suite_with_counts_matching_testcases(scorecard: dict[str, Any]) -> None:
    profile = load_profile("pole-records@1.0.0")
    root = parse(scorecard)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    cases = suite.findall("testcase")
    total = len(profile.requirements)
    assert len(scorecard["requirements"]) == total
    assert len(cases) == total + 1  # one per requirement, and the verdict's
    assert suite.get("name") == "pole-records@1.0.0"
    assert scorecard["verdict"] == Verdict.NON_CONFORMANT  # a MUST failed: the verdict testcase is a failure too
    planned = sum(1 for r in profile.requirements if r.planned)
    skipped = 1 + len(not_run_ids(profile)) + planned  # the skip, every requirement not run, every planned one
    assert skipped == total - 3  # everything but the pass, the fail and the error
    # the fail and the verdict are failures; the error is an error
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        str(total + 1), "2", "1", str(skipped))
    assert int(suite.get("failures", "")) == sum(1 for c in cases if c.find("failure") is not None)
    assert int(suite.get("errors", "")) == sum(1 for c in cases if c.find("error") is not None)
    assert int(suite.get("skipped", "")) == sum(1 for c in cases if c.find("skipped") is not None)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (str(total + 1), "2", "1")
    assert suite.get("timestamp") == RUN["started_at"]
    assert suite.get("time") == root.get("time") == "62.500"


def test_names_put_the_id_first_and_classname_is_profile_and_category(scorecard: dict[str, Any]) -> None:
    root = parse(scorecard)
    passed = case(root, "POLE-IF-001")
    assert passed.get("name") == "POLE-IF-001 Every response conforms to the interface"
    assert passed.get("classname") == "pole-records.interface"
    assert len(passed) == 0  # a pass has nothing inside
    assert case(root, "POLE-REC-002").get("classname") == "pole-records.records"


def test_properties_carry_the_run(scorecard: dict[str, Any]) -> None:
    props = {p.get("name"): p.get("value") for p in parse(scorecard).iter("property")}
    assert props["verdict"] == "non-conformant"
    assert props["score"] == str(scorecard["score"])
    assert props["seed"] == "20261124"
    assert props["tier"] == "quick"
    assert props["run_id"] == RUN["id"]
    assert props["harness_version"] == "0.3.0"
    assert props["supplier"] == "Acme & Sons <Ltd>"  # escaped on the way out, control character stripped
    assert props["base_url"] == "http://127.0.0.1:8000"


def test_failure_lists_every_finding_with_its_reproduction(scorecard: dict[str, Any]) -> None:
    failure = case(parse(scorecard), "POLE-REC-002").find("failure")
    assert failure is not None
    assert failure.get("type") == "field-changed"
    assert failure.get("message") == "Field changed on read back (+1 more finding(s))"
    text = failure.text or ""
    for expected in ("Field changed on read back (x3)", "Flag dropped (x1)", "operation: GET /persons/{id}",
                     "operation: POST /persons", "status code: 200", "status code: 201", "seed: 20261124",
                     "got 1990-02-01", "2 of 5 fields changed"):
        assert expected in text, expected
    # the curl survives escaping exactly, less the control character XML cannot carry
    assert CURL.replace("\x1b", "") in text
    assert "\x1b" not in text


def test_markup_in_text_is_escaped_not_interpreted(scorecard: dict[str, Any]) -> None:
    xml = render_junit(scorecard)
    assert "q=&lt;a&gt;&amp;b=1" in xml
    assert "&amp;amp;" in xml  # a literal "&amp;" in the body is escaped again
    assert "Acme &amp; Sons &lt;Ltd&gt;" in xml
    assert "<a>" not in xml


def test_control_characters_and_lone_surrogates_are_stripped(scorecard: dict[str, Any],
                                                               schema: xmlschema.XMLSchema) -> None:
    card = copy.deepcopy(scorecard)
    row = next(r for r in card["requirements"] if r["id"] == "POLE-IF-003")
    row["reason"] = "bad\x00byte\x0b and \ud800 surrogate\ttab"
    row["title"] = "title\x01"
    xml = render_junit(card)
    xml.encode("utf-8")  # would raise on a lone surrogate
    error = case(ET.fromstring(xml), "POLE-IF-003")
    assert error.get("name") == "POLE-IF-003 title"
    node = error.find("error")
    assert node is not None
    assert node.get("message") == "badbyte and  surrogate\ttab"
    schema.validate(xml)


def test_error_and_skipped_carry_their_reasons() -> None:
    profile = load_profile("pole-records@1.0.0")
    not_run, made_planned = not_run_ids(profile)[:2]
    card = score(with_planned(profile, made_planned))
    root = parse(card)
    error = case(root, "POLE-IF-003").find("error")
    assert error is not None and error.get("message") == "connection refused by 127.0.0.1:8000"
    assert case(root, "POLE-IF-003").find("failure") is None  # an error is never a failure
    skipped = case(root, "POLE-REC-003").find("skipped")
    assert skipped is not None and skipped.get("message") == "skipped by --skip"
    not_run_node = case(root, not_run).find("skipped")
    assert not_run_node is not None and not_run_node.get("message") == "not run"
    planned_ids = [r["id"] for r in card["requirements"] if r["status"] == "planned"]
    assert made_planned in planned_ids
    for planned_id in planned_ids:  # the profile's own planned requirements, and the one made planned here
        planned = case(root, planned_id).find("skipped")
        assert planned is not None and (planned.get("message") or "").startswith("planned"), planned_id


def test_waived_requirement_is_skipped_never_a_failure(scorecard: dict[str, Any]) -> None:
    card = score(waivers={"POLE-REC-002": "lot 2 buyers do not need round trips"})
    # with its only failed MUST waived the run is incomplete (POLE-IF-003 errored), no longer non-conformant
    assert card["verdict"] == Verdict.INCOMPLETE
    root = parse(card)
    node = case(root, "POLE-REC-002")
    assert node.find("failure") is None
    skipped = node.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "waived: lot 2 buyers do not need round trips (measured: fail)"
    suite = root.find("testsuite")
    unwaived = parse(scorecard).find("testsuite")
    assert suite is not None and unwaived is not None
    assert suite.get("failures") == "0"  # neither the waived requirement nor the verdict is a failure
    assert int(suite.get("skipped", "")) == int(unwaived.get("skipped", "")) + 1  # the waived one joins them


def test_null_waiver_is_not_a_waiver(scorecard: dict[str, Any]) -> None:
    card = copy.deepcopy(scorecard)
    for row in card["requirements"]:
        row["waived"] = None
    assert case(parse(card), "POLE-REC-002").find("failure") is not None


def test_unknown_outcome_is_an_error_never_a_pass(scorecard: dict[str, Any]) -> None:
    card = copy.deepcopy(scorecard)
    row = next(r for r in card["requirements"] if r["id"] == "POLE-IF-001")
    row["outcome"] = "flaky"
    assert case(parse(card), "POLE-IF-001").find("error") is not None


def verdict_case(root: ET.Element) -> ET.Element:
    found = [c for c in root.iter("testcase") if c.get("classname") == "pole-records.verdict"]
    assert len(found) == 1
    return found[0]


def test_verdict_testcase_is_green_only_when_conformant(scorecard: dict[str, Any],
                                                        schema: xmlschema.XMLSchema) -> None:
    """An incomplete or non-conformant run is never all green in CI, whatever its requirement rows show."""
    profile = load_profile("pole-records@1.0.0")
    total = len(profile.requirements)
    conformant = score_run(profile, [Result(r.id, Outcome.PASS) for r in profile.requirements if not r.planned])
    incomplete = score_run(profile, [])  # nothing run: no failure anywhere, yet nothing shown is a pass either
    cards = {Verdict.CONFORMANT: conformant, Verdict.NON_CONFORMANT: scorecard, Verdict.INCOMPLETE: incomplete}
    for verdict, card in cards.items():
        assert card["verdict"] == verdict
        schema.validate(render_junit(card))
        root = parse(card)
        node = verdict_case(root)
        assert node.get("name") == "verdict: pole-records conformant"
        suite = root.find("testsuite")
        assert suite is not None
        cases = suite.findall("testcase")
        assert len(cases) == total + 1 and cases[-1] is node
        assert suite.get("tests") == root.get("tests") == str(total + 1)
        # the suite's counts include the verdict testcase
        assert int(suite.get("failures", "")) == sum(1 for c in cases if c.find("failure") is not None)
        assert int(suite.get("errors", "")) == sum(1 for c in cases if c.find("error") is not None)

    root = parse(conformant)
    assert len(verdict_case(root)) == 0  # a pass has nothing inside
    suite = root.find("testsuite")
    assert suite is not None and (suite.get("failures"), suite.get("errors")) == ("0", "0")

    node = verdict_case(parse(scorecard))
    failure = node.find("failure")
    assert failure is not None and node.find("error") is None
    assert failure.get("type") == "non-conformant"
    assert failure.get("message") == f"non-conformant: {scorecard['verdict_reason']}"
    assert "POLE-REC-002" in (failure.text or "")

    root = parse(incomplete)
    node = verdict_case(root)
    error = node.find("error")
    assert error is not None and node.find("failure") is None
    assert error.get("type") == "incomplete"
    assert (error.get("message") or "").startswith("incomplete: MUST requirement(s) not run")
    suite = root.find("testsuite")
    assert suite is not None
    # every requirement row is skipped: the verdict's error is the only thing keeping the run from green
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0", "1", str(total))
