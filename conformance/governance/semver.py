"""Semantic versioning of profiles, enforced: a breaking change (or a new MUST) needs a major version, a compatible
addition at least a minor one. `version_problems` names each change that the new version number does not allow,
and the version it needs (`conformance profiles lint NEW --against OLD`)."""

from __future__ import annotations

from conformance.governance.diff import ProfileDiff
from conformance.inputs.versions import SEMVER

__all__ = ["bump_of", "version_problems"]

_ORDER = {"patch": 0, "minor": 1, "major": 2}


def bump_of(old: str, new: str) -> str | None:
    """`major`, `minor` or `patch`: the part of the version that went up; None if `new` is not later than `old`.
    Below 1.0.0 a minor bump counts as major (semver: anything may change in 0.x)."""
    ma, mb = SEMVER.match(old), SEMVER.match(new)
    if not ma or not mb:
        return None
    a = tuple(int(x) for x in ma.groups()[:3])
    b = tuple(int(x) for x in mb.groups()[:3])
    if b[0] > a[0]:
        return "major"
    if b[0] < a[0]:
        return None
    if b[1] > a[1]:
        return "major" if a[0] == 0 else "minor"
    if b[1] < a[1]:
        return None
    if b[2] > a[2]:
        return "patch"
    return None


def _next(old: str, part: str) -> str:
    match = SEMVER.match(old)
    assert match is not None
    major, minor, patch = (int(x) for x in match.groups()[:3])
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def version_problems(diff: ProfileDiff, old_version: str, new_version: str) -> list[str]:
    """One line per change the version bump does not allow (empty: the number is right)."""
    bump = bump_of(old_version, new_version)
    if bump is None:
        return [f"{new_version} is not a later version than {old_version}; a new version needs a higher number"]
    problems = []
    for change in diff.changes:
        if _ORDER[change.needs] > _ORDER[bump]:
            problems.append(f"{change.where}: {change.message} ({change.rule}, {change.severity.value}) needs a "
                            f"{change.needs} version: {_next(old_version, change.needs)}, not {new_version}")
    return problems
