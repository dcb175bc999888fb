"""HTML reports: one self-contained file per scorecard, and one per supplier comparison.

Each report works offline and alone: CSS and JS are inlined from `templates/`, charts are inline SVG drawn
here, and nothing is loaded from anywhere (a Content-Security-Policy with the hashes of the inline style and
script blocks any other). Every value from a scorecard is escaped (Jinja2 autoescape; the SVG is built with
`markupsafe.escape`), so text a supplier sent back is shown verbatim and never runs.

Older scorecards lack `waivers`, `claims` and a row's `waived`: every optional key is read with `.get`.
A load requirement (measurements with `engine: locust`) gets a latency chart of its own; older load measurements
may lack any of their keys, so those are read with `.get` too.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from conformance.model import Outcome, Verdict
from conformance.reporters.charts import (
    CANDIDATE_COLOURS,
    PERCENTILES,
    category_chart,
    grouped_chart,
    latency_chart,
    ms,
    nice_scale,
    number,
)

__all__ = ["OUTCOMES", "category_chart", "grouped_chart", "latency_chart", "measurement_summary", "relative_link",
           "render_comparison_html", "render_html"]

OUTCOMES = (*Outcome, "planned")
"""The outcome filter's choices, in order. A planned requirement (outcome not-run) is shown as `planned`."""

_OUTCOME_SYMBOL: dict[str, str] = {Outcome.PASS: "✓", Outcome.FAIL: "✗", Outcome.ERROR: "!", Outcome.SKIPPED: "–",
                                   Outcome.NOT_RUN: "○", Outcome.NOT_APPLICABLE: "∅",
                                   "planned": "◇"}
_VERDICT_SYMBOL: dict[str, str] = {Verdict.CONFORMANT: "✓", Verdict.NON_CONFORMANT: "✗", Verdict.INCOMPLETE: "!"}
_MEASUREMENT_KEYS = ("cases", "requests", "steps", "elapsed_s", "scenario", "python", "mode", "tier", "engine")
_MAX_MEASUREMENTS_JSON = 20_000

_SLO_CODES = {f"slo_{p}": p for p in PERCENTILES}
_LATENCY_SCOPES = (
    ("operations", "operation", "requests", "Operation", "each request on its own"),
    ("tasks", "business task", "tasks", "Task", "a whole business task, from the due time of its first request "
                                            "to the answer to its last"),
)


# ---------------------------------------------------------------- public API


def render_html(scorecard: Mapping[str, Any], verification: Mapping[str, Any] | None = None) -> str:
    """The report of one run: verdict, categories chart, requirement table with filter, findings, waivers.
    `verification` (what `conformance verify --out` found: signers, checks, profile digest) adds a
    "Verified evidence" section; the scorecard itself is unchanged."""
    raw_rows = [row for row in scorecard.get("requirements") or [] if isinstance(row, Mapping)]
    rows = [_requirement_view(row) for row in raw_rows]
    categories = scorecard.get("categories") or {}
    return _render("scorecard.html.j2", {
        "sc": scorecard,
        "verification": verification,
        "profile": scorecard.get("profile") or {},
        "target": scorecard.get("target") or {},
        "run": scorecard.get("run") or {},
        "rows": rows,
        "categories": categories,
        "category_chart": category_chart(categories),
        "filter_counts": {o: sum(1 for r in rows if r["outcome"] == o) for o in OUTCOMES},
        "waivers": _scorecard_waivers(scorecard, rows),
        "claims": _claims_view(scorecard.get("claims")),
        "with_findings": [r for r in rows if r["findings"]],
        "loads": [_load_view(raw, view, i) for i, (raw, view) in enumerate(zip(raw_rows, rows, strict=True), 1)
                  if (raw.get("measurements") or {}).get("engine") == "locust"],
    })


