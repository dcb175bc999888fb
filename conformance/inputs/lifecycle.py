"""Read a profile version's lifecycle and decision record (`governance.yaml` beside profile.yaml) and check it is
consistent: dates in order, a deprecated version says until when, a retired one names its successor, a decided
version (active, deprecated, retired) has its decision record. docs/reference/governance.md explains the process.

governance.yaml is not covered by the profile's digest: deprecating or retiring a version changes its validity,
never what a result was measured against, so runs already made can still be re-scored.
A profile without governance.yaml keeps `status:` in profile.yaml (and has no dates or decision).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from conformance.errors import ProfileError
from conformance.inputs.versions import semver_key
from conformance.inputs.yamlfile import LocatedYaml, explain_schema_error, load_located_yaml, safe_load
from conformance.model import Decision, Lifecycle, ProfileStatus
from conformance.schemas import load_schema

__all__ = ["GOVERNANCE_FILE", "Inconsistency", "inconsistencies", "quick_status", "read_lifecycle"]

GOVERNANCE_FILE = "governance.yaml"
_SCHEMA_NAME = "schemas/governance.schema.json"
_DATES = ("published", "deprecated", "retires")


@dataclass(frozen=True)
class Inconsistency:
    """One lifecycle rule broken: the key (dotted, in governance.yaml), what is wrong and the fix."""

    key: str
    problem: str
    fix: str


def inconsistencies(life: Lifecycle, version: str) -> list[Inconsistency]:
    """Every lifecycle rule `life` breaks (pure: tests/unit/test_lifecycle.py holds one case per rule)."""
    found: list[Inconsistency] = []
    status = life.status
    decided = status is not ProfileStatus.DRAFT
    if decided and life.decision is None:
        found.append(Inconsistency("decision", f"an {status.value} version needs its decision record",
                                   "add `decision: {decided_by, decided_on, rationale, consultation}`"))
    if decided and life.published is None:
        found.append(Inconsistency("published", f"an {status.value} version needs the day it was published",
                                   "add `published: YYYY-MM-DD`"))
    if status is ProfileStatus.DRAFT:
        for key in ("published", "deprecated", "retires"):
            if getattr(life, key) is not None:
                found.append(Inconsistency(key, "a draft has not been published, deprecated or retired",
                                           f"remove `{key}` until the decision is taken"))
    if status in (ProfileStatus.ACTIVE,) and (life.deprecated or life.retires):
        key = "deprecated" if life.deprecated else "retires"
        found.append(Inconsistency(key, "an active version has no deprecation or retirement date",
                                   "set `status: deprecated` with the dates, or remove them"))
    if status in (ProfileStatus.DEPRECATED, ProfileStatus.RETIRED):
        if life.deprecated is None:
            found.append(Inconsistency("deprecated", f"a {status.value} version needs the day it was deprecated",
                                       "add `deprecated: YYYY-MM-DD`"))
        if life.retires is None:
            word = "until when results stay valid" if status is ProfileStatus.DEPRECATED else "when it retired"
            found.append(Inconsistency("retires", f"a {status.value} version needs {word}",
                                       "add `retires: YYYY-MM-DD`"))
    if status is ProfileStatus.RETIRED and not life.superseded_by:
        found.append(Inconsistency("superseded_by", "a retired version must name its successor",
                                   "add `superseded_by: <version>` (the version suppliers should move to)"))
    order = [(key, getattr(life, key)) for key in _DATES if getattr(life, key) is not None]
    for (first, earlier), (second, later) in itertools.pairwise(order):
        if later < earlier:
            found.append(Inconsistency(second, f"{second} {later} is before {first} {earlier}",
                                       "dates go in order: published <= deprecated <= retires"))
    if life.decision is not None and life.published is not None and life.decision.decided_on > life.published:
        found.append(Inconsistency("decision.decided_on",
                                   f"decided on {life.decision.decided_on}, after it was published "
                                   f"({life.published})", "a version is published after it is decided"))
    own = semver_key(version)
    if life.supersedes and semver_key(life.supersedes) >= own:
        found.append(Inconsistency("supersedes", f"{life.supersedes} is not earlier than {version}",
                                   "name the earlier version this one replaces"))
    if life.superseded_by and semver_key(life.superseded_by) <= own:
        found.append(Inconsistency("superseded_by", f"{life.superseded_by} is not later than {version}",
                                   "name the later version that replaces this one"))
    return found


def read_lifecycle(folder: Path, profile_doc: LocatedYaml) -> tuple[ProfileStatus | None, Lifecycle | None,
                                                                     list[ProfileError]]:
    """The version's status and lifecycle record, and every problem found (status None when unknown)."""
    file = folder / GOVERNANCE_FILE
    declared = profile_doc.data.get("status")
    if not file.is_file():
        if declared is None:
            return None, None, [ProfileError(
                "no status: the version has no governance.yaml and profile.yaml has no `status`",
                file=profile_doc.file, line=1, key="status",
                fix=f"add {GOVERNANCE_FILE} beside profile.yaml (docs/reference/governance.md)")]
        return ProfileStatus(declared), None, []
    try:
        doc = load_located_yaml(file, error=ProfileError)
    except ProfileError as exc:
        return None, None, [exc]
    if not isinstance(doc.data, dict):
        return None, None, [ProfileError("must be a mapping (status, published, decision, ...)", file=doc.file,
                                         line=1, fix="see docs/reference/governance.md")]
    doc = LocatedYaml(_dates_as_text(doc.data), doc.lines, doc.file)
    problems = [p for error in jsonschema.Draft202012Validator(load_schema("governance")).iter_errors(doc.data)
                for p in explain_schema_error(error, doc, schema_name=_SCHEMA_NAME)]
    problems.extend(_bad_dates(doc))
    if declared is not None:
        problems.append(ProfileError(f"status is kept in {GOVERNANCE_FILE} when the version has one",
                                     file=profile_doc.file, line=profile_doc.line_of(["status"]), key="status",
                                     fix=f"remove `status:` from profile.yaml; {GOVERNANCE_FILE} says "
                                         f"`status: {doc.data.get('status')}`"))
    if problems:
        return None, None, sorted(problems, key=lambda p: (p.file or "", p.line or 0))
    life = _lifecycle(doc.data)
    problems = [ProfileError(i.problem, file=doc.file, line=doc.line_of(i.key.split(".")), key=i.key, fix=i.fix)
                for i in inconsistencies(life, folder.name)]
    return life.status, life, problems


