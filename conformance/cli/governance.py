"""`conformance profiles ...`: list, show and lint profiles, and govern their versions: `diff` two versions,
`lint --against` the previous one (semantic versioning enforced); `bundle` makes a profile's interface
self-contained. Registered on the main command in main.py."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance.errors import ConformanceError
from conformance.governance.diff import diff_profiles
from conformance.governance.semver import version_problems
from conformance.inputs.profiles import find_profiles, interface_source, lint_profile, load_profile
from conformance.inputs.references import (
    CACHE_ENV,
    bundle_interface,
    cache_dir,
    external_refs,
    write_bundle,
)
from conformance.model import Lifecycle, Profile
from conformance.reporters.terminal import printable

__all__ = ["profiles"]

console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
USAGE_EXIT = 2  # ExitCode.USAGE of conformance.cli.main


@click.group()
def profiles() -> None:
    """List, show, lint and diff profiles."""


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else "-"


@profiles.command("list")
def profiles_list() -> None:
    """Every profile version found (./profiles, $CONFORMANCE_PROFILES_PATH, the shipped ones), with its status,
    dates and successor, and what a result against it is worth today."""
    today = dt.date.today()
    table = Table("id", "version", "status", "published", "valid today", "successor", "requirements", "path")
    for entry in find_profiles():
        try:
            p = load_profile(entry.path)
        except ConformanceError as exc:
            table.add_row(entry.id, entry.version, "[red]invalid[/]", "-", escape(str(exc)[:80]), "-", "-",
                          str(entry.path))
            continue
        life = p.governance
        table.add_row(p.id, p.version, life.status.value, _day(life.published), _short(life, today),
                      life.superseded_by or "-", str(len(p.requirements)), str(entry.path))
    console.print(table)


def _short(life: Lifecycle, today: dt.date) -> str:
    validity = life.validity(today)
    if not validity.valid:
        return f"no: retired {_day(validity.until)}" if validity.until else f"no ({validity.status.value})"
    return f"until {validity.until.isoformat()}" if validity.until else "yes"


def _lifecycle_json(life: Lifecycle, today: dt.date) -> dict[str, Any]:
    return {**life.to_dict(), "validity": life.validity(today).to_dict()}


@profiles.command("show")
@click.argument("profile")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def profiles_show(profile: str, as_json: bool) -> None:
    """Show a profile's lifecycle, decision and requirements (ID, ID@VERSION or a folder)."""
    p = load_profile(profile)
    today = dt.date.today()
    life = p.governance
    if as_json:
        data: dict[str, Any] = {
            "id": p.id, "version": p.version, "title": p.title, "status": p.status.value, "digest": p.digest,
            "lifecycle": _lifecycle_json(life, today),
            "requirements": [{"id": r.id, "title": r.title, "level": r.level.value, "category": r.category,
                              "weight": r.weight, "status": r.status.value, "check_kind": r.check.kind.value}
                             for r in p.requirements],
            "parameters": [{"name": q.name, "description": q.description, "required": q.required,
                            "default": q.default} for q in p.parameters]}
        click.echo(json.dumps(data, indent=2))
        return
    console.print(f"[bold]{escape(p.title)}[/] ({p.id} {p.version}, {p.status.value})\n{escape(p.summary)}\n"
                  f"digest {p.digest}")
    dates = ", ".join(f"{k} {_day(getattr(life, k))}" for k in ("published", "deprecated", "retires")
                      if getattr(life, k))
    console.print(f"lifecycle: {life.status.value}{f' ({dates})' if dates else ''}; "
                  f"{escape(life.validity(today).text)} as of {today.isoformat()}")
    if life.supersedes or life.superseded_by:
        console.print(f"supersedes {life.supersedes or '-'}; superseded by {life.superseded_by or '-'}")
    if life.decision:
        d = life.decision
        console.print(f"decided by {escape(d.decided_by)} on {d.decided_on.isoformat()}"
                      f"{f' (consultation {escape(d.consultation)})' if d.consultation else ''}: "
                      f"{escape(d.rationale)}", markup=True)
    for q in p.parameters:  # what a run against this profile must be given (--param NAME=VALUE)
        need = "required" if q.required and q.default is None else f"default {q.default}" if q.default else "optional"
        console.print(f"parameter {escape(q.name)} ({need}): {escape(q.description)}")
    console.print()
    table = Table("id", "level", "category", "weight", "check", "status", "title")
    for r in p.requirements:
        status = "[yellow]planned[/]" if r.planned else "active"
        table.add_row(r.id, r.level.value, r.category, f"{r.weight:g}", r.check.kind.value, status, escape(r.title))
    console.print(table)


