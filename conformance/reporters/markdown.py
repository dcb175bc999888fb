"""Markdown summaries for a CI job summary or a pull-request comment. Pure: data in, text out.

`render_markdown(scorecard)` puts the verdict and score on the first line, then the counts, a table per
category, the requirements that did not pass, the waivers, and one collapsible `<details>` per failed
requirement with its findings and curl reproductions in fenced blocks. The result stays under `SIZE_LIMIT`
bytes (a pull-request comment holds 65,536 characters): findings that do not fit are counted, and the reader
is sent to scorecard.json for them.

`render_comparison_markdown(comparison)` ranks the candidates of a tender and shows, requirement by
requirement, where they differ or fail.

Text from a supplier (finding messages, curl) only ever appears inside fences; other text is escaped so that it
cannot break a table row or the HTML around it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from conformance.model import Outcome, Verdict

__all__ = ["SIZE_LIMIT", "render_comparison_markdown", "render_markdown"]

SIZE_LIMIT = 60_000
"""Upper bound, in UTF-8 bytes, of what `render_markdown` returns."""

MAX_FIELD_CHARS = 2_000
"""A finding's message or curl longer than this is cut, with a note."""

MAX_FINDINGS_SHOWN = 10
"""Findings shown per failed requirement; the rest are counted."""

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NEWLINES = re.compile(r"\r\n|\r|\n")
_COUNT_ORDER = (*Outcome, "planned", "waived")
_VERDICT_MARK: dict[str, str] = {Verdict.CONFORMANT: "✅", Verdict.NON_CONFORMANT: "❌", Verdict.INCOMPLETE: "⚠️"}


def _inline(value: object, *, newline: str = " ") -> str:
    """Text for a table cell or a list item: no HTML, no row-breaking `|` or newline."""
    text = _CONTROL.sub("", "" if value is None else str(value))
    text = html.escape(text, quote=False).replace("|", "\\|")
    text = re.sub(r"([\[\]!`*_])", r"\\\1", text)  # supplier text never becomes a link, an image or markup
    return _NEWLINES.sub(newline, text).strip()


def _cell(value: object) -> str:
    return _inline(value, newline="<br>")


def _code_span(value: object) -> str:
    """Short text as inline code (an operation, a code), with no backtick or pipe to break it."""
    text = _NEWLINES.sub(" ", _CONTROL.sub("", "–" if value is None else str(value))).replace("`", "'")
    text = text.replace("|", "¦")
    return f"`{text}`"


