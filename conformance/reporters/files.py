"""Write the report files next to the data they render: a run's reports beside its scorecard.json, a
comparison's beside comparison.json. Every format is rendered from the same dict."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.engine.files import log_harness_error, write_json_atomic, write_text_atomic
from conformance.reporters.badge import render_badge
from conformance.reporters.csvfile import render_comparison_csv, render_ranking_csv
from conformance.reporters.html import render_comparison_html, render_html
from conformance.reporters.junit import render_junit
from conformance.reporters.markdown import render_comparison_markdown, render_markdown

__all__ = ["COMPARISON_REPORTERS", "RUN_REPORTERS", "Reporter", "write_comparison", "write_run_reports"]



@dataclass(frozen=True)
class Reporter:
    """One report file: what it is called and the function that renders it from the scorecard or comparison."""

    kind: str
    file: str
    render: Callable[[Mapping[str, Any]], str]


# Adding a report format is one entry here: its renderer takes the same dict as the others.
RUN_REPORTERS = (
    Reporter("html", "report.html", render_html),
    Reporter("markdown", "report.md", render_markdown),
    Reporter("junit", "junit.xml", render_junit),
    Reporter("badge", "badge.svg", render_badge),
)
COMPARISON_REPORTERS = (
    Reporter("html", "comparison.html", render_comparison_html),
    Reporter("markdown", "comparison.md", render_comparison_markdown),
    Reporter("csv", "comparison.csv", render_comparison_csv),
    Reporter("ranking_csv", "ranking.csv", render_ranking_csv),
)


def _render_each(folder: Path, reporters: tuple[Reporter, ...], data: Mapping[str, Any]) -> dict[str, Path]:
    """Each file on its own: a renderer that raises costs only its file (the error is logged beside it)."""
    written: dict[str, Path] = {}
    for reporter in reporters:
        try:
            written[reporter.kind] = write_text_atomic(folder / reporter.file, reporter.render(data))
        except Exception:
            log_harness_error(folder, f"{reporter.file} not written")
    return written


def write_run_reports(folder: Path, scorecard: Mapping[str, Any]) -> dict[str, Path]:
    """report.html, report.md, junit.xml and badge.svg for one run's scorecard."""
    return _render_each(folder, RUN_REPORTERS, scorecard)


def write_comparison(folder: Path, comparison: Mapping[str, Any]) -> dict[str, Path]:
    """comparison.json first (the data), then .html, .md, .csv and ranking.csv."""
    json_path = folder / "comparison.json"
    write_json_atomic(json_path, comparison)
    return {"json": json_path, **_render_each(folder, COMPARISON_REPORTERS, comparison)}