@profiles.command("lint")
@click.argument("paths", nargs=-1, required=True)
@click.option("--against", metavar="PREVIOUS",
              help="The previous version (ID@VERSION or a folder): fail when a change needs a bigger version bump "
                   "than the new version number makes (a breaking change or a new MUST without a major version).")
def profiles_lint(paths: tuple[str, ...], against: str | None) -> None:
    """Validate profile folders (profile.yaml, governance.yaml, openapi.yaml, CHANGELOG.md); exit 2 on any
    problem, one line each."""
    previous = load_profile(against) if against else None
    problems = 0
    for path in paths:
        found = [str(p) for p in lint_profile(path)]
        if not found and previous is not None:
            found = _semver_problems(previous, load_profile(path), path)
        for problem in found:
            err_console.print(printable(problem), markup=False, emoji=False)
        problems += len(found)
        if not found:
            console.print(f"{escape(path)}: ok" + (f" (against {previous.ref})" if previous else ""))
    if problems:
        sys.exit(USAGE_EXIT)


def _semver_problems(previous: Profile, new: Profile, path: str) -> list[str]:
    if previous.id != new.id:
        return [f"{path}: profile {new.id} is not a version of {previous.id}; --against takes an earlier version "
                f"of the same profile"]
    diff = diff_profiles(previous, new)
    return [f"{path}: {line}" for line in version_problems(diff, previous.version, new.version)]


@profiles.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["terminal", "markdown", "json"]), default="terminal",
              show_default=True, help="markdown: for a change board; json: for tools.")
def profiles_diff(old: str, new: str, fmt: str) -> None:
    """What changed from OLD to NEW (ID@VERSION or folders): requirements added, removed and changed, and interface
    changes classified breaking or compatible, each with the version bump it needs."""
    diff = diff_profiles(load_profile(old), load_profile(new)).to_dict()
    if fmt == "json":
        click.echo(json.dumps(diff, indent=2))
    elif fmt == "markdown":
        from conformance.reporters.changes import changes_markdown

        click.echo(changes_markdown(diff), nl=False)
    else:
        from conformance.reporters.changes import render_changes

        render_changes(console, diff)


@profiles.command("bundle")
@click.argument("profile")
@click.option("--offline", is_flag=True,
              help="Fetch nothing: take remote documents from the reference cache only (fail naming any missing).")
@click.option("--cache", "cache", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help=f"The reference cache (default: ${CACHE_ENV}, else <user cache dir>/conformance/references).")
def profiles_bundle(profile: str, offline: bool, cache: Path | None) -> None:
    """Make PROFILE's interface self-contained: every `$ref` to another document (an https:// URL or a relative
    file) is copied into openapi.bundled.yaml next to it, which runs and lint then read (the profile digest covers
    it). Remote documents come from the reference cache, or are fetched once into it (not with --offline)."""
    from conformance.engine.fetch import fetch_document
    from conformance.inputs.openapi import read_openapi

    source = interface_source(profile)
    if not any(True for _ in external_refs(read_openapi(source, raw=True))):
        console.print(f"{escape(str(source))}: self-contained already (no $ref outside it); nothing to bundle")
        return
    folder = cache_dir(cache)
    fix = (f"run `conformance profiles bundle {source.parent}` without --offline where the network is reachable, "
           "or save the document at the cache path named here")
    bundle = bundle_interface(source, cache=folder, fetch=None if offline else fetch_document, fix=fix)
    target = write_bundle(source, bundle)
    for document in bundle.documents:
        console.print(f"  {document.origin:>7}  {escape(document.uri)}")
    console.print(f"{escape(str(target))}: written, self-contained ({len(bundle.documents)} document(s) bundled; "
                  f"cache {escape(str(folder))}); check it with "
                  f"`conformance profiles lint {escape(str(source.parent))}`")