def _interop_view(matrix: Mapping[str, Any]) -> dict[str, Any]:
    """Rows by target candidate, one cell per peer candidate (None on the diagonal)."""
    names = [str(n) for n in matrix.get("candidates") or []]
    pairs = {(str(p.get("target")), str(p.get("peer"))): p for p in matrix.get("pairs") or []}
    rows = [{"name": a, "cells": [None if a == b else _pair_view(pairs.get((a, b))) for b in names]} for a in names]
    return {"profile": matrix.get("profile"), "system": matrix.get("system"), "candidates": names,
            "requirements": list(matrix.get("requirements") or []), "rows": rows}


def _pair_view(pair: Mapping[str, Any] | None) -> dict[str, Any]:
    pair = pair or {"status": "not-run"}
    return {"status": pair.get("status"), "outcomes": dict(pair.get("outcomes") or {}),
            "findings": dict(pair.get("findings") or {}), "report": relative_link(pair.get("report"))}


def render_comparison_html(comparison: Mapping[str, Any]) -> str:
    """The comparison of candidates: ranking, category chart and table, requirement matrix, claims, waivers,
    and the interoperability matrices (candidate by candidate) when the tender had peer journeys."""
    candidates = _ranked_candidates(comparison)
    names = [str(c.get("name")) for c in candidates]
    matrix = [_matrix_row(req, names) for req in comparison.get("requirements") or []]
    profiles = comparison.get("profiles") or []
    many_profiles = len(profiles) > 1
    groups = [(_category_label(c, many_profiles), [(n, (c.get("scores") or {}).get(n)) for n in names])
              for c in comparison.get("categories") or []]
    return _render("comparison.html.j2", {
        "cmp": comparison,
        "interop": [_interop_view(m) for m in comparison.get("interoperability") or []],
        "tender": comparison.get("tender"),
        "profiles": profiles,
        "many_profiles": many_profiles,
        "ranking": comparison.get("ranking") or [],
        "candidates": candidates,
        "by_name": {str(c.get("name")): c for c in candidates},
        "names": names,
        "colours": {n: CANDIDATE_COLOURS[i % len(CANDIDATE_COLOURS)] for i, n in enumerate(names)},
        "chart": grouped_chart(groups, names),
        "categories": comparison.get("categories") or [],
        "matrix": matrix,
        "filter_counts": {o: sum(1 for r in matrix if o in r["outcomes"]) for o in OUTCOMES},
        "runs": [_run_view(c, ref) for c in candidates for ref in (c.get("profiles") or {})],
        "waivers": _comparison_waivers(comparison),
    })


# ---------------------------------------------------------------- charts


# ---------------------------------------------------------------- single-run views


def _requirement_view(row: Mapping[str, Any]) -> dict[str, Any]:
    measurements = row.get("measurements") or {}
    dump = json.dumps(measurements, indent=1, ensure_ascii=False, default=str) if measurements else ""
    if len(dump) > _MAX_MEASUREMENTS_JSON:
        dump = dump[:_MAX_MEASUREMENTS_JSON] + "\n… (cut here; scorecard.json has all of it)"
    weight, effective = row.get("weight"), row.get("effective_weight")
    return {
        "id": str(row.get("id", "")),
        "title": row.get("title") or "",
        "level": row.get("level") or "",
        "category": row.get("category") or "",
        "weight": number(weight),
        "effective_weight": number(effective) if effective is not None and effective != weight else None,
        "outcome": _display_outcome(row),
        "reason": row.get("reason") or "",
        "waived": row.get("waived"),
        "baselined": row.get("baselined") if isinstance(row.get("baselined"), Mapping) else None,
        "findings": list(row.get("findings") or []),
        "summary": measurement_summary(measurements),
        "measurements_json": dump,
    }


def _display_outcome(row: Mapping[str, Any]) -> str:
    return "planned" if row.get("status") == "planned" else str(row.get("outcome") or Outcome.NOT_RUN)