def quick_status(folder: Path) -> ProfileStatus | None:
    """The status of the version in `folder` without validating anything (for resolving `ID` to a version);
    None when it cannot be read."""
    for name in (GOVERNANCE_FILE, "profile.yaml"):
        file = folder / name
        if not file.is_file():
            continue
        try:
            data = safe_load(file.read_text(encoding="utf-8"))
            return ProfileStatus(data["status"])
        except Exception:  # an unreadable file is lint's to report; here it only means "unknown"
            if name == GOVERNANCE_FILE:
                return None
    return None


def _dates_as_text(node: Any) -> Any:
    """YAML reads `2026-12-01` as a date; the schema and the model read text."""
    if isinstance(node, dict):
        return {k: _dates_as_text(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_dates_as_text(v) for v in node]
    if isinstance(node, dt.date):
        return node.isoformat()
    return node


def _bad_dates(doc: LocatedYaml) -> Iterator[ProfileError]:
    keys: list[list[str]] = [[k] for k in _DATES] + [["decision", "decided_on"]]
    for path in keys:
        value: Any = doc.data
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, str):
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                yield ProfileError(f"'{value}' is not a date", file=doc.file, line=doc.line_of(path),
                                   key=".".join(path), fix="write the day as YYYY-MM-DD")


def _lifecycle(data: dict[str, Any]) -> Lifecycle:
    def day(value: Any) -> dt.date | None:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None

    raw = data.get("decision")
    decision = None if raw is None else Decision(
        decided_by=" ".join(str(raw["decided_by"]).split()), decided_on=dt.date.fromisoformat(raw["decided_on"]),
        rationale=" ".join(str(raw["rationale"]).split()), consultation=raw.get("consultation"))
    return Lifecycle(status=ProfileStatus(data["status"]), published=day(data.get("published")),
                     deprecated=day(data.get("deprecated")), retires=day(data.get("retires")),
                     supersedes=data.get("supersedes"), superseded_by=data.get("superseded_by"), decision=decision)
