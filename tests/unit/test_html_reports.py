"""The HTML reports: one self-contained file each, every supplier-sent value escaped, nothing loaded from outside.

The scorecard comes from the real `score_run` over the pole-records profile; the comparison is written by hand
in the shape the comparison builder produces. `sample_scorecard` and `sample_comparison` are also used by
tests/browser/test_browser.py.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from collections import Counter
from collections.abc import Collection
from html.parser import HTMLParser
from typing import Any

import jsonschema
import pytest
from markupsafe import escape

from conformance.inputs.profiles import load_profile
from conformance.model import Finding, Outcome, Result
from conformance.reporters.html import relative_link, render_comparison_html, render_html
from conformance.schemas import load_schema
from conformance.scoring.scorecard import score_run

HOSTILE_CURL = ("curl -X POST -H 'Content-Type: application/json' "
                "-d '{\"family_name\": \"<script>alert(\\\"pwned\\\")</script>\", \"note\": \"a & b\"}' "
                "'http://127.0.0.1:8000/persons?x=1&y=\"2\"'")
HOSTILE_SUPPLIER = "Acme <script>alert('supplier')</script> & Sons"
WAIVER_REASON = "Idempotency is handled by the buyer's gateway <b>not</b> the product & that is fine"
LOAD_ID = "POLE-PERF-001"
LOAD_OPERATIONS = {  # name -> (p50, p95, p99, max, count, errors)
    "GET /persons (search)": (3.8, 267.8, 298.5, 301.0, 470, 0),
    "GET /persons/{id}": (2.1, 40.2, 95.5, 120.0, 230, 0),
    "PUT /persons/{id}": (6.4, 480.0, 1240.0, 1310.5, 80, 1),
}
LOAD_TASKS = {"read": (4.0, 88.0, 130.0, 150.0, 72, 0), "search": (5.1, 290.0, 330.2, 340.0, 144, 0),
              "update": (11.9, 910.0, 1400.0, 1402.0, 24, 1)}


def _latency_table(figures: dict[str, tuple[float, float, float, float, int, int]]) -> dict[str, Any]:
    return {name: {"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "max_ms": top, "count": count, "errors": errors,
                   "error_rate": round(errors / count, 4), "statuses": {"200": count - errors, "503": errors},
                   "error_samples": ["503 <html>busy</html>"] if errors else []}
            for name, (p50, p95, p99, top, count, errors) in figures.items()}


def load_measurements() -> dict[str, Any]:
    """What the load runner records for an open-model run (conformance/runners/load.py `summarise`)."""
    return {
        "engine": "locust",
        "schedule": {"scheduled": 240, "sent": 240, "late": 0, "capped": 0, "dropped": 0, "max_lateness_ms": 3.1,
                     "lateness": {"p50_ms": 0.4, "p95_ms": 1.2, "p99_ms": 2.5, "max_ms": 3.1}},
        "requests": 780, "errors": 1, "error_rate": 0.0013, "tasks_completed": 239, "throughput_per_s": 39.83,
        "operations": _latency_table(LOAD_OPERATIONS), "tasks": _latency_table(LOAD_TASKS),
        "generator": [{"cpu_s": 0.46, "wall_s": 11.7, "worker": 0}], "workers": 1,
        "plain_locust": {"GET /persons (search)": {"p50_ms": 47.0, "p95_ms": 940.0, "p99_ms": 1000.0, "count": 243}},
        "sizing": {"rate_per_s": 40.0, "duration_s": 6.0, "workers": 0, "source": "quick"},
        "writes": {"acknowledged": 80, "checked": 80, "missing": 0, "missing_examples": [], "unreadable": 0},
        "concurrency": {"users": 0, "peak_in_flight": 3, "worker_peaks": [3], "mean_in_flight": 0.21},
    }


PASSED = ("POLE-IF-001", "POLE-IF-003", "POLE-IF-004", "POLE-IF-005", "POLE-IF-006", "POLE-IF-007",
          "POLE-REC-003", "POLE-REC-004", "POLE-REC-005", "POLE-REC-006", "POLE-SAFE-001", "POLE-SRCH-001")


def sample_results() -> list[Result]:
    """A pass (with schema-engine measurements), a fail with two findings, an error, a skipped, and more passes."""
    coverage = {"operations_documented": 13, "operations_exercised": 13, "operations_ratio": 1.0,
                "statuses_ratio": 0.575, "links_ratio": 1.0, "statuses_observed": {"GET /persons": [200, 422]}}
    measurements = {"engine": "schemathesis", "seed": 7, "cases": 1009, "requests": 1009, "elapsed_s": 16.65,
                    "request_sequence_sha256": "a" * 64, "coverage": coverage,
                    "checks_evaluated": {"response_schema_conformance": 900}}
    findings = (
        Finding("POLE-IF-002", "status_code_conformance", "Undocumented HTTP status code",
                "Received: 418\nDocumented: 200, 404, 422", operation="GET /persons/{id}",
                curl=HOSTILE_CURL, status_code=418, occurrences=3, code="ST102", seed=7),
        Finding("POLE-IF-002", "status_code_conformance", "Undocumented <em>status</em> & more",
                "Received: 299", operation="POST /persons", curl="curl -X POST http://127.0.0.1:8000/persons",
                status_code=299, occurrences=1, seed=7),
    )
    results = [Result(rid, Outcome.PASS, reason="no violation", measurements=measurements if rid == "POLE-IF-001"
                      else {"engine": "contract", "steps": 3, "requests": 3, "elapsed_s": 0.05})
               for rid in PASSED]
    results += [
        Result("POLE-IF-002", Outcome.FAIL, findings, reason="2 finding(s) over 400 requests",
               measurements={"engine": "schemathesis", "cases": 400}),
        Result("POLE-REC-001", Outcome.ERROR, reason="target unreachable: connection refused <after 3 tries>"),
        Result("POLE-REC-002", Outcome.SKIPPED, reason="excluded by --skip"),
        Result("POLE-SAFE-002", Outcome.PASS, reason="no violation"),
        Result(LOAD_ID, Outcome.FAIL, (Finding(
            LOAD_ID, "latency", "p99 latency above the service level",
            "PUT /persons/{id}: p99 1240 ms measured from the due time over 80 requests; the profile allows 1000 ms",
            operation="PUT /persons/{id}", occurrences=80, code="slo_p99"),),
            reason="1 finding(s)", measurements=load_measurements()),
    ]
    return results


def sample_scorecard(category_weights: dict[str, float] | None = None) -> dict[str, Any]:
    profile = load_profile("pole-records@1.0.0")
    return score_run(
        profile, sample_results(), category_weights=category_weights,
        run={"id": "20261125T205308Z-acme", "seed": 7, "tier": "quick", "harness_version": "0.1.0",
             "started_at": "2026-11-25T20:53:08.810Z", "finished_at": "2026-11-25T20:54:04.045Z",
             "interrupted": False, "only": [], "skip": ["POLE-REC-002"]},
        target={"name": "acme", "base_url": "http://127.0.0.1:8000", "supplier": HOSTILE_SUPPLIER,
                "product": "RecordKeeper", "product_version": "4.2"},
        waivers={"POLE-REC-006": WAIVER_REASON},
        claims={"profiles": ["pole-records@1.0.0"], "requirements": ["POLE-IF-002", "POLE-SAFE-001"]},
    )


REF = "pole-records@1.0.0"
# candidate -> requirement id -> outcome (anything not listed passed)
CANDIDATE_OUTCOMES: dict[str, dict[str, str]] = {
    "acme": {},
    "borealis": {"POLE-IF-002": "fail", "POLE-REC-005": "fail", "POLE-SAFE-002": "error"},
    "cobalt": {"POLE-IF-001": "fail", "POLE-REC-002": "skipped", "POLE-SRCH-001": "error"},
}


def sample_comparison() -> dict[str, Any]:
    """Three candidates, one profile, a tender with thresholds, weights and a waiver; written by hand."""
    profile = load_profile("pole-records@1.0.0")
    scores = {"acme": 100.0, "borealis": 81.5, "cobalt": 70.0}
    verdicts = {"acme": "conformant", "borealis": "non-conformant", "cobalt": "incomplete"}
    # the tender weights performance at 0, so no candidate has a performance score: a `not scored` category
    category_scores: dict[str, dict[str, float | None]] = {
        "interface": {"acme": 100.0, "borealis": 88.2, "cobalt": 82.4},
        "records": {"acme": 100.0, "borealis": 76.9, "cobalt": 76.9},
        "safeguarding": {"acme": 100.0, "borealis": 80.0, "cobalt": 100.0},
        "search": {"acme": 100.0, "borealis": 100.0, "cobalt": 0.0},
        "performance": {"acme": None, "borealis": None, "cobalt": None},
    }
    reports = {"acme": "runs/acme/report.html", "borealis": "javascript:alert('x')", "cobalt": None}
    requirements: list[dict[str, Any]] = []
    for req in profile.requirements:
        results = {}
        for name, outcomes in CANDIDATE_OUTCOMES.items():
            outcome = "planned" if req.planned else outcomes.get(req.id, "pass")
            results[name] = {"outcome": outcome, "findings": 2 if outcome == "fail" else 0,
                             "reason": None if outcome == "pass" else f"{outcome} <i>reason</i> for {name}"}
        requirements.append({"profile": REF, "id": req.id, "title": req.title, "level": req.level.value,
                             "category": req.category, "weight": req.weight,
                             "waived": ("Gateway handles it <b>&</b> more; the front end never repeats a create, "
                                        "and the design authority accepted the residual risk at its meeting "
                                        "of 2026-11-20 (minute DA-114), to be reviewed at contract award")
                             if req.id == "POLE-REC-006" else None,
                             "results": results})
    candidates = []
    for name in CANDIDATE_OUTCOMES:
        run: dict[str, Any] = {
            "verdict": verdicts[name], "score": scores[name], "run_id": f"20261125T2053Z-{name}", "seed": 7,
            "scorecard": f"runs/{name}/scorecard.json", "report": reports[name],
            "categories": {c: s[name] for c, s in category_scores.items()},
            "counts": dict(Counter(r["results"][name]["outcome"] for r in requirements)), "error": None}
        if name == "cobalt":
            run["error"] = "run interrupted: <target> went away"
        claims = [{"kind": "profile", "item": REF, "claimed": True, "demonstrated": verdicts[name],
                   "met": verdicts[name] == "conformant"},
                  {"kind": "requirement", "item": "POLE-IF-001", "claimed": True,
                   "demonstrated": CANDIDATE_OUTCOMES[name].get("POLE-IF-001", "pass"),
                   "met": "POLE-IF-001" not in CANDIDATE_OUTCOMES[name]}]
        candidates.append({"name": name, "supplier": f"{name.title()} Ltd <&>", "product": f"{name}-records",
                           "product_version": "1.0", "verdict": verdicts[name], "score": scores[name],
                           "meets_thresholds": name == "acme",
                           "reasons": [] if name == "acme" else [f"verdict is {verdicts[name]}"],
                           "profiles": {REF: run}, "claims": None if name == "cobalt" else claims})
    ranking = [{"rank": i + 1, "candidate": c["name"], "supplier": c["supplier"], "product": c["product"],
                "verdict": c["verdict"], "score": c["score"], "meets_thresholds": c["meets_thresholds"],
                "reasons": c["reasons"]} for i, c in enumerate(candidates)]
    return {
        "schema_version": 1, "title": "Records system tender 2026 <lot 1>", "generated_at": "2026-11-26T09:00:00Z",
        "tender": {"id": "T-2026-01", "title": "Records lot 1", "thresholds": {"all_must": True, "min_score": 80.0},
                   "category_weights": {"safeguarding": 2.0, "interface": 1.0, "performance": 0.0},
                   "waivers": [{"profile": REF, "requirement": "POLE-REC-006",
                                "reason": "Gateway handles it <b>&</b> more"}]},
        "profiles": [{"ref": REF, "id": profile.id, "version": profile.version, "title": profile.title,
                      "digest": profile.digest, "weight": 1.0}],
        "ranking": ranking,
        "candidates": candidates,
        "categories": [{"profile": REF, "category": c, "weight": 0.0 if c == "performance" else 1.0, "scores": s}
                       for c, s in category_scores.items()],
        "requirements": requirements,
        "interoperability": None,
    }


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> and <style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in self.raw else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.raw[self._in].append(data)


def parse(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    return tags


def links(html: str) -> list[str]:
    """Every URL-carrying attribute value in the document."""
    url_attrs = {"src", "href", "action", "formaction", "xlink:href", "poster", "data", "srcset", "background"}
    return [v or "" for _, attrs in parse(html).tags for k, v in attrs.items() if k in url_attrs]


def assert_self_contained(html: str, allowed_relative: Collection[str] = ()) -> None:
    doc = parse(html)
    for url in links(html):
        assert url.startswith("#") or url in allowed_relative, f"link out of the file: {url!r}"
    assert [t for t, _ in doc.tags].count("script") == 1
    assert not [t for t, _ in doc.tags if t in {"img", "iframe", "link", "object", "embed", "base", "form"}]
    assert not [k for _, attrs in doc.tags for k in attrs if k.startswith("on")], "inline event handler"
    assert "style" not in {k for _, attrs in doc.tags for k in attrs}, "style attribute (blocked by the CSP)"
    css = "".join(doc.raw["style"])
    assert "url(" not in css and "@import" not in css
    assert "xmlns" not in html and "http://www.w3.org" not in html


def csp_hashes(html: str) -> tuple[str, str]:
    policy = [a.get("content") or "" for t, a in parse(html).tags
              if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(policy) == 1
    match = re.search(r"style-src '(sha256-[^']+)'; script-src '(sha256-[^']+)'", policy[0])
    assert match, "Content-Security-Policy with hashes"
    return match.group(1), match.group(2)


def sha(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


# ---------------------------------------------------------------- single-run report


@pytest.fixture(scope="module")
def scorecard() -> dict[str, Any]:
    return sample_scorecard()


@pytest.fixture(scope="module")
def report(scorecard: dict[str, Any]) -> str:
    return render_html(scorecard)


def test_supplier_text_is_escaped_never_markup(report: str) -> None:
    assert "<script>alert" not in report
    assert "<b>not</b>" not in report and "<em>status</em>" not in report
    assert str(escape(HOSTILE_SUPPLIER)) in report
    assert "&lt;script&gt;alert(\\&#34;pwned\\&#34;)&lt;/script&gt;" in report


def test_report_is_self_contained_and_its_csp_matches_its_inline_blocks(report: str) -> None:
    assert_self_contained(report)
    doc = parse(report)
    style_hash, script_hash = csp_hashes(report)
    assert style_hash == sha("".join(doc.raw["style"]))
    assert script_hash == sha("".join(doc.raw["script"]))
    assert "default-src &#39;none&#39;" in report


def test_every_requirement_is_a_row_with_its_outcome(report: str, scorecard: dict[str, Any]) -> None:
    outcomes = {tag_attrs["id"]: tag_attrs["data-outcome"] for tag, tag_attrs in parse(report).tags
                if tag == "tr" and (tag_attrs.get("id") or "").startswith("req-")}
    expected = {f"req-{r['id']}": ("planned" if r["status"] == "planned" else r["outcome"])
                for r in scorecard["requirements"]}
    assert outcomes == expected
    planned = {"planned"} if any(r["status"] == "planned" for r in scorecard["requirements"]) else set()
    assert {"pass", "fail", "error", "skipped", "not-run", "planned"} >= set(outcomes.values()) >= {
        "pass", "fail", "error", "skipped", *planned}


def test_verdict_score_target_and_run_are_shown(report: str, scorecard: dict[str, Any]) -> None:
    assert scorecard["verdict"] == "non-conformant"
    assert 'data-verdict="non-conformant">✗ non-conformant' in report
    assert f'{scorecard["score"]:g} <small>/ 100</small>' in report
    for text in ("RecordKeeper", "4.2", "http://127.0.0.1:8000", "pole-records@1.0.0", scorecard["profile"]["digest"],
                 "20261125T205308Z-acme", "quick", "2026-11-25T20:53:08.810Z"):
        assert text in report


def test_findings_carry_their_curl_with_a_copy_button(report: str) -> None:
    assert f'<pre class="curl" id="curl-1-1">{escape(HOSTILE_CURL)}</pre>' in report
    assert 'data-copy="curl-1-1"' in report and 'data-copy="curl-1-2"' in report
    assert "Undocumented &lt;em&gt;status&lt;/em&gt; &amp; more" in report
    assert "GET /persons/{id}" in report and "<dt>Occurrences</dt><dd>3</dd>" in report


def test_waived_requirement_has_badge_reason_and_section(report: str) -> None:
    row = re.search(r'<tr id="req-POLE-REC-006".*?</tr>', report, re.S)
    assert row and 'class="is-waived"' in row.group(0)
    assert '<span class="badge waived"' in row.group(0)
    assert str(escape(WAIVER_REASON)) in row.group(0)
    waivers = re.search(r'<section id="waivers".*?</section>', report, re.S)
    assert waivers and "POLE-REC-006" in waivers.group(0) and str(escape(WAIVER_REASON)) in waivers.group(0)


def test_claimed_vs_demonstrated(report: str) -> None:
    claims = re.search(r'<section id="claims".*?</section>', report, re.S)
    assert claims
    text = claims.group(0)
    assert "<strong>claims</strong>" in text and "claim not met" in text
    assert "POLE-IF-002" in text and "POLE-SAFE-001" in text and "not met" in text


def test_category_chart_has_one_bar_row_per_category(report: str, scorecard: dict[str, Any]) -> None:
    categories = list(dict.fromkeys(r.category for r in load_profile("pole-records@1.0.0").requirements))
    # a category's score is null when none of its weight is scored; weighting one at 0 makes sure one is
    zeroed = categories[-1]
    unweighted = sample_scorecard(category_weights={zeroed: 0.0})
    assert unweighted["categories"][zeroed]["score"] is None
    for card, html in ((scorecard, report), (unweighted, render_html(unweighted))):
        svg = re.search(r'<svg id="category-chart".*?</svg>', html, re.S)
        assert svg
        chart = svg.group(0)
        assert list(card["categories"]) == categories
        assert chart.count('<g class="bar-row"') == len(categories)
        scored = {name: c["score"] for name, c in card["categories"].items() if c["score"] is not None}
        bars = re.findall(r'<rect class="bar" data-score="([0-9.]+)"', chart)
        assert [float(b) for b in bars] == list(scored.values())
        rows = dict(re.findall(r'<g class="bar-row" data-label="([^"]*)">(.*?)</g>', chart, re.S))
        assert set(rows) == set(categories)
        not_scored = {name for name, row in rows.items() if 'class="value not-scored"' in row}
        assert not_scored == set(categories) - set(scored)  # a null score is written `not scored`, never a bar
    assert zeroed in not_scored


def test_key_measurements_are_summarised(report: str) -> None:
    row = re.search(r'<tr id="req-POLE-IF-001".*?</tr>', report, re.S)
    assert row
    for item in ("operations covered: 13/13, 100%", "statuses covered: 57.5%", "links covered: 100%",
                 "cases: 1009", "elapsed_s: 16.65"):
        assert f"<li>{item}</li>" in row.group(0)
    assert "a" * 64 not in re.sub(r"<details.*?</details>", "", row.group(0), flags=re.S)


def test_a_scorecard_without_the_newer_optional_keys_renders(scorecard: dict[str, Any]) -> None:
    old = copy.deepcopy(scorecard)
    for key in ("waivers", "claims"):
        old.pop(key, None)
    for row in old["requirements"]:
        row.pop("waived", None)
        row.pop("effective_weight", None)
    html = render_html(old)
    assert 'id="claims"' not in html and "No requirement was waived." in html
    assert_self_contained(html)


def test_minimal_and_empty_inputs_render() -> None:
    assert "No category in this scorecard." in render_html({})
    html = render_comparison_html({"tender": {"thresholds": None, "waivers": None},
                                   "candidates": [{"name": "x", "profiles": {"p@1": {}}, "claims": []}],
                                   "requirements": [{"id": "R-1", "results": {"x": None}}],
                                   "categories": [{"category": "c", "scores": None}]})
    assert "R-1" in html and "no result" in html and "No candidate to rank." in html
    assert_self_contained(html)


def test_rendering_is_deterministic(scorecard: dict[str, Any], report: str) -> None:
    assert render_html(scorecard) == report


# ---------------------------------------------------------------- comparison report


@pytest.fixture(scope="module")
def comparison() -> dict[str, Any]:
    return sample_comparison()


@pytest.fixture(scope="module")
def comparison_report(comparison: dict[str, Any]) -> str:
    return render_comparison_html(comparison)


def test_comparison_escapes_and_links_only_to_relative_run_files(comparison_report: str) -> None:
    assert "<b>&</b>" not in comparison_report and "<lot 1>" not in comparison_report
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in comparison_report
    allowed = {"runs/acme/report.html", "runs/acme/scorecard.json", "runs/borealis/scorecard.json",
               "runs/cobalt/scorecard.json"}
    assert_self_contained(comparison_report, allowed)
    assert {u for u in links(comparison_report) if not u.startswith("#")} == allowed
    assert "javascript:alert(&#39;x&#39;)" in comparison_report  # shown as text, never as a link


def test_comparison_ranking_thresholds_and_weights(comparison_report: str) -> None:
    ranking = re.search(r'<table id="ranking-table".*?</table>', comparison_report, re.S)
    assert ranking
    rows = re.findall(r'<tr data-candidate="(\w+)"', ranking.group(0))
    assert rows == ["acme", "borealis", "cobalt"]
    assert ranking.group(0).count("✗ does not meet") == 2 and ranking.group(0).count("✓ meets") == 1
    assert "verdict is non-conformant" in ranking.group(0)
    assert "Borealis Ltd &lt;&amp;&gt; / borealis-records 1.0" in ranking.group(0)
    assert "<dd>80 / 100</dd>" in comparison_report and "<dd>required</dd>" in comparison_report
    weights = re.search(r'<table id="category-weights-table".*?</table>', comparison_report, re.S)
    assert weights and '<th scope="row">safeguarding</th><td class="num">2</td>' in weights.group(0)


def test_comparison_matrix_has_every_requirement_and_candidate(comparison_report: str,
                                                               comparison: dict[str, Any]) -> None:
    matrix = re.search(r'<table id="matrix-table".*?</table>', comparison_report, re.S)
    assert matrix
    rows = re.findall(r"<tr data-outcomes=\"([^\"]*)\"", matrix.group(0))
    ids = [r.id for r in load_profile("pole-records@1.0.0").requirements]
    assert len(rows) == len(comparison["requirements"]) == len(ids)
    for req in comparison["requirements"]:
        assert f'<th scope="row">{req["id"]}' in matrix.group(0)
    assert rows[ids.index("POLE-IF-002")] == "fail pass"  # POLE-IF-002: borealis fails
    assert matrix.group(0).count('data-candidate="cobalt"') == len(ids)
    waived = re.search(r'<tr data-outcomes="pass" class="is-waived">.*?</tr>', matrix.group(0), re.S)
    assert waived and "POLE-REC-006" in waived.group(0) and '<span class="badge waived"' in waived.group(0)


def test_comparison_chart_has_one_bar_per_scored_category_and_candidate(comparison_report: str,
                                                                         comparison: dict[str, Any]) -> None:
    svg = re.search(r'<svg id="comparison-chart".*?</svg>', comparison_report, re.S)
    assert svg
    categories = comparison["categories"]
    candidates = len(comparison["candidates"])
    scores = [s for c in categories for s in c["scores"].values()]
    assert None in scores  # the sample has a category nobody is scored on
    assert svg.group(0).count('<g class="bar-row"') == len(categories) * candidates
    assert svg.group(0).count('<rect class="bar"') == sum(1 for s in scores if s is not None)
    assert svg.group(0).count('class="value not-scored"') == scores.count(None)
    assert svg.group(0).count('class="group-label"') == len(categories)


def test_comparison_claims_runs_and_waivers(comparison_report: str) -> None:
    claims = re.search(r'<section id="claims".*?</section>', comparison_report, re.S)
    assert claims and "cobalt declares no claims." in claims.group(0)
    assert claims.group(0).count('<table class="claims-table">') == 2
    assert '<a href="runs/acme/report.html">report</a>' in comparison_report
    assert "run interrupted: &lt;target&gt; went away" in comparison_report
    waivers = re.search(r'<section id="waivers".*?</section>', comparison_report, re.S)
    assert waivers and "POLE-REC-006" in waivers.group(0)


INTEROP = [{
    "profile": "records-migration@1.0.0", "system": "peer",
    "requirements": [{"id": "MIG-INT-001", "title": "Export <b>imports</b> cleanly"}],
    "candidates": ["acme", "bravo", "charlie"],
    "pairs": [
        {"target": "acme", "peer": "bravo", "status": "finished", "outcomes": {"MIG-INT-001": "pass"},
         "findings": {}, "report": "interop/acme--bravo/r1/report.html"},
        {"target": "bravo", "peer": "acme", "status": "finished", "outcomes": {"MIG-INT-001": "fail"},
         "findings": {"MIG-INT-001": "12 of 140 open records missing <script>x</script>"},
         "report": "javascript:alert(1)"},
        {"target": "acme", "peer": "charlie", "status": "not-run", "outcomes": {}, "findings": {}, "report": None},
    ]}]


def test_interoperability_matrix_is_drawn_target_by_peer_and_escaped(comparison: dict[str, Any]) -> None:
    jsonschema.validate({**comparison, "interoperability": INTEROP}, load_schema("comparison"))
    html = render_comparison_html({**comparison, "interoperability": INTEROP})
    section = html[html.index('id="interoperability"'):]
    assert "records-migration@1.0.0" in section and "target \\ peer" in section
    assert '<a href="interop/acme--bravo/r1/report.html">report</a>' in section
    assert "javascript:" not in section  # a link that is not a relative path is not drawn
    assert "&lt;script&gt;" in section and "<script>x" not in section
    assert "Export &lt;b&gt;imports&lt;/b&gt; cleanly" in section
    assert section.count("itself") == 3 and "not run (a candidate did not start)" in section
    assert 'id="interoperability"' not in render_comparison_html(comparison)  # none: no section


@pytest.mark.parametrize(("path", "expected"), [
    ("runs/acme/report.html", "runs/acme/report.html"),
    ("runs/a b/report#1.html", "runs/a%20b/report%231.html"),
    ("runs\\acme\\report.html", "runs/acme/report.html"),
    ("javascript:alert(1)", None),
    ("https://example.org/report.html", None),
    ("//example.org/report.html", None),
    ("/etc/passwd", None),
    ("C:\\reports\\x.html", None),
    ("", None),
    (None, None),
])
def test_relative_link_refuses_urls_and_absolute_paths(path: Any, expected: str | None) -> None:
    assert relative_link(path) == expected


# ---------------------------------------------------------------- load requirements


def load_section(html: str) -> str:
    section = re.search(r'<section id="load".*?\n</section>', html, re.S)
    assert section, "no Load section"
    return section.group(0)


def bars_of(html: str, chart_id: str) -> list[tuple[str, str, str]]:
    """(label, percentile, data-ms) for every bar drawn in the chart `chart_id`."""
    svg = re.search(rf'<svg id="{chart_id}".*?</svg>', html, re.S)
    assert svg, f"no chart {chart_id}"
    return re.findall(r'<g class="bar-row" data-label="([^"]*)" data-percentile="(p\d+)">.*?'
                      r'<rect class="bar p\d+[^"]*" data-ms="([^"]*)"', svg.group(0), re.S)


def test_a_load_requirement_has_a_latency_chart_per_operation_and_task(report: str) -> None:
    load = load_section(report)
    assert load.count('class="chart latency-chart" role="img"') == 2
    assert report.index('id="requirements"') < report.index('id="load"') < report.index('id="findings"')
    assert '<a href="#load">Load</a>' in report
    for key, figures in (("operations", LOAD_OPERATIONS), ("tasks", LOAD_TASKS)):
        chart_id = f"latency-{_load_index(report)}-{key}"
        expected = [(str(escape(name)), p, f"{values[i]:g}") for name, values in figures.items()
                    for i, p in enumerate(("p50", "p95", "p99"))]
        assert bars_of(report, chart_id) == expected  # one bar per operation (or task) and percentile
        svg = re.search(rf'<svg id="{chart_id}".*?</svg>', report, re.S)
        assert svg and f'<title id="{chart_id}-title">{LOAD_ID}: latency per' in svg.group(0)
        assert "linear scale, 0 to 1500 ms" in svg.group(0) and ">1500 ms</text>" in svg.group(0)
        for values in figures.values():  # the number is written on each bar, and in the table beside it
            for value in values[:3]:
                assert f">{value:g} ms" in svg.group(0)
        table = re.search(rf'<table id="{chart_id}-table".*?</table>', report, re.S)
        assert table and all(f">{v:g}" in table.group(0) for vs in figures.values() for v in vs[:4])
    assert "Latency per operation (each request on its own)" in load
    assert "Latency per business task" in load and "<th scope=\"col\">Task</th>" in load
    assert load.count("Measured from each request's due time (open model), so stalls are not hidden.") == 2


def _load_index(html: str) -> int:
    match = re.search(r'<svg id="latency-(\d+)-operations"', html)
    assert match
    return int(match.group(1))


def test_load_facts_in_words_and_the_breach_marked(report: str) -> None:
    load = load_section(report)
    assert ("240 arrivals scheduled, 240 sent, 0 late, 0 dropped (at most 3.1 ms behind schedule); "
            "load 40/s for 6 s, 1 process (quick tier sizing)") in load
    assert "1 of 780 requests failed (error rate 0.13%)" in load
    assert "<dt>Concurrency reached</dt><dd>3 requests in flight at most (mean 0.21)</dd>" in load
    assert "239 tasks completed, 39.83 per second" in load
    assert "80 acknowledged by the supplier, 80 read back afterwards: 0 missing" in load
    assert f'<a href="#findings-{LOAD_ID}">see findings</a>' in load
    # the finding names PUT /persons/{id} at p99: that bar and that cell, and nothing else, are marked
    assert re.findall(r'data-label="([^"]*)" data-percentile="(p\d+)"><title>[^<]*✗', load) == [
        ("PUT /persons/{id}", "p99")]
    assert load.count('<rect class="bar p99 over"') == 1 and load.count('<td class="num over">') == 1


def test_load_values_are_escaped_and_missing_keys_tolerated(scorecard: dict[str, Any]) -> None:
    card = copy.deepcopy(scorecard)
    row = next(r for r in card["requirements"] if r["id"] == LOAD_ID)
    m = row["measurements"]
    hostile = "GET /x<script>alert(1)</script> & \"q\""
    m["operations"] = {hostile: {"p50_ms": 1.5, "p95_ms": "<b>9</b>", "p99_ms": float("nan"), "count": "<i>"}}
    m["writes"] = {"acknowledged": 3, "checked": 3, "missing": 1, "missing_examples": ["/persons/<img src=x>"]}
    for key in ("schedule", "sizing", "tasks", "workers", "error_rate"):
        del m[key]
    html = render_html(card)
    assert "<script>alert(1)" not in html and "<b>9</b>" not in html and "<img src=x>" not in html
    assert str(escape(hostile)) in html and "/persons/&lt;img src=x&gt;" in html
    chart = f"latency-{_load_index(html)}-operations"
    assert bars_of(html, chart) == [(str(escape(hostile)), "p50", "1.5")]
    svg = re.search(rf'<svg id="{chart}".*?</svg>', html, re.S)
    assert svg and svg.group(0).count(">not measured</text>") == 2
    assert "? arrivals scheduled, ? sent, ? late, ? dropped; load rate not recorded" in html
    assert "1 missing" in html
    assert_self_contained(html)

    row["measurements"] = {"engine": "locust"}  # an older load result: nothing but its engine
    html = render_html(card)
    assert "No operation was measured." in load_section(html) and "class=\"chart latency-chart\"" not in html


def test_a_scorecard_without_load_has_no_latency_chart(scorecard: dict[str, Any]) -> None:
    card = copy.deepcopy(scorecard)
    for row in card["requirements"]:
        if (row.get("measurements") or {}).get("engine") == "locust":
            row["measurements"] = {}
    html = render_html(card)
    assert "class=\"chart latency-chart\"" not in html and 'id="load"' not in html and 'href="#load"' not in html
    assert_self_contained(html)