def measurement_summary(measurements: Mapping[str, Any], limit: int = 8) -> list[str]:
    """A few `key: value` strings from a free-form measurements dict: coverage first, then short scalars."""
    out: list[str] = []
    coverage = measurements.get("coverage")
    if isinstance(coverage, Mapping):
        for kind, seen_key, total_key in (("operations", "operations_exercised", "operations_documented"),
                                          ("statuses", "statuses_observed_documented", "statuses_documented"),
                                          ("links", "links_followed", "links_defined")):
            ratio, seen, total = coverage.get(f"{kind}_ratio"), coverage.get(seen_key), coverage.get(total_key)
            if isinstance(ratio, int | float) and not isinstance(ratio, bool):
                counted = f"{seen}/{total}, " if isinstance(seen, int) and isinstance(total, int) else ""
                out.append(f"{kind} covered: {counted}{number(round(100 * ratio, 1))}%")
    checks = measurements.get("checks_evaluated")
    if isinstance(checks, Mapping) and checks:
        out.append(f"checks evaluated: {len(checks)}")
    errors = measurements.get("engine_errors")
    if isinstance(errors, Sequence) and not isinstance(errors, str) and errors:
        out.append(f"engine errors: {len(errors)}")
    keys = [*_MEASUREMENT_KEYS, *(k for k in measurements if k not in _MEASUREMENT_KEYS)]
    for key in keys:
        value = measurements.get(key)
        if isinstance(value, bool) or value is None or key.endswith("sha256") or key == "seed":
            continue
        if isinstance(value, int | float) or (isinstance(value, str) and len(value) <= 40):
            out.append(f"{key}: {number(value)}")
    return out[:limit]


def _load_view(row: Mapping[str, Any], view: Mapping[str, Any], index: int) -> dict[str, Any]:
    """A load requirement's latency charts and tables (operations, and tasks when there are any) and its facts."""
    m = row.get("measurements") or {}
    findings = [f for f in row.get("findings") or [] if isinstance(f, Mapping)]
    over: dict[str, set[str]] = {}
    for f in findings:
        percentile = _SLO_CODES.get(str(f.get("code")))
        if percentile and f.get("operation") is not None:
            over.setdefault(str(f.get("operation")), set()).add(percentile)
    scopes = []
    for key, noun, counted, column, what in _LATENCY_SCOPES:
        table = m.get(key)
        table = table if isinstance(table, Mapping) else {}
        if key == "tasks" and not table:
            continue
        entries = [_latency_entry(name, figures, over.get(str(name), set())) for name, figures in table.items()]
        largest = max((v for e in entries for p in PERCENTILES if (v := ms(e[p])) is not None), default=0.0)
        scale = number(nice_scale(largest)[0])
        chart_id = f"latency-{index}-{key}"
        scopes.append({
            "key": key, "noun": noun, "counted": counted, "column": column, "what": what, "entries": entries,
            "chart_id": chart_id, "scale": scale, "marked": any(e["over"] for e in entries),
            "chart": latency_chart(entries, chart_id=chart_id, title=(
                f"{view['id']}: latency per {noun}, p50, p95 and p99 in ms (linear scale, 0 to {scale} ms)")),
        })
    return {
        "id": view["id"], "title": view["title"], "outcome": view["outcome"], "reason": view["reason"],
        "findings": findings, "scopes": scopes,
        "schedule": _schedule_text(m),
        "errors": _errors_text(m),
        "concurrency": _concurrency_text(m),
        "throughput": _throughput_text(m),
        "writes": _writes_text(m.get("writes")),
        "missing_examples": [str(x) for x in _mapping(m.get("writes")).get("missing_examples") or []],
    }


def _latency_entry(name: Any, figures: Any, over: set[str]) -> dict[str, Any]:
    figures = figures if isinstance(figures, Mapping) else {}
    count, errors, rate = figures.get("count"), figures.get("errors"), figures.get("error_rate")
    return {
        "name": str(name), **{p: ms(figures.get(f"{p}_ms")) for p in PERCENTILES},
        "max": ms(figures.get("max_ms")), "count": count if isinstance(count, int) else None,
        "errors": errors if isinstance(errors, int) else None, "error_rate": _percent(rate),
        "over": sorted(over & set(PERCENTILES)),
    }


