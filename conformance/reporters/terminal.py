"""Terminal output: live progress while a run goes, a summary table at the end (rich)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from conformance.model import Outcome, Requirement, Result, Verdict

__all__ = ["TerminalListener", "literal", "printable", "render_ranking", "render_scorecard"]


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with control characters (ESC, CR, BEL, ... and newlines unless kept) shown as escapes (`\\x1b`), so
    text read from a file or an answer cannot move the cursor, recolour or fake a line of output."""
    return "".join(ch if ch.isprintable() or (keep_newlines and ch == "\n") or ch == " "
                   else ch.encode("unicode_escape").decode("ascii") for ch in text)


def literal(text: str, *, keep_newlines: bool = False) -> str:
    """`printable(text)` with rich markup escaped: for text from files or targets inside a markup string. The
    consoles are made with `emoji=False`, so `profile.yaml:100:` stays as written."""
    return escape(printable(text, keep_newlines=keep_newlines))

OUTCOME_STYLE: dict[str, str] = {Outcome.PASS: "green", Outcome.FAIL: "bold red", Outcome.ERROR: "yellow",
                                  Outcome.SKIPPED: "dim", Outcome.NOT_RUN: "dim",
                                  Outcome.NOT_APPLICABLE: "dim"}
VERDICT_STYLE: dict[str, str] = {Verdict.CONFORMANT: "bold green", Verdict.NON_CONFORMANT: "bold red",
                                  Verdict.INCOMPLETE: "bold yellow"}


