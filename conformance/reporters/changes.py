"""A profile diff (`conformance profiles diff`, `ProfileDiff.to_dict()`) as Markdown for a change board, and on
the terminal. Breaking changes first, each with the version bump it needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["changes_markdown", "render_changes"]

_ORDER = {"breaking": 0, "compatible": 1, "note": 2}


def _sorted(changes: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(changes, key=lambda c: (_ORDER.get(str(c["severity"]), 3), str(c["where"]), str(c["rule"])))


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def changes_markdown(diff: Mapping[str, Any]) -> str:
    lines = [f"# Changes from {diff['old']} to {diff['new']}", ""]
    total = len(diff["requirements"]) + len(diff["interface"])
    lines.append(f"{total} change(s), **{diff['breaking']} breaking**." if total else "No changes.")
    for title, key in (("Requirements", "requirements"), ("Interface", "interface")):
        changes = _sorted(diff[key])
        lines += ["", f"## {title}", ""]
        if not changes:
            lines.append("No changes.")
            continue
        lines += ["| severity | needs | where | change | rule |", "| --- | --- | --- | --- | --- |"]
        for c in changes:
            severity = f"**{c['severity']}**" if c["severity"] == "breaking" else c["severity"]
            lines.append(f"| {severity} | {c['needs']} | `{_cell(c['where'])}` | {_cell(c['message'])} | "
                         f"{c['rule']} |")
    return "\n".join(lines) + "\n"


def render_changes(console: Console, diff: Mapping[str, Any]) -> None:
    total = len(diff["requirements"]) + len(diff["interface"])
    breaking = f"[red]{diff['breaking']} breaking[/]" if diff["breaking"] else "0 breaking"
    console.print(f"[bold]{escape(str(diff['old']))} -> {escape(str(diff['new']))}[/]: {total} change(s), {breaking}")
    for title, key in (("requirements", "requirements"), ("interface", "interface")):
        changes = _sorted(diff[key])
        if not changes:
            console.print(f"{title}: no changes")
            continue
        table = Table("severity", "needs", "where", "change", "rule", title=title, title_justify="left")
        for c in changes:
            colour = {"breaking": "red", "compatible": "green"}.get(str(c["severity"]), "dim")
            table.add_row(f"[{colour}]{c['severity']}[/]", str(c["needs"]), escape(str(c["where"])),
                          escape(str(c["message"])), str(c["rule"]))
        console.print(table)