def _percent(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return f"{number(round(100 * float(value), 2))}%"


def _count(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"


def _plural(value: Any, word: str) -> str:
    return f"{_count(value)} {word}{'' if value == 1 else 'es' if word.endswith('s') else 's'}"


def _schedule_text(m: Mapping[str, Any]) -> str:
    """`240 arrivals scheduled, 240 sent, 0 late, 0 dropped; load 40/s for 6 s, 1 process (quick tier sizing)`, or
    for a closed load `2211 tasks run back to back (...); load 32 simultaneous users for 5 s, 1 process (...)`."""
    sched, sizing = _mapping(m.get("schedule")), _mapping(m.get("sizing"))
    users = sizing.get("concurrency")
    closed = isinstance(users, int) and not isinstance(users, bool) and users > 0
    if closed:  # a closed load has no schedule: each user starts a task when its last one ends
        facts = [f"{_count(sched.get('sent'))} tasks run back to back (a closed load: nothing late or dropped)"]
    else:
        facts = [f"{_count(sched.get('scheduled'))} arrivals scheduled", f"{_count(sched.get('sent'))} sent",
                 f"{_count(sched.get('late'))} late", f"{_count(sched.get('dropped'))} dropped"]
    if sched.get("capped"):
        facts.append(f"{_count(sched.get('capped'))} held back by the in-flight cap")
    text = ", ".join(facts)
    lateness = ms(sched.get("max_lateness_ms"))
    if lateness is not None and not closed:
        text += f" (at most {number(lateness)} ms behind schedule)"
    rate, duration = ms(sizing.get("rate_per_s")), ms(sizing.get("duration_s"))
    workers = m.get("workers")
    if not isinstance(workers, int) or isinstance(workers, bool):
        workers = sizing.get("workers") if isinstance(sizing.get("workers"), int) else None
        workers = max(1, workers) if workers is not None else None
    if closed:
        load = [f"{users} simultaneous users"]
    else:
        load = [f"{number(rate)}/s" if rate is not None else "rate not recorded"]
    load.append(f"for {number(duration)} s" if duration is not None else "for a duration not recorded")
    text += "; load " + " ".join(load)
    if workers is not None:
        text += f", {_plural(workers, 'process')}"
    source = sizing.get("source")
    if isinstance(source, str) and source:
        text += " (sized by the tender)" if source == "tender" else f" ({source} tier sizing)"
    return text


def _concurrency_text(m: Mapping[str, Any]) -> str:
    """`32 requests in flight at most (mean 30.6); 32 asked for`: what the generator actually held."""
    reached, wanted = _mapping(m.get("concurrency")), _mapping(m.get("sizing")).get("concurrency")
    if not reached:
        return "not recorded"
    text = f"{_count(reached.get('peak_in_flight'))} requests in flight at most"
    mean = ms(reached.get("mean_in_flight"))
    if mean is not None:
        text += f" (mean {number(mean)})"
    if len(reached.get("worker_peaks") or []) > 1:
        text += ", summed over the workers' peaks"
    if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted:
        text += f"; {wanted} asked for"
    return text


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _errors_text(m: Mapping[str, Any]) -> str:
    rate = _percent(m.get("error_rate"))
    return (f"{_count(m.get('errors'))} of {_count(m.get('requests'))} requests failed"
            + (f" (error rate {rate})" if rate is not None else ""))


def _throughput_text(m: Mapping[str, Any]) -> str | None:
    done, per_s = m.get("tasks_completed"), ms(m.get("throughput_per_s"))
    if done is None and per_s is None:
        return None
    return f"{_count(done)} tasks completed" + (f", {number(per_s)} per second" if per_s is not None else "")


def _writes_text(writes: Any) -> str | None:
    if not isinstance(writes, Mapping):
        return None
    text = (f"{_count(writes.get('acknowledged'))} acknowledged by the supplier, {_count(writes.get('checked'))} "
            f"read back afterwards: {_count(writes.get('missing'))} missing")
    if writes.get("unreadable"):
        text += f", {_count(writes.get('unreadable'))} could not be read"
    return text


def _scorecard_waivers(scorecard: Mapping[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {r["id"]: r for r in rows}
    waivers = [{"id": str(w.get("id", "")), "reason": w.get("reason") or "",
                "outcome": w.get("outcome") or (by_id[w["id"]]["outcome"] if w.get("id") in by_id else None)}
               for w in scorecard.get("waivers") or []]
    listed = {w["id"] for w in waivers}
    waivers += [{"id": r["id"], "reason": r["waived"], "outcome": r["outcome"]}
                for r in rows if r["waived"] and r["id"] not in listed]
    return waivers


def _claims_view(claims: Any) -> dict[str, Any] | None:
    if not isinstance(claims, Mapping):
        return None
    return {
        "profile": bool(claims.get("profile")),
        "demonstrated": claims.get("demonstrated"),
        "requirements": [{**r, "met": r.get("met", r.get("outcome") == Outcome.PASS)}
                         for r in claims.get("requirements") or []],
    }


# ---------------------------------------------------------------- comparison views


def _ranked_candidates(comparison: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rank = {r.get("candidate"): r.get("rank") for r in comparison.get("ranking") or []}
    candidates = list(comparison.get("candidates") or [])
    order = {id(c): i for i, c in enumerate(candidates)}
    return sorted(candidates, key=lambda c: (rank.get(c.get("name")) is None, rank.get(c.get("name")) or 0,
                                             order[id(c)]))


def _category_label(category: Mapping[str, Any], many_profiles: bool) -> str:
    name = str(category.get("category", ""))
    return f"{name} ({category.get('profile', '')})" if many_profiles else name


def _matrix_row(requirement: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    results = requirement.get("results") or {}
    cells = [results.get(n) for n in names]
    return {**requirement, "cells": cells,
            "outcomes": sorted({str(c.get("outcome")) for c in cells if isinstance(c, Mapping)}),
            "weight_text": number(requirement.get("weight"))}


def _run_view(candidate: Mapping[str, Any], ref: str) -> dict[str, Any]:
    run = (candidate.get("profiles") or {}).get(ref) or {}
    counts = run.get("counts") or {}
    return {"candidate": candidate.get("name"), "ref": ref, **run,
            "report_link": relative_link(run.get("report")), "scorecard_link": relative_link(run.get("scorecard")),
            "counts_text": ", ".join(f"{v} {k}" for k, v in counts.items() if v)}


def _comparison_waivers(comparison: Mapping[str, Any]) -> list[dict[str, Any]]:
    tender = comparison.get("tender") or {}
    waivers = [{"profile": w.get("profile"), "requirement": w.get("requirement"), "reason": w.get("reason")}
               for w in tender.get("waivers") or []]
    listed = {(w["profile"], w["requirement"]) for w in waivers}
    waivers += [{"profile": r.get("profile"), "requirement": r.get("id"), "reason": r.get("waived")}
                for r in comparison.get("requirements") or []
                if r.get("waived") and (r.get("profile"), r.get("id")) not in listed]
    return waivers


def relative_link(path: Any) -> str | None:
    """`path` as an href when it is a relative path (resolved from the report's folder), else None (shown as text).

    Anything with a scheme, a host or an absolute path (`javascript:`, `https://`, `/etc`, `C:\\`) is refused,
    so a comparison file cannot make the report link out of itself.
    """
    if not isinstance(path, str) or not path.strip():
        return None
    path = path.strip().replace("\\", "/")
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or path.startswith("/") or ":" in path.split("/")[0]:
        return None
    return quote(path, safe="/._-~")


# ---------------------------------------------------------------- rendering


@functools.cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("conformance.reporters", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = number
    env.globals.update(OUTCOMES=OUTCOMES, OUTCOME_SYMBOL=_OUTCOME_SYMBOL, VERDICT_SYMBOL=_VERDICT_SYMBOL)
    return env


@functools.cache
def _asset(name: str) -> str:
    return (resources.files("conformance.reporters") / "templates" / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _render(template: str, context: dict[str, Any]) -> str:
    style, script = _asset("report.css"), _asset("report.js")
    csp = (f"default-src 'none'; style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; "
           "img-src 'none'; base-uri 'none'; form-action 'none'")
    return _environment().get_template(template).render(
        **context, style=Markup(style), script=Markup(script), csp=csp)
