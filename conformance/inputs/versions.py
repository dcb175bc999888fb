"""Semantic versions of profiles: ordering, and the version ranges a tender may ask for (`>=1.1.0 <2.0.0`)."""

from __future__ import annotations

import re

from conformance.errors import UsageError

__all__ = ["SEMVER", "in_range", "parse_range", "semver_key"]

SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$")
_BOUND = re.compile(r"^(>=|<=|>|<|==|=)?\s*(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$")

VersionKey = tuple[int, int, int, int, str]


def semver_key(version: str) -> VersionKey:
    """A sort key: numeric parts compared as numbers, a release after its pre-releases; not semver: first."""
    match = SEMVER.match(version)
    if not match:
        return (-1, -1, -1, -1, version)
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


def parse_range(text: str) -> list[tuple[str, str]]:
    """`>=1.1.0 <2.0.0` (bounds separated by spaces or commas; a bare version means `==`) -> [(op, version)].
    Raises UsageError naming the bound that does not parse."""
    bounds: list[tuple[str, str]] = []
    for part in re.split(r"[\s,]+", text.strip()):
        if not part:
            continue
        match = _BOUND.match(part)
        if not match:
            raise UsageError(f"'{part}' is not a version bound; write e.g. '>=1.1.0 <2.0.0' (>=, >, <=, <, ==)")
        bounds.append((match.group(1) or "==", match.group(2)))
    if not bounds:
        raise UsageError("an empty version range; write e.g. '>=1.1.0' or '>=1.1.0 <2.0.0'")
    return bounds


def in_range(version: str, bounds: list[tuple[str, str]]) -> bool:
    key = semver_key(version)
    for op, bound in bounds:
        other = semver_key(bound)
        ok = {">=": key >= other, ">": key > other, "<=": key <= other, "<": key < other,
              "==": key == other, "=": key == other}[op]
        if not ok:
            return False
    return True
