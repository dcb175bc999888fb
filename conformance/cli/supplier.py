"""The supplier's commands for its own CI: `conformance diff OLD NEW`.

Exit codes: 0 no regression; 1 a regression (a requirement that fails now and did not, one that errors after
passing, a load percentile that rose beyond the threshold); 2 usage (unreadable input, different profiles).
Registered by conformance/cli/main.py through `COMMANDS`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

__all__ = ["COMMANDS"]

console = Console(highlight=False, soft_wrap=True, emoji=False)
NO_REGRESSION, REGRESSION = 0, 1


@click.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["terminal", "md"]), default="terminal", show_default=True,
              help="md: Markdown for a CI job summary or a merge-request note.")
@click.option("--latency-threshold", type=click.FloatRange(min=0), default=20.0, show_default=True,
              metavar="PERCENT", help="A load percentile that rises by more than this (and by 5 ms) is a regression.")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the Markdown diff to this file.")
def diff(old: Path, new: Path, fmt: str, latency_threshold: float, out: Path | None) -> None:
    """What changed from OLD to NEW (scorecard.json files, run directories or bundles of one run, same profile):
    outcomes, findings, score, load latency. Exit 1 on any regression."""
    from conformance.engine.files import write_text_atomic
    from conformance.supplier.diff import diff_scorecards, load_scorecard, render_markdown

    result = diff_scorecards(load_scorecard(old), load_scorecard(new), old_label=str(old), new_label=str(new),
                             latency_threshold_pct=latency_threshold)
    markdown = render_markdown(result)
    if out is not None:
        write_text_atomic(out, markdown)
    if fmt == "md":
        click.echo(markdown, nl=False)
    else:
        console.print(f"[bold]{escape(result.profile)}[/]: verdict {result.old_verdict} -> {result.new_verdict}, "
                      f"score {result.old_score:g} -> {result.new_score:g} ({result.score_delta:+g})")
        for change in result.changes:
            mark = "[red]regression[/]" if change.regression else "changed"
            console.print(f"  {mark} {escape(change.id)} {change.old} -> {change.new}  {escape(change.title)}")
        for finding in result.findings_new:
            console.print(f"  new finding {escape(str(finding.get('requirement_id')))}: "
                          f"{escape(str(finding.get('title')))}")
        for finding in result.findings_gone:
            console.print(f"  gone finding {escape(str(finding.get('requirement_id')))}: "
                          f"{escape(str(finding.get('title')))}")
        for move in result.latency:
            mark = "[red]regression[/]" if move.regression else "faster"
            console.print(f"  {mark} {escape(move.requirement_id)} {escape(move.name)} {move.percentile} "
                          f"{move.old_ms:g} -> {move.new_ms:g} ms")
        for note in result.notes:
            console.print(f"  note: {escape(note)}")
        regressions = result.regressions
        console.print(f"{len(regressions)} regression(s)" if regressions else "no regression")
    sys.exit(REGRESSION if result.regressions else NO_REGRESSION)


COMMANDS = [diff]
