"""Comparisons: ranking and thresholds (pure), the CSV, and `conformance compare` on real runs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.inputs.profiles import load_profile
from conformance.model import Candidate, Finding, Outcome, Result
from conformance.reporters.csvfile import render_comparison_csv, render_ranking_csv
from conformance.schemas import load_schema
from conformance.scoring.compare import CandidateRuns, build_comparison
from conformance.scoring.scorecard import score_run

PROFILE = load_profile("pole-records@1.0.0")
REF = PROFILE.ref
TENDER = {"id": "t", "title": "T", "thresholds": {"all_must": True, "min_score": 80.0}, "category_weights": {},
          "waivers": []}


def card(fail: tuple[str, ...] = (), error: tuple[str, ...] = (), *, name: str = "x",
         reason: str = "boom") -> dict[str, Any]:
    results = []
    for req in PROFILE.requirements:
        if req.planned:
            continue
        if req.id in fail:
            results.append(Result(req.id, Outcome.FAIL, findings=(Finding(req.id, "check", "bad", reason),)))
        elif req.id in error:
            results.append(Result(req.id, Outcome.ERROR, reason=reason))
        else:
            results.append(Result(req.id, Outcome.PASS))
    return score_run(PROFILE, results, target={"name": name, "supplier": name}, run={"id": f"run-{name}"})


def cand(name: str, scorecard: dict[str, Any] | None, *, claims: dict[str, list[str]] | None = None,
         **kw: Any) -> CandidateRuns:
    return CandidateRuns(Candidate(name=name, supplier=f"{name} Ltd", claims=claims),
                         scorecards={REF: scorecard} if scorecard else {}, **kw)


def compare(*cands: CandidateRuns, tender: dict[str, Any] | None = TENDER) -> dict[str, Any]:
    comparison = build_comparison(list(cands), title="T", tender=tender, generated_at="2026-12-05T00:00:00Z")
    jsonschema.validate(comparison, load_schema("comparison"))
    return comparison


def test_ranking_puts_thresholds_then_verdict_then_score_first() -> None:
    comparison = compare(
        cand("should-fail", card(fail=("POLE-REC-003",))),   # SHOULD failed: conformant, lower score
        cand("must-fail", card(fail=("POLE-IF-001",))),      # non-conformant
        cand("clean", card()),
        cand("errored", card(error=("POLE-IF-002",))),       # incomplete
    )
    order = [r["candidate"] for r in comparison["ranking"]]
    assert order == ["clean", "should-fail", "errored", "must-fail"]
    assert [r["rank"] for r in comparison["ranking"]] == [1, 2, 3, 4]
    must_fail = next(r for r in comparison["ranking"] if r["candidate"] == "must-fail")
    assert not must_fail["meets_thresholds"] and "non-conformant" in must_fail["reasons"][0]


def test_equal_candidates_share_a_rank_and_a_low_score_misses_the_minimum() -> None:
    low = card(fail=("POLE-REC-003", "POLE-REC-006", "POLE-SAFE-002"))
    strict = {**TENDER, "thresholds": {"all_must": True, "min_score": 95.0}}
    comparison = compare(cand("b", card()), cand("a", card()), cand("low", low), tender=strict)
    assert [(r["rank"], r["candidate"]) for r in comparison["ranking"]] == [(1, "a"), (1, "b"), (3, "low")]
    low_row = comparison["ranking"][2]
    assert low_row["verdict"] == "conformant" and low_row["score"] < 95
    assert low_row["reasons"] == [f"score {low_row['score']:g} below the minimum 95"]


def test_a_candidate_without_a_scorecard_is_incomplete_with_the_reason_and_never_ranked_above() -> None:
    comparison = compare(cand("crashed", None, errors={REF: "candidate did not start: exit 1"}), cand("ok", card()))
    crashed = next(c for c in comparison["candidates"] if c["name"] == "crashed")
    assert crashed["verdict"] == "incomplete" and crashed["score"] == 0.0
    assert crashed["profiles"][REF]["error"] == "candidate did not start: exit 1"
    assert comparison["ranking"][0]["candidate"] == "ok"
    row = next(r for r in comparison["requirements"] if r["id"] == "POLE-IF-001")
    assert row["results"]["crashed"]["outcome"] == "not-run"


def test_claims_are_set_against_what_was_demonstrated() -> None:
    comparison = compare(cand("c", card(fail=("POLE-IF-001",)),
                              claims={"profiles": [REF], "requirements": ["POLE-REC-003"]}))
    claims = comparison["candidates"][0]["claims"]
    assert {"kind": "profile", "item": REF, "claimed": True, "demonstrated": "non-conformant", "met": False} in claims
    assert {"kind": "requirement", "item": "POLE-REC-003", "claimed": True, "demonstrated": "pass",
            "met": True} in claims


def test_without_a_tender_the_comparison_has_no_thresholds_but_all_must_still_applies() -> None:
    comparison = compare(cand("a", card(fail=("POLE-IF-001",))), tender=None)
    assert comparison["tender"] is None
    assert comparison["ranking"][0]["meets_thresholds"] is False


def test_csv_has_a_row_per_requirement_and_never_carries_a_formula() -> None:
    evil = card(fail=("POLE-IF-001",), name="=HYPERLINK(\"http://x\")")
    comparison = compare(cand("=cmd|' /C calc'!A0", evil), cand("clean", card()))
    rows = list(csv.reader(io.StringIO(render_comparison_csv(comparison))))
    assert rows[0][:7] == ["profile", "requirement", "title", "level", "category", "weight", "waived"]
    assert len(rows) == 1 + len(PROFILE.requirements)
    assert rows[0][7] == "'=cmd|' /C calc'!A0 outcome"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    ranking = list(csv.reader(io.StringIO(render_ranking_csv(comparison))))
    assert [r[1] for r in ranking[1:]] == ["clean", "'=cmd|' /C calc'!A0"]



def test_an_interrupted_or_unstarted_candidate_never_meets_thresholds_even_without_all_must() -> None:
    lax = {**TENDER, "thresholds": {"all_must": False, "min_score": None}}
    cut_short = card()
    cut_short["run"]["interrupted"] = True
    comparison = compare(cand("cut", cut_short), cand("never", None, errors={REF: "did not start"}),
                         cand("ok", card()), tender=lax)
    rows = {r["candidate"]: r for r in comparison["ranking"]}
    assert rows["ok"]["meets_thresholds"] and comparison["ranking"][0]["candidate"] == "ok"
    assert not rows["cut"]["meets_thresholds"] and rows["cut"]["verdict"] == "incomplete"
    assert "interrupted" in rows["cut"]["reasons"][0]
    assert not rows["never"]["meets_thresholds"]


def test_compare_refuses_scorecards_scored_under_different_waivers(tmp_path: Path) -> None:
    from conformance.errors import UsageError
    from conformance.procurement.collect import comparison_from_files

    plain = card(fail=("POLE-IF-001",), name="a")
    waived = score_run(PROFILE, [], target={"name": "b", "supplier": "b"}, run={"id": "run-b"},
                       waivers={"POLE-IF-001": "waived by someone"})
    paths = []
    for name, data in (("a", plain), ("b", waived)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "scorecard.json").write_text(json.dumps(data), encoding="utf-8")
        paths.append(tmp_path / name)
    with pytest.raises(UsageError, match="different waivers or category weights"):
        comparison_from_files(paths, out_dir=tmp_path, title="t")