def _fenced(text: str, language: str = "") -> str:
    """A fenced block that the text cannot close early: the fence is longer than any backtick run in it."""
    text = _CONTROL.sub("", text).rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _cut(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n... ({len(text) - limit} more characters in scorecard.json)"


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _score(value: object) -> str:
    return "–" if value is None else str(value)


def _header(scorecard: Mapping[str, Any]) -> list[str]:
    profile: dict[str, Any] = scorecard.get("profile") or {}
    target: dict[str, Any] = scorecard.get("target") or {}
    run: dict[str, Any] = scorecard.get("run") or {}
    verdict = str(scorecard.get("verdict") or Verdict.INCOMPLETE)
    ref = f"{profile.get('id', '?')}@{profile.get('version', '?')}"
    mark = f"{_VERDICT_MARK[verdict]} " if verdict in _VERDICT_MARK else ""
    lines = [f"## {mark}{_inline(verdict)}: score {_score(scorecard.get('score'))}/100 ({_inline(ref)})", ""]
    who = " ".join(_inline(v) for v in (target.get("supplier"), target.get("product"), target.get("product_version"))
                   if v)
    facts = [f"**Profile:** {_inline(profile.get('title') or ref)} {_code_span(ref)}"]
    validity: dict[str, Any] = profile.get("validity") or {}
    if validity.get("text"):
        facts.append(f"**Validity:** {_inline(validity['text'])} (as of {_inline(validity.get('as_of'))}"
                     + (f"; {_inline(profile['status'])} when run" if profile.get("status") else "") + ")")
    if who or target.get("name"):
        facts.append(f"**Target:** {who or _inline(target.get('name'))}"
                     + (f" at {_code_span(target['base_url'])}" if target.get("base_url") else ""))
    run_facts = [f"{label} {_code_span(run[key])}" for label, key in
                 (("id", "id"), ("seed", "seed"), ("tier", "tier"), ("harness", "harness_version")) if key in run]
    if run_facts:
        facts.append("**Run:** " + ", ".join(run_facts) + (" (interrupted)" if run.get("interrupted") else ""))
    if scorecard.get("verdict_reason"):
        facts.append(f"**Why:** {_inline(scorecard['verdict_reason'])}")
    lines.extend(f"{fact}  " for fact in facts)
    counts: dict[str, int] = scorecard.get("counts") or {}
    keys = [k for k in _COUNT_ORDER if k in counts] + [k for k in counts if k not in _COUNT_ORDER]
    summary = ", ".join(f"{counts[k]} {_inline(k)}" for k in keys if counts[k])
    optional = scorecard.get("optional") or {}
    if optional.get("total"):
        summary += f"; optional (MAY): {optional.get('passed', 0)}/{optional['total']} passed"
    lines.append(f"**Requirements:** {summary or 'none'}")
    return lines


def _categories(scorecard: Mapping[str, Any]) -> list[str]:
    categories: dict[str, Any] = scorecard.get("categories") or {}
    if not categories:
        return []
    columns = [k for k in _COUNT_ORDER if any((c.get("counts") or {}).get(k) for c in categories.values())]
    rows = [[_cell(name), _score(c.get("score")), _score(c.get("weight")),
             *(str((c.get("counts") or {}).get(k, 0)) for k in columns)]
            for name, c in categories.items()]
    return ["", "### Categories", "", *_table(["category", "score", "weight", *columns], rows)]


def _short(value: object, limit: int = 300) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _detail(row: dict[str, Any]) -> str:
    findings = row.get("findings") or []
    if findings:
        more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
        return _cell(_short(findings[0].get("title") or findings[0].get("check")) + more)
    return _cell(_short(row.get("reason")))


def _not_passed(scorecard: Mapping[str, Any]) -> list[str]:
    rows = [r for r in scorecard.get("requirements") or []
            if r.get("status") != "planned" and r.get("waived") is None
            and r.get("outcome") not in (Outcome.PASS, Outcome.NOT_APPLICABLE)]
    lines: list[str] = []
    if rows:
        table = [[f"**{_cell(r['id'])}** {_cell(r.get('title'))}{_baselined(r)}", _cell(r.get("level")),
                  _cell(r.get("outcome")), _detail(r)] for r in rows]
        lines += ["", "### Did not pass", "", *_table(["requirement", "level", "outcome", "detail"], table)]
    planned = [r["id"] for r in scorecard.get("requirements") or [] if r.get("status") == "planned"]
    if planned:
        lines += ["", f"Planned (stated, not yet checked by this harness version, never scored): "
                      f"{', '.join(_inline(p) for p in planned)}"]
    return lines


def _baselined(row: Mapping[str, Any]) -> str:
    entry = row.get("baselined")
    if not isinstance(entry, Mapping):
        return ""
    return f" _(baseline {'expired' if entry.get('expired') else 'until'} {_cell(entry.get('expires'))})_"


def _not_applicable(scorecard: Mapping[str, Any]) -> list[str]:
    rows = [r for r in scorecard.get("requirements") or [] if r.get("outcome") == Outcome.NOT_APPLICABLE]
    if not rows:
        return []
    return ["", "### Not applicable to this target (not scored)", "",
            *(f"- **{_inline(r['id'])}** {_inline(r.get('title'))}: {_inline(r.get('reason'))}" for r in rows)]


def _waived(scorecard: Mapping[str, Any]) -> list[str]:
    rows = [r for r in scorecard.get("requirements") or [] if r.get("waived") is not None]
    if not rows:
        return []
    return ["", "### Waived (run and shown, not scored)", "",
            *(f"- **{_inline(r['id'])}** {_inline(r.get('title'))}: {_inline(r['waived'])} "
              f"(measured: {_inline(r.get('outcome'))})" for r in rows)]


def _baseline(scorecard: Mapping[str, Any]) -> list[str]:
    baseline = scorecard.get("baseline")
    if not isinstance(baseline, Mapping):
        return []
    rows = {r.get("id"): r for r in scorecard.get("requirements") or []}
    lines = ["", f"### Baseline (the CI job goes by: {_inline(baseline.get('verdict'))}: "
                 f"{_inline(baseline.get('verdict_reason'))})", ""]
    for key, words in (("accepted", "accepted failure"), ("expired", "**expired**: fails the job"),
                       ("now_passing", "passes now: remove the entry")):
        for rid in baseline.get(key) or []:
            entry = (rows.get(rid) or {}).get("baselined") or {}
            lines.append(f"- **{_inline(rid)}** {words}; {_inline(entry.get('reason'))} (accepted by "
                         f"{_inline(entry.get('accepted_by'))}, until {_inline(entry.get('expires'))})")
    return lines if len(lines) > 3 else lines[:2]


def _finding(index: int, finding: dict[str, Any]) -> str:
    facts = [f"x{finding.get('occurrences', 1)}"]
    if finding.get("operation"):
        facts.append(_code_span(finding["operation"]))
    if finding.get("status_code") is not None:
        facts.append(f"status {finding['status_code']}")
    if finding.get("code") or finding.get("check"):
        facts.append(f"check {_code_span(finding.get('code') or finding.get('check'))}")
    if finding.get("seed") is not None:
        facts.append(f"seed {finding['seed']}")
    if finding.get("also_breaks"):
        facts.append(f"also breaks {', '.join(_inline(rid) for rid in finding['also_breaks'])}")
    parts = [f"**{index}. {_inline(finding.get('title') or '')}** ({', '.join(facts)})"]
    if finding.get("message"):
        parts.append(_fenced(_cut(str(finding["message"])), "text"))
    if finding.get("curl"):
        parts.append("Reproduce:\n\n" + _fenced(_cut(str(finding["curl"])), "bash"))
    return "\n\n".join(parts)


def _details(scorecard: Mapping[str, Any], used: int) -> list[str]:
    """One <details> per failed requirement, within what is left of SIZE_LIMIT after `used` bytes."""
    failed = [r for r in scorecard.get("requirements") or [] if r.get("outcome") == Outcome.FAIL]
    if not failed:
        return []
    blocks: list[str] = ["", "### Findings"]
    used += sum(_size(b) + 1 for b in blocks)
    for position, row in enumerate(failed):
        findings = list(row.get("findings") or [])
        waived = " (waived)" if row.get("waived") is not None else ""
        summary = html.escape(_CONTROL.sub("", f"{row['id']} {row.get('title') or ''}{waived}: "
                                                f"{len(findings)} finding(s)"), quote=False)
        head = f"\n<details>\n<summary>{_NEWLINES.sub(' ', summary)}</summary>\n"
        tail = "\n</details>"
        # room kept for the closing lines of this and every later requirement
        reserve = (len(failed) - position) * 400
        parts = [head]
        size = used + _size(head) + _size(tail)
        if row.get("reason"):
            reason = f"\n{_inline(_short(row['reason'], 500))}\n"
            parts.append(reason)
            size += _size(reason)
        shown = 0
        for index, finding in enumerate(findings[:MAX_FINDINGS_SHOWN], start=1):
            block = "\n" + _finding(index, finding) + "\n"
            if size + _size(block) + reserve > SIZE_LIMIT:
                break
            parts.append(block)
            size += _size(block)
            shown += 1
        if shown < len(findings):
            note = f"\n_{len(findings) - shown} more findings in scorecard.json_\n"
            parts.append(note)
            size += _size(note)
        parts.append(tail)
        blocks.append("".join(parts))
        used = size
    return blocks


def render_markdown(scorecard: Mapping[str, Any]) -> str:
    """A summary of one scorecard: verdict and score first, failures expandable, under SIZE_LIMIT bytes."""
    lines = [*_header(scorecard), *_categories(scorecard), *_not_passed(scorecard), *_not_applicable(scorecard),
             *_waived(scorecard),
             *_baseline(scorecard)]
    text = "\n".join(lines)
    details = _details(scorecard, _size(text) + 200)
    return "\n".join([text, *details]) + "\n"


# --- comparison ------------------------------------------------------------------------------------------------


def _yes_no(value: object) -> str:
    return "yes" if value is True else "no" if value is False else "–"


def _comparison_header(comparison: Mapping[str, Any]) -> list[str]:
    lines = [f"## {_inline(comparison.get('title') or 'Comparison')}", ""]
    tender = comparison.get("tender")
    if tender:
        facts = [f"**Tender:** {_inline(tender.get('title') or tender.get('id') or '')}"
                 + (f" {_code_span(tender['id'])}" if tender.get("id") else "")]
        thresholds = tender.get("thresholds") or {}
        rules = []
        if thresholds.get("all_must"):
            rules.append("every MUST requirement passes")
        if thresholds.get("min_score") is not None:
            rules.append(f"score at least {thresholds['min_score']}")
        facts.append(f"**Thresholds:** {'; '.join(rules) if rules else 'none'}")
        weights = tender.get("category_weights") or {}
        if weights:
            facts.append("**Category weights:** " + ", ".join(f"{_inline(k)} {v}" for k, v in weights.items()))
        lines.extend(f"{fact}  " for fact in facts)
    profiles = comparison.get("profiles") or []
    if profiles:
        lines.append("**Profiles:** " + ", ".join(
            f"{_inline(p.get('title') or p.get('ref'))} {_code_span(p.get('ref'))} (weight {p.get('weight', 1)})"
            for p in profiles) + "  ")
    if comparison.get("generated_at"):
        lines.append(f"**Generated:** {_inline(comparison['generated_at'])}")
    return lines


def _ranking(comparison: Mapping[str, Any]) -> list[str]:
    ranking = comparison.get("ranking") or []
    if not ranking:
        return ["", "No candidate was compared."]
    rows = [[str(r.get("rank", "")), _cell(r.get("candidate")), _cell(r.get("supplier")),
             f"{_VERDICT_MARK.get(str(r.get('verdict')), '')} {_cell(r.get('verdict'))}".strip(),
             _score(r.get("score")), _yes_no(r.get("meets_thresholds"))] for r in ranking]
    lines = ["", "### Ranking", "",
             *_table(["rank", "candidate", "supplier", "verdict", "score", "meets thresholds"], rows)]
    reasons = [(r.get("candidate"), reason) for r in ranking for reason in r.get("reasons") or []]
    if reasons:
        lines += ["", *(f"- **{_inline(name)}**: {_inline(reason)}" for name, reason in reasons)]
    return lines


def _problems(comparison: Mapping[str, Any]) -> list[str]:
    """Profile runs that could not be scored, and claims that were not demonstrated."""
    items = []
    for candidate in comparison.get("candidates") or []:
        name = _inline(candidate.get("name"))
        for ref, result in (candidate.get("profiles") or {}).items():
            if (result or {}).get("error"):
                items.append(f"- **{name}** {_code_span(ref)}: {_inline(result['error'])}")
        for claim in candidate.get("claims") or []:
            if claim.get("met") is False:
                items.append(f"- **{name}** claims {_inline(claim.get('kind'))} {_code_span(claim.get('item'))}, "
                             f"demonstrated: {_inline(claim.get('demonstrated'))}")
    return ["", "### Problems and unmet claims", "", *items] if items else []


def _category_scores(comparison: Mapping[str, Any], names: list[str]) -> list[str]:
    categories = comparison.get("categories") or []
    if not categories or not names:
        return []
    rows = [[_cell(c.get("profile")), _cell(c.get("category")), _score(c.get("weight")),
             *(_score((c.get("scores") or {}).get(n)) for n in names)] for c in categories]
    return ["", "### Category scores", "",
            *_table(["profile", "category", "weight", *(_cell(n) for n in names)], rows)]


def _outcome_cell(result: dict[str, Any] | None) -> str:
    if not result:
        return "–"
    outcome = _cell(result.get("outcome"))
    findings = result.get("findings") or 0
    return f"**{outcome}** ({findings})" if result.get("outcome") == Outcome.FAIL else outcome


def _requirement_differences(comparison: Mapping[str, Any], names: list[str]) -> list[str]:
    requirements = comparison.get("requirements") or []
    interesting = []
    for req in requirements:
        results: dict[str, Any] = req.get("results") or {}
        outcomes = [(results.get(n) or {}).get("outcome") for n in names]
        if len(set(outcomes)) > 1 or Outcome.FAIL in outcomes:
            interesting.append(req)
    if not interesting:
        return ["", "Every candidate had the same outcome on every requirement, and none failed."] if names else []
    several_profiles = len({r.get("profile") for r in requirements}) > 1
    header = [*(["profile"] if several_profiles else []), "requirement", "level",
              *(_cell(n) for n in names)]
    rows = []
    for req in interesting:
        waived = " _(waived)_" if req.get("waived") is not None else ""
        label = f"**{_cell(req.get('id'))}** {_cell(req.get('title'))}{waived}"
        rows.append([*([_cell(req.get("profile"))] if several_profiles else []), label, _cell(req.get("level")),
                     *(_outcome_cell((req.get("results") or {}).get(n)) for n in names)])
    return ["", "### Requirements where candidates differ or fail", "",
            "Outcome per candidate; the number of findings follows a failure.", "", *_table(header, rows)]


def _comparison_waivers(comparison: Mapping[str, Any]) -> list[str]:
    tender = comparison.get("tender") or {}
    waivers = [(w.get("profile"), w.get("requirement"), w.get("reason")) for w in tender.get("waivers") or []]
    if not waivers:
        waivers = [(r.get("profile"), r.get("id"), r["waived"]) for r in comparison.get("requirements") or []
                   if r.get("waived") is not None]
    if not waivers:
        return []
    return ["", "### Waivers (run and shown, not scored)", "",
            *(f"- {_code_span(profile)} **{_inline(rid)}**: {_inline(reason)}" for profile, rid, reason in waivers)]


def _interoperability(comparison: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for matrix in comparison.get("interoperability") or []:
        names = [str(n) for n in matrix.get("candidates") or []]
        system = _inline(matrix.get("system"))
        ids = [str(r.get("id")) for r in matrix.get("requirements") or []]
        pairs = {(str(p.get("target")), str(p.get("peer"))): p for p in matrix.get("pairs") or []}
        rows = []
        for a in names:
            cells = []
            for b in names:
                pair = pairs.get((a, b))
                if a == b:
                    cells.append("–")
                elif pair is None or pair.get("status") == "not-run":
                    cells.append("not run")
                else:
                    outcomes = pair.get("outcomes") or {}
                    shown = [(rid, _cell(outcomes.get(rid) or Outcome.NOT_RUN)) for rid in ids]
                    cells.append("<br>".join(f"{_cell(rid)} " + (f"**{o}**" if o == Outcome.FAIL else o)
                                             for rid, o in shown))
            rows.append([f"**{_cell(a)}**", *cells])
        lines += ["", f"### Interoperability: {_code_span(matrix.get('profile'))}", "",
                  f"Rows: the candidate tested as the target; columns: the candidate playing the {system}.", "",
                  *_table([f"target \\ {system}", *(_cell(n) for n in names)], rows)]
        failed = [(p, rid, msg) for p in matrix.get("pairs") or [] for rid, msg in (p.get("findings") or {}).items()]
        if failed:
            lines += ["", *(f"- {_inline(p.get('target'))} → {_inline(p.get('peer'))}, {_inline(rid)}: "
                            f"{_inline(_short(msg))}" for p, rid, msg in failed)]
    return lines


def render_comparison_markdown(comparison: Mapping[str, Any]) -> str:
    """A tender's comparison: the ranking, then the requirements on which candidates differ or fail."""
    names = [str(r.get("candidate")) for r in comparison.get("ranking") or []]
    for candidate in comparison.get("candidates") or []:
        if candidate.get("name") is not None and str(candidate["name"]) not in names:
            names.append(str(candidate["name"]))
    lines = [*_comparison_header(comparison), *_ranking(comparison), *_problems(comparison),
             *_category_scores(comparison, names), *_requirement_differences(comparison, names),
             *_interoperability(comparison), *_comparison_waivers(comparison)]
    return "\n".join(lines) + "\n"
