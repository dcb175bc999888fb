"""`conformance.supplier.diff`: which changes between two scorecards are regressions, findings new and gone,
latency moves beyond the threshold, Markdown that cannot be broken by a title, and inputs it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.errors import DiffError, UsageError
from conformance.supplier.diff import diff_scorecards, load_scorecard, render_markdown


def _row(rid: str, outcome: str, *, findings: list[dict[str, Any]] | None = None,
         measurements: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": rid, "title": f"title of {rid}", "level": "MUST", "outcome": outcome,
            "findings": findings or [], "measurements": measurements or {}}


def _card(*rows: dict[str, Any], profile: str = "pole-records", score: float = 100.0,
          verdict: str = "conformant") -> dict[str, Any]:
    return {"profile": {"id": profile, "version": "1.0.0"}, "verdict": verdict, "score": score,
            "requirements": list(rows)}


def _finding(rid: str, title: str, operation: str | None = None) -> dict[str, Any]:
    return {"requirement_id": rid, "check": "scenario", "title": title, "message": "varies", "operation": operation}


def test_a_requirement_that_fails_now_is_a_regression_and_one_that_passes_now_is_not() -> None:
    old = _card(_row("A", "pass"), _row("B", "fail"), _row("C", "pass"), _row("D", "pass"))
    new = _card(_row("A", "fail"), _row("B", "pass"), _row("C", "error"), _row("D", "skipped"), score=50.0,
                verdict="non-conformant")
    result = diff_scorecards(old, new)
    assert {c.id: c.regression for c in result.changes} == {"A": True, "B": False, "C": True, "D": False}
    assert result.regressions == ["A pass -> fail", "C pass -> error"]
    assert result.score_delta == -50.0


def test_nothing_changed_is_no_regression() -> None:
    card = _card(_row("A", "pass"), _row("B", "fail", findings=[_finding("B", "x")]))
    result = diff_scorecards(card, card)
    assert not result.regressions and not result.changes and not result.findings_new
    assert "Nothing changed." in render_markdown(result)


def test_findings_new_and_gone_ignore_their_varying_messages() -> None:
    old = _card(_row("B", "fail", findings=[_finding("B", "kept", "GET /a"), _finding("B", "fixed")]))
    new_kept = dict(_finding("B", "kept", "GET /a"), message="another seed's message")
    new = _card(_row("B", "fail", findings=[new_kept, _finding("B", "broken")]))
    result = diff_scorecards(old, new)
    assert [f["title"] for f in result.findings_new] == ["broken"]
    assert [f["title"] for f in result.findings_gone] == ["fixed"]


def _load(p95: float) -> dict[str, Any]:
    return {"operations": {"GET /persons": {"p50_ms": 3.0, "p95_ms": p95, "p99_ms": 20.0}}, "tasks": {}}


@pytest.mark.parametrize(("old", "new", "threshold", "regression", "moved"), [
    (100.0, 150.0, 20.0, True, True),     # +50 %: a regression
    (100.0, 110.0, 20.0, False, False),   # +10 %: within the threshold
    (100.0, 110.0, 5.0, True, True),      # the threshold is the caller's
    (2.0, 6.0, 20.0, False, False),       # +200 % but 4 ms: below the floor
    (150.0, 100.0, 20.0, False, True),    # faster: listed, not a regression
])
def test_latency_moves_beyond_the_threshold(old: float, new: float, threshold: float, regression: bool,
                                            moved: bool) -> None:
    result = diff_scorecards(_card(_row("L", "pass", measurements=_load(old))),
                             _card(_row("L", "pass", measurements=_load(new))), latency_threshold_pct=threshold)
    assert bool(result.regressions) is regression
    assert [(m.name, m.percentile) for m in result.latency] == ([("operations:GET /persons", "p95")] if moved else [])


def test_different_profiles_are_a_usage_error() -> None:
    with pytest.raises(DiffError) as raised:
        diff_scorecards(_card(profile="pole-records"), _card(profile="case-file"), new_label="new.json")
    assert isinstance(raised.value, UsageError)
    assert str(raised.value).startswith("new.json: results of different profiles (pole-records and case-file)")


def test_markdown_escapes_what_a_title_could_break() -> None:
    old = _card({**_row("A", "pass"), "title": "pipes | and <script>"})
    new = _card({**_row("A", "fail"), "title": "pipes | and <script>"})
    text = render_markdown(diff_scorecards(old, new))
    assert "pipes \\| and &lt;script>" in text and "<script>" not in text
    assert text.startswith("## Conformance diff: pole-records@1.0.0: regression")


def test_load_scorecard_reads_a_file_or_a_run_directory_and_refuses_the_rest(tmp_path: Path) -> None:
    (tmp_path / "scorecard.json").write_text(json.dumps(_card(_row("A", "pass"))), encoding="utf-8")
    assert load_scorecard(tmp_path)["requirements"][0]["id"] == "A"
    assert load_scorecard(tmp_path / "scorecard.json")["profile"]["id"] == "pole-records"
    (tmp_path / "other.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "junk.tar.gz").write_bytes(b"not a bundle")
    (tmp_path / "empty").mkdir()
    for path, problem in ((tmp_path / "other.json", "not a scorecard"), (tmp_path / "junk.tar.gz", "neither JSON"),
                          (tmp_path / "empty", "no scorecard.json"), (tmp_path / "nope", "no such file")):
        with pytest.raises(DiffError, match=problem):
            load_scorecard(path)
