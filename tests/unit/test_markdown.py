"""Markdown reporters: the scorecard summary and the tender comparison.

Scorecards come from the real scoring of the real pole-records profile with synthetic results; the comparison
is built by hand in the shape conformance/schemas/comparison.schema.json describes. No network.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from markdown_it import MarkdownIt

from conformance.inputs.profiles import load_profile
from conformance.model import Finding, Level, Outcome, Result
from conformance.reporters.markdown import SIZE_LIMIT, render_comparison_markdown, render_markdown
from conformance.scoring.scorecard import score_run

CURL = "curl -X POST 'http://127.0.0.1:8000/persons?q=<a>&b=1' -H \"X-Note: it's \x1b[31mred\" -d '{\"x\": 1}'"
RUN = {"id": "20261124T100000-pole-records", "seed": 20261124, "tier": "quick", "harness_version": "0.3.0",
       "started_at": "2026-11-24T10:00:00.000Z", "finished_at": "2026-11-24T10:01:02.500Z"}
TARGET = {"name": "reference", "supplier": "Acme Records", "base_url": "http://127.0.0.1:8000"}
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def finding(title: str, message: str = "m", **extra: Any) -> Finding:
    return Finding("POLE-REC-002", "round_trip", title, message, **extra)


def card_with(fail_findings: tuple[Finding, ...], error_reason: str = "connection refused",
              fail_reason: str = "fields changed",
              category_weights: dict[str, float] | None = None) -> dict[str, Any]:
    results = [
        Result("POLE-IF-001", Outcome.PASS),
        Result("POLE-REC-002", Outcome.FAIL, findings=fail_findings, reason=fail_reason),
        Result("POLE-IF-003", Outcome.ERROR, reason=error_reason),
        Result("POLE-REC-003", Outcome.SKIPPED, reason="skipped by --skip"),
    ]
    return score_run(load_profile("pole-records@1.0.0"), results, run=dict(RUN), target=dict(TARGET),
                     category_weights=category_weights)


@pytest.fixture(scope="module")
def scorecard() -> dict[str, Any]:
    return card_with((
        finding("Field changed on read back", "dob: sent 1990-01-02\ngot ``` 1990-02-01", operation="GET /persons/{id}",
                curl=CURL, status_code=200, occurrences=3, code="field-changed", seed=20261124),
        finding("Flag dropped </details><script>x</script>", "flags: []", operation="POST /persons",
                status_code=201),
    ), error_reason="a | b\nc")


def section(text: str, heading: str) -> str:
    """The text of one `### heading` section."""
    start = text.index(f"### {heading}")
    end = text.find("\n### ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def table_rows(text: str) -> list[list[str]]:
    """Cells of every table row (header and separator included), split on unescaped pipes."""
    return [[c.strip() for c in UNESCAPED_PIPE.split(line)[1:-1]] for line in text.splitlines()
            if line.startswith("|")]


def test_first_line_is_verdict_and_score(scorecard: dict[str, Any]) -> None:
    first = render_markdown(scorecard).splitlines()[0]
    assert first.startswith("## ")
    assert "non-conformant" in first
    assert f"score {scorecard['score']}/100" in first
    assert "pole-records@1.0.0" in first


def test_counts_and_facts(scorecard: dict[str, Any]) -> None:
    profile = load_profile("pole-records@1.0.0")
    planned = sum(1 for r in profile.requirements if r.planned)
    not_run = len(profile.requirements) - planned - 4  # card_with gives 4 active requirements a result
    counts = f"1 pass, 1 fail, 1 error, 1 skipped, {not_run} not-run" + (f", {planned} planned" if planned else "")
    text = render_markdown(scorecard)
    assert f"**Requirements:** {counts}" in text
    assert "seed `20261124`" in text and "tier `quick`" in text
    assert "Acme Records" in text and "`http://127.0.0.1:8000`" in text


def test_category_table(scorecard: dict[str, Any]) -> None:
    profile = load_profile("pole-records@1.0.0")
    categories = list(dict.fromkeys(r.category for r in profile.requirements))
    # a category with no scored weight has a null score: weighting one at 0 (not one whose counts are checked
    # below) makes sure there is one, whatever the profile holds
    zeroed = next(c for c in reversed(categories) if c not in ("interface", "records"))
    card = card_with((), category_weights={zeroed: 0.0})
    unscored = {zeroed} | {c for c in categories if not any(
        r.category == c and not r.planned and r.level is not Level.MAY for r in profile.requirements)}
    rows = table_rows(section(render_markdown(card), "Categories"))
    header = rows[0]
    assert header[:3] == ["category", "score", "weight"]
    by_name = {r[0]: dict(zip(header, r, strict=True)) for r in rows[2:]}
    assert set(by_name) == set(card["categories"]) == set(categories)
    assert by_name["records"]["fail"] == "1"
    assert by_name["interface"]["pass"] == "1" and by_name["interface"]["error"] == "1"
    assert {name for name, row in by_name.items() if row["score"] == "–"} == unscored  # null score: a dash
    assert by_name["records"]["score"] == str(card["categories"]["records"]["score"])
    assert all(len(r) == len(header) for r in rows)


def test_did_not_pass_table_lists_exactly_the_unpassed_active_rows(scorecard: dict[str, Any]) -> None:
    card = copy.deepcopy(scorecard)
    made_planned = next(r for r in card["requirements"] if r["outcome"] == "not-run" and r["status"] != "planned")
    made_planned["status"] = "planned"  # so a planned row exists whatever the profile holds
    planned = [r["id"] for r in card["requirements"] if r["status"] == "planned"]
    rows = table_rows(section(render_markdown(card), "Did not pass"))
    ids = [r[0].split("**")[1] for r in rows[2:]]
    expected = [r["id"] for r in card["requirements"] if r["status"] != "planned" and r["outcome"] != "pass"]
    assert ids == expected
    assert "POLE-IF-001" not in ids and made_planned["id"] in planned
    assert not set(planned) & set(ids)
    rec = next(r for r in rows if r[0].startswith("**POLE-REC-002**"))
    assert rec[1:] == ["MUST", "fail", "Field changed on read back (+1 more)"]


def test_table_cells_escape_pipes_and_newlines(scorecard: dict[str, Any]) -> None:
    rows = table_rows(section(render_markdown(scorecard), "Did not pass"))
    assert all(len(r) == 4 for r in rows)  # an unescaped | would add a cell
    error = next(r for r in rows if r[0].startswith("**POLE-IF-003**"))
    assert error[3] == "a \\| b<br>c"


def test_findings_are_collapsible_with_fenced_curl(scorecard: dict[str, Any]) -> None:
    text = render_markdown(scorecard)
    assert text.count("<details>") == 1 == text.count("</details>")
    assert "<summary>POLE-REC-002 Create then read returns every field unchanged: 2 finding(s)</summary>" in text
    assert "```bash\n" + CURL.replace("\x1b", "") + "\n```" in text
    assert "\x1b" not in text
    # a message holding ``` gets a longer fence, so it cannot close its block early
    assert "````text\ndob: sent 1990-01-02\ngot ``` 1990-02-01\n````" in text
    assert "**1. Field changed on read back** (x3, `GET /persons/{id}`, status 200, check `field-changed`, " \
           "seed 20261124)" in text


def test_supplier_text_cannot_inject_html(scorecard: dict[str, Any]) -> None:
    text = render_markdown(scorecard)
    assert "<script>" not in text
    assert "Flag dropped &lt;/details&gt;&lt;script&gt;x&lt;/script&gt;" in text


def test_supplier_text_cannot_become_a_link_or_an_image() -> None:
    hostile = "see [click](http://x) and ![img](http://x/a.png)"
    escaped = "see \\[click\\](http://x) and \\!\\[img\\](http://x/a.png)"
    text = render_markdown(card_with((finding("Bad", "m"),), error_reason=hostile, fail_reason=hostile))
    error = next(r for r in table_rows(section(text, "Did not pass")) if r[0].startswith("**POLE-IF-003**"))
    assert error[3] == escaped  # the "Did not pass" cell
    assert f"\n{escaped}\n" in section(text, "Findings")  # the failed requirement's reason above its findings
    assert "[click](" not in text and "![img](" not in text
    # and a CommonMark parser sees no link and no image anywhere, only the literal brackets
    tokens = MarkdownIt("commonmark").parse(text)
    children = [t for block in tokens for t in block.children or []]
    assert not [t for t in children if t.type in ("link_open", "image")]
    html = MarkdownIt("commonmark").render(text)
    assert "<a " not in html and "<img" not in html
    assert "see [click](http://x) and ![img](http://x/a.png)" in html


def test_long_findings_are_truncated_under_the_size_limit() -> None:
    many = tuple(finding(f"Finding {i}", "x" * 5_000, curl="curl " + "y" * 5_000, operation="GET /p")
                 for i in range(300))
    text = render_markdown(card_with(many))
    assert len(text.encode("utf-8")) < SIZE_LIMIT
    shown = len(re.findall(r"^\*\*\d+\. Finding \d+\*\*", text, flags=re.MULTILINE))
    note = re.search(r"(\d+) more findings in scorecard\.json", text)
    assert note is not None
    assert shown > 0 and shown + int(note.group(1)) == 300
    assert "more characters in scorecard.json" in text  # each 5,000-character field is cut
    assert text.rstrip().endswith("</details>")


def test_waived_requirements_are_listed_with_their_reason_not_as_failures(scorecard: dict[str, Any]) -> None:
    card = copy.deepcopy(scorecard)
    row = next(r for r in card["requirements"] if r["id"] == "POLE-REC-003")
    row["waived"] = "lot 2 | not needed"
    text = render_markdown(card)
    waived = section(text, "Waived")
    assert "- **POLE-REC-003** Validation returns every problem at once, each with a JSON pointer: " \
           "lot 2 \\| not needed (measured: skipped)" in waived
    assert "POLE-REC-003" not in section(text, "Did not pass")


def test_all_pass_has_no_failure_sections() -> None:
    profile = load_profile("pole-records@1.0.0")
    results = [Result(r.id, Outcome.PASS) for r in profile.requirements if not r.planned]
    text = render_markdown(score_run(profile, results))
    assert text.startswith("## ✅ conformant: score 100.0/100")
    assert "### Did not pass" not in text and "<details>" not in text


# --- comparison ------------------------------------------------------------------------------------------------

REF = "pole-records@1.0.0"


def result(outcome: str, findings: int = 0) -> dict[str, Any]:
    return {"outcome": outcome, "findings": findings, "reason": None}


def candidate(name: str, supplier: str, verdict: str, score: float, meets: bool) -> dict[str, Any]:
    return {"name": name, "supplier": supplier, "product": None, "product_version": None, "verdict": verdict,
            "score": score, "meets_thresholds": meets, "reasons": [],
            "profiles": {REF: {"verdict": verdict, "score": score, "run_id": None, "seed": 1, "scorecard": None,
                               "report": None, "categories": {"interface": score}, "counts": {}, "error": None}},
            "claims": None}


@pytest.fixture(scope="module")
def comparison() -> dict[str, Any]:
    alpha = candidate("alpha", "Alpha Ltd", "conformant", 100.0, True)
    beta = candidate("beta|b", "Beta plc", "non-conformant", 80.0, False)
    gamma = candidate("gamma", "Gamma GmbH", "incomplete", 60.0, False)
    beta["claims"] = [{"kind": "profile", "item": REF, "claimed": True, "demonstrated": "non-conformant",
                       "met": False}]
    gamma["profiles"][REF]["error"] = "target did not start"
    names = ["alpha", "beta|b", "gamma"]

    def requirement(rid: str, outcomes: list[str], waived: str | None = None) -> dict[str, Any]:
        return {"profile": REF, "id": rid, "title": f"title of {rid}", "level": "MUST", "category": "interface",
                "weight": 1.0, "waived": waived,
                "results": {n: result(o, 2 if o == "fail" else 0) for n, o in zip(names, outcomes, strict=True)}}

    return {
        "schema_version": 1, "title": "Lot 2 evaluation", "generated_at": "2026-11-24T12:00:00Z",
        "tender": {"id": "T-2026-07", "title": "Records system", "thresholds": {"all_must": True, "min_score": 75.0},
                   "category_weights": {"interface": 2.0},
                   "waivers": [{"profile": REF, "requirement": "POLE-REC-006", "reason": "not in lot 2"}]},
        "profiles": [{"ref": REF, "id": "pole-records", "version": "1.0.0", "title": "POLE records",
                      "digest": "sha256:" + "0" * 64, "weight": 1.0}],
        "ranking": [
            {"rank": 1, "candidate": "alpha", "supplier": "Alpha Ltd", "product": None, "verdict": "conformant",
             "score": 100.0, "meets_thresholds": True, "reasons": []},
            {"rank": 2, "candidate": "beta|b", "supplier": "Beta plc", "product": None,
             "verdict": "non-conformant", "score": 80.0, "meets_thresholds": False,
             "reasons": ["MUST requirement POLE-IF-002 failed"]},
            {"rank": 3, "candidate": "gamma", "supplier": "Gamma GmbH", "product": None, "verdict": "incomplete",
             "score": 60.0, "meets_thresholds": False, "reasons": ["score 60.0 below 75.0"]},
        ],
        "candidates": [alpha, beta, gamma],
        "categories": [{"profile": REF, "category": "interface", "weight": 2.0,
                        "scores": {"alpha": 100.0, "beta|b": 80.0, "gamma": None}}],
        "requirements": [
            requirement("POLE-IF-001", ["pass", "pass", "pass"]),
            requirement("POLE-IF-002", ["pass", "fail", "pass"]),
            requirement("POLE-IF-003", ["pass", "pass", "error"]),
            requirement("POLE-IF-004", ["fail", "fail", "fail"]),
            requirement("POLE-REC-006", ["pass", "fail", "pass"], waived="not in lot 2"),
        ],
        "interoperability": None,
    }


def test_comparison_ranking_table(comparison: dict[str, Any]) -> None:
    text = render_comparison_markdown(comparison)
    assert text.splitlines()[0] == "## Lot 2 evaluation"
    rows = table_rows(section(text, "Ranking"))
    assert rows[0] == ["rank", "candidate", "supplier", "verdict", "score", "meets thresholds"]
    assert [r[:3] for r in rows[2:]] == [["1", "alpha", "Alpha Ltd"], ["2", "beta\\|b", "Beta plc"],
                                         ["3", "gamma", "Gamma GmbH"]]
    assert [r[5] for r in rows[2:]] == ["yes", "no", "no"]
    assert [r[4] for r in rows[2:]] == ["100.0", "80.0", "60.0"]
    assert rows[3][3].endswith("non-conformant")
    assert "- **gamma**: score 60.0 below 75.0" in text
    assert "every MUST requirement passes; score at least 75.0" in text


def test_comparison_lists_only_requirements_that_differ_or_fail(comparison: dict[str, Any]) -> None:
    rows = table_rows(section(render_comparison_markdown(comparison), "Requirements where candidates differ"))
    assert rows[0] == ["requirement", "level", "alpha", "beta\\|b", "gamma"]
    ids = [r[0].split("**")[1] for r in rows[2:]]
    assert ids == ["POLE-IF-002", "POLE-IF-003", "POLE-IF-004", "POLE-REC-006"]  # IF-001: all passed
    by_id = dict(zip(ids, rows[2:], strict=True))
    assert by_id["POLE-IF-002"][2:] == ["pass", "**fail** (2)", "pass"]
    assert by_id["POLE-IF-003"][4] == "error"
    assert "_(waived)_" in by_id["POLE-REC-006"][0]


def test_comparison_lists_waivers_problems_and_categories(comparison: dict[str, Any]) -> None:
    text = render_comparison_markdown(comparison)
    assert "- `pole-records@1.0.0` **POLE-REC-006**: not in lot 2" in section(text, "Waivers")
    problems = section(text, "Problems")
    assert "**gamma** `pole-records@1.0.0`: target did not start" in problems
    assert "**beta\\|b** claims profile `pole-records@1.0.0`, demonstrated: non-conformant" in problems
    cats = table_rows(section(text, "Category scores"))
    assert cats[2] == ["pole-records@1.0.0", "interface", "2.0", "100.0", "80.0", "–"]


def test_comparison_without_tender_takes_waivers_from_requirements(comparison: dict[str, Any]) -> None:
    bare = copy.deepcopy(comparison)
    bare["tender"] = None
    text = render_comparison_markdown(bare)
    assert "Thresholds" not in text
    assert "**POLE-REC-006**: not in lot 2" in section(text, "Waivers")


def test_comparison_draws_the_interoperability_matrix_target_by_peer(comparison: dict[str, Any]) -> None:
    matrix = {"profile": "records-migration@1.0.0", "system": "peer",
              "requirements": [{"id": "MIG-INT-001", "title": "t"}, {"id": "MIG-IMP-001", "title": "u"}],
              "candidates": ["alpha", "beta|b"],
              "pairs": [{"target": "alpha", "peer": "beta|b", "status": "finished",
                         "outcomes": {"MIG-INT-001": "pass", "MIG-IMP-001": "fail"},
                         "findings": {"MIG-IMP-001": "3 of 40 open records missing | after import"}, "report": None}]}
    text = render_comparison_markdown({**comparison, "interoperability": [matrix]})
    header, _, *rows = table_rows(section(text, "Interoperability"))
    assert header == ["target \\ peer", "alpha", r"beta\|b"]
    assert rows[0][0] == "**alpha**" and rows[0][1] == "–"
    assert rows[0][2] == "MIG-INT-001 pass<br>MIG-IMP-001 **fail**"
    assert rows[1][1] == "not run"  # beta as the target was never run
    assert "alpha → beta\\|b, MIG-IMP-001: 3 of 40 open records missing \\| after import" in text
    assert "Interoperability" not in render_comparison_markdown(comparison)
