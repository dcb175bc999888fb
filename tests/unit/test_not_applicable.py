"""`not-applicable`: a requirement whose condition does not hold for this target is left out of the score and the
verdict, and every report shows it as such, with its reason."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from importlib import resources

import jsonschema
from rich.console import Console

from conformance.model import (
    CheckKind,
    CheckSpec,
    Level,
    Outcome,
    Profile,
    ProfileStatus,
    Requirement,
    Result,
)
from conformance.reporters.html import render_html
from conformance.reporters.junit import render_junit
from conformance.reporters.markdown import render_markdown
from conformance.reporters.terminal import render_scorecard
from conformance.scoring.scorecard import score_run

REASON = "not applicable: parameter temporal_collection is not given (a collection with a temporal extent)"


def _req(rid: str, level: Level = Level.MUST, category: str = "filters") -> Requirement:
    return Requirement(id=rid, title=f"title of {rid}", level=level, category=category, weight=2.0, rationale="r",
                       check=CheckSpec(CheckKind.CONTRACT, {"scenario": "scenarios/x.yaml"}))


def _profile(*reqs: Requirement) -> Profile:
    return Profile(id="p", version="1.0.0", title="P", status=ProfileStatus.ACTIVE, summary="s", requirements=reqs,
                   path="/x", openapi_path="/x/openapi.yaml", digest="sha256:" + "0" * 64)


def _card() -> dict:  # type: ignore[type-arg]
    p = _profile(_req("F-DATETIME"), _req("F-BBOX"), _req("F-OPT", level=Level.MAY))
    results = [Result("F-DATETIME", Outcome.NOT_APPLICABLE, reason=REASON), Result("F-BBOX", Outcome.PASS),
               Result("F-OPT", Outcome.NOT_APPLICABLE, reason="not applicable: no optional extent")]
    return dict(score_run(p, results, run={"started_at": "2026-12-05T08:00:00+00:00",
                                           "finished_at": "2026-12-05T08:00:01+00:00"}))


def test_not_applicable_is_left_out_of_score_verdict_and_optional_tally() -> None:
    card = _card()
    assert card["score"] == 100.0  # only F-BBOX is scored
    assert card["verdict"] == "conformant"
    assert card["counts"]["not-applicable"] == 2 and card["counts"]["pass"] == 1
    assert card["optional"] == {"passed": 0, "total": 0}
    assert card["categories"]["filters"]["weight"] == 2.0
    row = card["requirements"][0]
    assert row["outcome"] == "not-applicable" and row["reason"] == REASON
    schema = json.loads(resources.files("conformance.schemas").joinpath("scorecard.schema.json").read_text("utf-8"))
    jsonschema.validate(card, schema)


def test_a_failure_still_counts_beside_a_not_applicable_requirement() -> None:
    p = _profile(_req("A-1"), _req("A-2"))
    card = score_run(p, [Result("A-1", Outcome.NOT_APPLICABLE, reason=REASON), Result("A-2", Outcome.FAIL)])
    assert card["verdict"] == "non-conformant" and card["score"] == 0.0


def test_nothing_applicable_is_incomplete_never_conformant() -> None:
    p = _profile(_req("A-1"))
    card = score_run(p, [Result("A-1", Outcome.NOT_APPLICABLE, reason=REASON)])
    assert card["verdict"] == "incomplete"
    assert "applies to this target" in card["verdict_reason"]


def test_a_scorecard_without_not_applicable_keeps_its_old_counts() -> None:
    """Scorecards recorded before the outcome existed (bundles) re-score to themselves: no new key when none is."""
    card = score_run(_profile(_req("A-1")), [Result("A-1", Outcome.PASS)])
    assert "not-applicable" not in card["counts"]


def test_junit_reports_it_as_skipped_with_the_reason() -> None:
    root = ET.fromstring(render_junit(_card()))
    case = next(c for c in root.iter("testcase") if c.get("name", "").startswith("F-DATETIME "))
    skipped = case.find("skipped")
    assert skipped is not None and case.find("failure") is None and case.find("error") is None
    assert skipped.get("message") == REASON  # already says "not applicable: ...", not said twice
    suite = root.find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("errors") == "0"


def test_html_shows_the_outcome_its_reason_and_a_filter() -> None:
    page = render_html(_card())
    assert 'data-outcome="not-applicable"' in page
    assert "∅ not-applicable" in page
    assert REASON in page
    assert 'data-outcome="not-applicable" aria-pressed="false">not-applicable (2)' in page


def test_markdown_lists_it_apart_from_what_did_not_pass() -> None:
    text = render_markdown(_card())
    assert "### Not applicable to this target (not scored)" in text
    assert "parameter temporal\\_collection is not given" in text
    assert "### Did not pass" not in text


def test_terminal_shows_the_reason() -> None:
    out = io.StringIO()
    render_scorecard(Console(file=out, width=400, color_system=None), _card())
    assert "not-applicable" in out.getvalue() and "temporal_collection is not given" in out.getvalue()
