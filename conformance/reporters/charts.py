"""The HTML reports' charts: inline SVG drawn here (no script, nothing loaded), every value escaped with
`markupsafe.escape`. Bars of scores per category and candidate; latency per operation or task against its
service level. Also the small formatting helpers the report shares with them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

__all__ = ["CANDIDATE_COLOURS", "PERCENTILES", "category_chart", "clip", "grouped_chart", "latency_chart", "ms",
           "nice_scale", "number"]

CANDIDATE_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#6b4c9a", "#555555")
# Chart geometry (SVG user units).
_LABEL_W, _BAR_W, _VALUE_W, _ROW_H, _BAR_H = 190, 380, 90, 26, 16
# Latency chart: a group heading per operation or task, then one short row per percentile.
_LAT_LABEL_W, _LAT_BAR_W, _LAT_VALUE_W, _LAT_ROW_H, _LAT_BAR_H = 44, 380, 150, 20, 14
PERCENTILES = ("p50", "p95", "p99")


def category_chart(categories: Mapping[str, Mapping[str, Any]]) -> Markup:
    """Horizontal bars, one row per category, score 0-100 written beside each bar; null is `not scored`."""
    return grouped_chart([(str(name), [("", (cat or {}).get("score"))]) for name, cat in categories.items()], [],
                         title="Score per category (0–100)", chart_id="category-chart")


def grouped_chart(groups: Sequence[tuple[str, Sequence[tuple[str, Any]]]], candidates: Sequence[str], *,
                  title: str = "Category scores per candidate (0–100)", chart_id: str = "comparison-chart") -> Markup:
    """Horizontal bars grouped by category; within a group one bar per (label, score) pair.

    With a single unlabelled bar per group the category is the bar's own label. Each bar carries its number
    and its candidate's name as text, so the chart reads without colour.
    """
    colours = {n: CANDIDATE_COLOURS[i % len(CANDIDATE_COLOURS)] for i, n in enumerate(candidates)}
    grouped = any(label for _, bars in groups for label, _ in bars)
    width = _LABEL_W + _BAR_W + _VALUE_W
    parts: list[str] = []
    y = 24
    for group_label, bars in groups:
        if grouped:
            parts.append(f'<text class="group-label" x="4" y="{y + 13}">{clip(group_label, 60)}</text>')
            y += _ROW_H - 6
        for label, score in bars:
            name = label if grouped else group_label
            parts.append(_bar(name, score, y, colours.get(label), group_label if grouped else None))
            y += _ROW_H
        if grouped:
            y += 8
    height = y + 8
    grid = []
    for tick in (0, 25, 50, 75, 100):
        x = _LABEL_W + _BAR_W * tick / 100
        grid.append(f'<line class="grid" x1="{x:g}" y1="18" x2="{x:g}" y2="{height - 6}"></line>'
                    f'<text class="tick" x="{x:g}" y="12" text-anchor="middle">{tick}</text>')
    return Markup(
        f'<svg id="{chart_id}" class="chart" role="img" aria-labelledby="{chart_id}-title" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
        f'<title id="{chart_id}-title">{escape(title)}</title>{"".join(grid)}{"".join(parts)}</svg>')


def _bar(label: str, score: Any, y: int, colour: str | None, group: str | None) -> str:
    full = f"{group} — {label}" if group else label
    head = (f'<g class="bar-row" data-label="{escape(label)}"><title>{escape(full)}: '
            f'{escape(number(score)) if score is not None else "not scored"}</title>'
            f'<text class="bar-label" x="{_LABEL_W - 8}" y="{y + 12}" text-anchor="end">{clip(label, 26)}</text>'
            f'<rect class="track" x="{_LABEL_W}" y="{y}" width="{_BAR_W}" height="{_BAR_H}"></rect>')
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        return head + f'<text class="value not-scored" x="{_LABEL_W + 8}" y="{y + 12}">not scored</text></g>'
    value = max(0.0, min(100.0, float(score)))
    fill = f' fill="{colour}"' if colour else ""
    return head + (f'<rect class="bar" data-score="{value:g}" x="{_LABEL_W}" y="{y}" '
                   f'width="{_BAR_W * value / 100:.1f}" height="{_BAR_H}"{fill}></rect>'
                   f'<text class="value" x="{_LABEL_W + _BAR_W + 6}" y="{y + 12}">{escape(number(score))}</text></g>')


def latency_chart(entries: Sequence[Mapping[str, Any]], *, title: str, chart_id: str) -> Markup:
    """Horizontal bars grouped by operation (or task): p50, p95 and p99 in ms, on one linear scale from 0.

    Each entry has `name`, `p50`/`p95`/`p99` (a number, or None when not measured) and `over` (the percentiles
    the findings put above the service level, marked ✗). Each bar carries its percentile and its number as text,
    so the chart reads without colour. The scale runs to a round number at or above the largest value, labelled.
    """
    values = [v for e in entries for p in PERCENTILES if (v := ms(e.get(p))) is not None]
    top, step = nice_scale(max(values, default=0.0))
    width = _LAT_LABEL_W + _LAT_BAR_W + _LAT_VALUE_W
    parts: list[str] = []
    y = 24
    for entry in entries:
        name = str(entry.get("name", ""))
        parts.append(f'<text class="group-label" x="4" y="{y + 13}">{clip(name, 80)}</text>')
        y += _LAT_ROW_H
        over = entry.get("over") or ()
        for p in PERCENTILES:
            parts.append(_latency_bar(name, p, ms(entry.get(p)), top, y, p in over))
            y += _LAT_ROW_H
        y += 8
    height = y + 4
    grid = []
    ticks = round(top / step)
    for i in range(ticks + 1):
        x = _LAT_LABEL_W + _LAT_BAR_W * i / ticks
        label = number(round(i * step, 6)) + (" ms" if i == ticks else "")
        anchor = "end" if i == ticks else "middle"
        grid.append(f'<line class="grid" x1="{x:g}" y1="18" x2="{x:g}" y2="{height - 4}"></line>'
                    f'<text class="tick" x="{x:g}" y="12" text-anchor="{anchor}">{escape(label)}</text>')
    return Markup(
        f'<svg id="{escape(chart_id)}" class="chart latency-chart" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title" data-scale-max="{top:g}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'{"".join(grid)}{"".join(parts)}</svg>')


def _latency_bar(name: str, percentile: str, value: float | None, top: float, y: int, over: bool) -> str:
    said = "not measured" if value is None else f"{number(value)} ms" + (" ✗ above the service level" if over else "")
    head = (f'<g class="bar-row" data-label="{escape(name)}" data-percentile="{percentile}">'
            f'<title>{escape(name)}: {percentile} {escape(said)}</title>'
            f'<text class="bar-label" x="{_LAT_LABEL_W - 6}" y="{y + 11}" text-anchor="end">{percentile}</text>'
            f'<rect class="track" x="{_LAT_LABEL_W}" y="{y}" width="{_LAT_BAR_W}" height="{_LAT_BAR_H}"></rect>')
    if value is None:
        return head + f'<text class="value not-scored" x="{_LAT_LABEL_W + 6}" y="{y + 11}">not measured</text></g>'
    length = _LAT_BAR_W * min(value, top) / top
    if value > 0:
        length = max(length, 1.0)  # a few ms on a scale of seconds is still a visible bar
    marked = " over" if over else ""
    text = f"{number(value)} ms" + (" ✗ above limit" if over else "")
    return head + (f'<rect class="bar {percentile}{marked}" data-ms="{value:g}" x="{_LAT_LABEL_W}" y="{y}" '
                   f'width="{length:.1f}" height="{_LAT_BAR_H}"></rect>'
                   f'<text class="value{marked}" x="{_LAT_LABEL_W + length + 5:.1f}" y="{y + 11}">{escape(text)}</text>'
                   '</g>')


def ms(value: Any) -> float | None:
    """A latency in ms, or None when it is missing or not a finite non-negative number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def nice_scale(largest: float) -> tuple[float, float]:
    """(scale maximum, tick step): the step is 1, 2 or 5 x 10^k, at most five steps, the maximum a whole step."""
    if largest <= 0:
        return 1.0, 1.0
    magnitude = 10.0 ** math.floor(math.log10(largest / 5))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude * 5 >= largest)
    return max(1, math.ceil(largest / step - 1e-9)) * step, step


def clip(text: str, limit: int) -> Markup:
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def number(value: Any) -> str:
    """A number as a person writes it: 3.0 -> 3, 92.5 -> 92.5, 16.653 -> 16.65, 0.000123 -> 0.000123."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, float) and math.isfinite(value):
        if value == int(value):
            return str(int(value))
        return str(round(value, 2)) if abs(value) >= 1 else f"{value:.3g}"
    return str(value)
