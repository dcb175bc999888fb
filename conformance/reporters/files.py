"""Write the report files next to the data they render: a run's reports beside its scorecard.json, a
comparison's beside comparison.json. Every format is rendered from the same dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.reporters.csvfile import render_comparison_csv, render_ranking_csv
from conformance.reporters.html import render_comparison_html, render_html
from conformance.reporters.junit import render_junit
from conformance.reporters.markdown import render_comparison_markdown, render_markdown
from conformance.rundir import write_json_atomic

__all__ = ["write_comparison", "write_run_reports"]


def _write_text(path: Path, text: str) -> Path:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    tmp.replace(path)
    return path


def write_run_reports(folder: Path, scorecard: dict[str, Any]) -> dict[str, Path]:
    """report.html, report.md and junit.xml for one run's scorecard."""
    return {
        "html": _write_text(folder / "report.html", render_html(scorecard)),
        "markdown": _write_text(folder / "report.md", render_markdown(scorecard)),
        "junit": _write_text(folder / "junit.xml", render_junit(scorecard)),
    }


def write_comparison(folder: Path, comparison: dict[str, Any]) -> dict[str, Path]:
    """comparison.json, .html, .md, .csv and ranking.csv."""
    json_path = folder / "comparison.json"
    write_json_atomic(json_path, comparison)
    return {
        "json": json_path,
        "html": _write_text(folder / "comparison.html", render_comparison_html(comparison)),
        "markdown": _write_text(folder / "comparison.md", render_comparison_markdown(comparison)),
        "csv": _write_text(folder / "comparison.csv", render_comparison_csv(comparison)),
        "ranking_csv": _write_text(folder / "ranking.csv", render_ranking_csv(comparison)),
    }
