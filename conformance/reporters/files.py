"""Write the report files next to the data they render: a run's reports beside its scorecard.json, a
comparison's beside comparison.json. Every format is rendered from the same dict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance.engine.files import log_harness_error, write_json_atomic, write_text_atomic
from conformance.reporters.csvfile import render_comparison_csv, render_ranking_csv
from conformance.reporters.html import render_comparison_html, render_html
from conformance.reporters.junit import render_junit
from conformance.reporters.markdown import render_comparison_markdown, render_markdown

__all__ = ["write_comparison", "write_run_reports"]



def _render_each(folder: Path, renderers: dict[str, tuple[str, Callable[[dict[str, Any]], str]]],
                 data: dict[str, Any]) -> dict[str, Path]:
    """Each file on its own: a renderer that raises costs only its file (the error is logged beside it)."""
    written: dict[str, Path] = {}
    for kind, (name, render) in renderers.items():
        try:
            written[kind] = write_text_atomic(folder / name, render(data))
        except Exception:
            log_harness_error(folder, f"{name} not written")
    return written


def write_run_reports(folder: Path, scorecard: dict[str, Any]) -> dict[str, Path]:
    """report.html, report.md and junit.xml for one run's scorecard."""
    return _render_each(folder, {"html": ("report.html", render_html), "markdown": ("report.md", render_markdown),
                                 "junit": ("junit.xml", render_junit)}, scorecard)


def write_comparison(folder: Path, comparison: dict[str, Any]) -> dict[str, Path]:
    """comparison.json first (the data), then .html, .md, .csv and ranking.csv."""
    json_path = folder / "comparison.json"
    write_json_atomic(json_path, comparison)
    return {"json": json_path, **_render_each(folder, {
        "html": ("comparison.html", render_comparison_html), "markdown": ("comparison.md", render_comparison_markdown),
        "csv": ("comparison.csv", render_comparison_csv), "ranking_csv": ("ranking.csv", render_ranking_csv)},
        comparison)}