class TerminalListener:
    """A RunListener drawing one progress bar over requirements, with the current step beside it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.fields[current]}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("{task.fields[step]}", style="dim"),
            console=console, transient=True,
        )
        self.task: Any = None

    def __enter__(self) -> TerminalListener:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def planned(self, total: int, run_dir: Path) -> None:
        self.console.print(f"run directory: {literal(str(run_dir))}")
        self.task = self.progress.add_task("run", total=total, current="", step="")

    def requirement_started(self, requirement: Requirement) -> None:
        self.progress.update(self.task, current=literal(requirement.id), step=literal(requirement.title[:50]))

    def requirement_progress(self, requirement: Requirement, text: str) -> None:
        self.progress.update(self.task, step=literal(text[:70]))

    def requirement_finished(self, requirement: Requirement, result: Result) -> None:
        style = OUTCOME_STYLE.get(result.outcome.value, "")
        extra = f" ({len(result.findings)} finding(s))" if result.findings else ""
        if result.outcome is Outcome.NOT_APPLICABLE:
            extra = f": {result.reason or 'its condition does not hold'}"
        self.console.print(f"  [{style}]{result.outcome.value:>7}[/] {literal(requirement.id)} "
                           f"{literal(requirement.title)}{extra}")
        self.progress.advance(self.task)

    def warning(self, text: str) -> None:
        self.console.print(f"[yellow]warning:[/] {literal(text)}")


def render_scorecard(console: Console, scorecard: Mapping[str, Any], *, run_dir: Path | None = None,
                     show_findings: int = 3) -> None:
    table = Table(title=literal(f"{scorecard['profile']['id']} {scorecard['profile']['version']} — "
                               f"{scorecard['target'].get('supplier', '')}"), show_lines=False)
    for column in ("requirement", "level", "category", "outcome", "detail"):
        table.add_column(column, overflow="fold")
    planned = []
    for row in scorecard["requirements"]:
        if row["status"] == "planned":
            planned.append(row["id"])
            continue
        style = OUTCOME_STYLE.get(row["outcome"], "dim")
        waived = f"[magenta]waived[/] ({literal(row['waived'][:80])}) " if row.get("waived") else ""
        table.add_row(row["id"], row["level"], row["category"], f"[{style}]{row['outcome']}[/]",
                      waived + _baselined(row.get("baselined")) + literal((row["reason"] or "")[:120]))
    console.print(table)
    if planned:
        console.print(f"[dim]planned (stated, not yet checked), never scored: {', '.join(planned)}[/]")
    for row in scorecard["requirements"]:
        for finding in row["findings"][:show_findings]:
            console.print(f"[bold red]{row['id']}[/] {literal(finding['operation'] or '')}: "
                          f"{literal(finding['title'])} (x{finding['occurrences']})"
                          + (f" also breaks {literal(', '.join(finding['also_breaks']))}"
                             if finding.get("also_breaks") else ""))
            first = finding["message"].splitlines()[0] if finding["message"] else ""
            console.print(f"  {printable(first)}", markup=False, highlight=False)
            if finding.get("curl"):
                console.print(f"  reproduce: {printable(finding['curl'], keep_newlines=True)}", soft_wrap=True,
                          markup=False, highlight=False)
        if len(row["findings"]) > show_findings:
            console.print(f"  ... {len(row['findings']) - show_findings} more finding(s) for {row['id']} "
                          "in scorecard.json")
    cats = ", ".join(f"{name} {c['score'] if c['score'] is not None else '-'}"
                     for name, c in scorecard["categories"].items())
    console.print(f"categories: {cats}")
    counts = scorecard["counts"]
    console.print("requirements: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v))
    validity = scorecard["profile"].get("validity") or {}
    if validity.get("text"):
        style = "green" if validity.get("status") == "active" else ("yellow" if validity.get("valid") else "red")
        console.print(f"validity: [{style}]{escape(str(validity['text']))}[/] (as of {validity.get('as_of')})")
    verdict = scorecard["verdict"]
    console.print(f"verdict: [{VERDICT_STYLE[verdict]}]{verdict}[/]  score: [bold]{scorecard['score']}[/]/100"
                  f"  ({scorecard['verdict_reason']})")
    _baseline_lines(console, scorecard.get("baseline"))
    claims = scorecard.get("claims")
    if claims:
        unmet = [r["id"] for r in claims["requirements"] if not r["met"]]
        console.print(f"claimed: profile {'yes' if claims['profile'] else 'no'}, demonstrated {claims['demonstrated']}"
                      + (f"; claimed but not demonstrated: {', '.join(unmet)}" if unmet else ""))
    if run_dir is not None:
        console.print(f"scorecard: {run_dir / 'scorecard.json'}")
        if (run_dir / "report.html").exists():
            console.print(f"report:    {run_dir / 'report.html'} (also report.md, junit.xml, badge.svg)")


def render_ranking(console: Console, comparison: Mapping[str, Any]) -> None:
    """The ranking of a comparison: one line per candidate, best first, with why a threshold was missed."""
    table = Table(title=literal(comparison["title"]))
    for column in ("rank", "candidate", "supplier", "verdict", "score", "meets thresholds"):
        table.add_column(column, overflow="fold")
    for row in comparison["ranking"]:
        verdict = row["verdict"]
        met = "[green]yes[/]" if row["meets_thresholds"] else "[red]no[/]: " + literal("; ".join(row["reasons"]))
        table.add_row(str(row["rank"]), literal(row["candidate"]), literal(row["supplier"]),
                      f"[{VERDICT_STYLE[verdict]}]{verdict}[/]", f"{row['score']:g}", met)
    console.print(table)
    tender = comparison.get("tender") or {}
    for waiver in tender.get("waivers", []):
        console.print(f"[magenta]waived[/] {waiver['requirement']} ({waiver['profile']}): {literal(waiver['reason'])}")


def _baselined(entry: Mapping[str, Any] | None) -> str:
    if not entry:
        return ""
    word = "[red]baseline expired[/]" if entry.get("expired") else "[magenta]baselined[/]"
    return f"{word} (until {literal(str(entry.get('expires')))}: {literal(str(entry.get('reason'))[:80])}) "


def _baseline_lines(console: Console, baseline: Mapping[str, Any] | None) -> None:
    """What the baseline accepted, what expired, what can go, and the verdict the exit code follows."""
    if not baseline:
        return
    for key, words in (("accepted", "[magenta]baselined[/] (accepted, not failing the job)"),
                       ("expired", "[red]baseline expired[/] (failing the job)"),
                       ("now_passing", "[green]baselined but passing now[/]: remove these entries")):
        if baseline.get(key):
            console.print(f"{words}: {literal(', '.join(baseline[key]))}")
    console.print(f"with the baseline: [{VERDICT_STYLE.get(baseline['verdict'], 'bold')}]{baseline['verdict']}[/] "
                  f"({literal(str(baseline['verdict_reason']))})")
