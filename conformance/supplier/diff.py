"""`conformance diff OLD NEW`: what changed between two results of the same profile, and whether it is a regression.

Each side is a scorecard.json, a run directory (its scorecard.json) or an evidence bundle of one run. Compared:
- each requirement's outcome; a **regression** is a requirement that fails now and did not before, or errors now
  after passing (an outcome that moved from `pass` to `skipped`/`not-run` is listed, not a regression: the
  selection changed, not the system);
- findings new and gone, identified by requirement, check, title and operation (their messages vary by seed);
- the score (delta);
- load latency percentiles (p50/p95/p99 of every operation and task) that rose by more than the threshold
  (a percentage, and at least `LATENCY_FLOOR_MS`, so noise on a 2 ms operation is not a regression).
`diff_scorecards` is pure; `load_scorecard` does the reading; `render_markdown` gives the text for a job summary.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.engine.files import loads_strict
from conformance.errors import BundleError, DiffError

__all__ = ["LATENCY_FLOOR_MS", "Change", "LatencyMove", "RunDiff", "diff_scorecards", "load_scorecard",
           "render_markdown"]

LATENCY_FLOOR_MS = 5.0
PERCENTILES = ("p50_ms", "p95_ms", "p99_ms")
_FIX = "give a scorecard.json, a run directory or an evidence bundle of one run"


@dataclass(frozen=True)
class Change:
    """One requirement whose outcome changed."""

    id: str
    title: str
    level: str
    old: str
    new: str
    regression: bool


@dataclass(frozen=True)
class LatencyMove:
    """One load percentile that moved by more than the threshold (up: a regression; down: an improvement)."""

    requirement_id: str
    name: str  # the operation or task
    percentile: str  # p50 | p95 | p99
    old_ms: float
    new_ms: float

    @property
    def regression(self) -> bool:
        return self.new_ms > self.old_ms


@dataclass(frozen=True)
class RunDiff:
    profile: str  # id@version of NEW
    old_label: str
    new_label: str
    old_verdict: str
    new_verdict: str
    old_score: float
    new_score: float
    changes: list[Change] = field(default_factory=list)
    findings_new: list[dict[str, Any]] = field(default_factory=list)
    findings_gone: list[dict[str, Any]] = field(default_factory=list)
    latency: list[LatencyMove] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def score_delta(self) -> float:
        return round(self.new_score - self.old_score, 1)

    @property
    def regressions(self) -> list[str]:
        """One line per regression (empty: none)."""
        found = [f"{c.id} {c.old} -> {c.new}" for c in self.changes if c.regression]
        found += [f"{m.requirement_id} {m.name} {m.percentile} {m.old_ms:g} -> {m.new_ms:g} ms"
                  for m in self.latency if m.regression]
        return found


def _is_regression(old: str, new: str) -> bool:
    return (new == "fail" and old != "fail") or (new == "error" and old == "pass")


def _finding_key(finding: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (str(finding.get("requirement_id")), str(finding.get("code") or finding.get("check")),
            str(finding.get("title")), str(finding.get("operation") or ""))


def _percentiles(row: Mapping[str, Any]) -> Iterator[tuple[str, str, float]]:
    measurements = row.get("measurements") or {}
    for scope in ("operations", "tasks"):
        figures = measurements.get(scope) if isinstance(measurements, dict) else None
        for name, values in (figures.items() if isinstance(figures, dict) else ()):
            for key in PERCENTILES:
                value = values.get(key) if isinstance(values, dict) else None
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    yield f"{scope}:{name}", key, float(value)


def diff_scorecards(old: Mapping[str, Any], new: Mapping[str, Any], *, old_label: str = "old",
                    new_label: str = "new", latency_threshold_pct: float = 20.0) -> RunDiff:
    """Compare two scorecards of the same profile (`DiffError` if the profiles differ)."""
    old_profile, new_profile = old.get("profile") or {}, new.get("profile") or {}
    if old_profile.get("id") != new_profile.get("id"):
        raise DiffError(f"results of different profiles ({old_profile.get('id')} and {new_profile.get('id')})",
                        file=new_label, fix="compare two results of the same profile")
    notes = []
    if old_profile.get("version") != new_profile.get("version"):
        notes.append(f"profile version changed: {old_profile.get('version')} -> {new_profile.get('version')}")
    old_rows = {str(r["id"]): r for r in old.get("requirements") or []}
    changes, latency = [], []
    new_findings: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    old_findings = {_finding_key(f): f for r in old_rows.values() for f in r.get("findings") or []}
    for row in new.get("requirements") or []:
        rid = str(row["id"])
        before = old_rows.get(rid)
        for finding in row.get("findings") or []:
            new_findings.setdefault(_finding_key(finding), finding)
        if before is None:
            notes.append(f"{rid} is new in this profile version")
            continue
        if before["outcome"] != row["outcome"]:
            changes.append(Change(rid, str(row.get("title", "")), str(row.get("level", "")), str(before["outcome"]),
                                  str(row["outcome"]), _is_regression(str(before["outcome"]), str(row["outcome"]))))
        old_figures = {(name, key): value for name, key, value in _percentiles(before)}
        for name, key, value in _percentiles(row):
            previous = old_figures.get((name, key))
            if previous is None:
                continue
            moved = abs(value - previous)
            if moved > LATENCY_FLOOR_MS and moved > previous * latency_threshold_pct / 100.0:
                latency.append(LatencyMove(rid, name, key.removesuffix("_ms"), previous, value))
    return RunDiff(
        profile=f"{new_profile.get('id')}@{new_profile.get('version')}", old_label=old_label, new_label=new_label,
        old_verdict=str(old.get("verdict")), new_verdict=str(new.get("verdict")),
        old_score=float(old.get("score") or 0.0), new_score=float(new.get("score") or 0.0), changes=changes,
        findings_new=[f for k, f in new_findings.items() if k not in old_findings],
        findings_gone=[f for k, f in old_findings.items() if k not in new_findings],
        latency=latency, notes=notes)


# --- reading -------------------------------------------------------------------------------------------------
def _read_scorecard(path: Path, label: str) -> dict[str, Any]:
    try:
        data = loads_strict(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DiffError("no scorecard.json", file=label, fix="score the run first: `conformance report RUN_DIR`") \
            from None
    except (OSError, ValueError) as exc:
        raise DiffError(f"unreadable: {exc}", file=label, fix=_FIX) from None
    if not isinstance(data, dict) or not isinstance(data.get("profile"), dict) \
            or not isinstance(data.get("requirements"), list) \
            or not all(isinstance(r, dict) and "id" in r and "outcome" in r for r in data["requirements"]):
        raise DiffError("not a scorecard (no profile or requirements)", file=label, fix=_FIX)
    return data


def load_scorecard(path: Path) -> dict[str, Any]:
    """The scorecard behind PATH: a scorecard.json, a run directory, or an evidence bundle of one run (extracted
    to a temporary folder with the bundle reader's limits; its signatures are not checked here: `conformance
    verify` does that)."""
    label = str(path)
    if path.is_dir():
        return _read_scorecard(path / "scorecard.json", str(path / "scorecard.json"))
    if not path.is_file():
        raise DiffError("no such file or directory", file=label, fix=_FIX)
    if path.suffix == ".json":
        return _read_scorecard(path, label)
    from conformance.audit.bundle import open_bundle

    with tempfile.TemporaryDirectory(prefix="conformance-diff-") as tmp:
        try:
            contents = open_bundle(path, Path(tmp))
        except BundleError as exc:
            raise DiffError(f"neither JSON nor a readable bundle ({exc.problem})", file=label, fix=_FIX) from None
        runs = contents.runs()
        if len(runs) != 1 or not isinstance(runs[0].get("path"), str):
            raise DiffError(f"a bundle of {len(runs)} runs", file=label,
                            fix="diff the run directories of one candidate, or a bundle of one run")
        return _read_scorecard(contents.root / runs[0]["path"] / "scorecard.json", f"{label}:scorecard.json")


# --- Markdown ------------------------------------------------------------------------------------------------
def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def render_markdown(diff: RunDiff) -> str:
    """The diff as Markdown (a GitHub job summary or a GitLab merge-request note)."""
    regressions = diff.regressions
    head = "regression" if regressions else "no regression"
    lines = [f"## Conformance diff: {_cell(diff.profile)}: {head}", "",
             f"| | {_cell(diff.old_label)} | {_cell(diff.new_label)} |", "| --- | --- | --- |",
             f"| verdict | {diff.old_verdict} | {diff.new_verdict} |",
             f"| score | {diff.old_score:g} | {diff.new_score:g} ({diff.score_delta:+g}) |", ""]
    if regressions:
        lines += ["### Regressions", "", *[f"- {_cell(r)}" for r in regressions], ""]
    if diff.changes:
        lines += ["### Outcomes changed", "", "| requirement | level | was | now | |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [f"| {c.id} {_cell(c.title)} | {c.level} | {c.old} | {c.new} | "
                  f"{'regression' if c.regression else ''} |" for c in diff.changes]
        lines.append("")
    for title, findings in (("New findings", diff.findings_new), ("Findings gone", diff.findings_gone)):
        if findings:
            lines += [f"### {title}", ""]
            lines += [f"- {_cell(f.get('requirement_id'))}: {_cell(f.get('title'))}"
                      + (f" ({_cell(f.get('operation'))})" if f.get("operation") else "") for f in findings]
            lines.append("")
    if diff.latency:
        lines += ["### Latency moved", "", "| requirement | operation | percentile | was ms | now ms |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [f"| {m.requirement_id} | {_cell(m.name)} | {m.percentile} | {m.old_ms:g} | {m.new_ms:g} |"
                  for m in diff.latency]
        lines.append("")
    lines += [f"- {_cell(n)}" for n in diff.notes]
    if not (diff.changes or diff.findings_new or diff.findings_gone or diff.latency):
        lines.append("Nothing changed.")
    return "\n".join(lines).rstrip() + "\n"
