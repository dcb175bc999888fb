"""The profile versions the registry knows: a folder of profiles (the project's `profiles/` by default), each
version with its digest (a bundle is accepted only against a digest listed here), its lifecycle and decision
record (governance.yaml: what a listing is worth today) and its changelog. Read once, when the server starts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import ConformanceError, UsageError
from conformance.inputs.profiles import find_profiles, load_profile, profile_roots
from conformance.inputs.versions import semver_key
from conformance.model import Lifecycle

__all__ = ["Catalogue", "ProfileVersion"]


@dataclass(frozen=True)
class ProfileVersion:
    id: str
    version: str
    title: str
    digest: str
    lifecycle: Lifecycle
    changelog: str

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def validity(self, day: dt.date | None = None) -> dict[str, Any]:
        return self.lifecycle.validity(day or dt.date.today()).to_dict()


class Catalogue:
    def __init__(self, versions: list[ProfileVersion]) -> None:
        self.versions = sorted(versions, key=lambda v: (v.id, semver_key(v.version)))
        self.by_digest = {v.digest: v for v in versions}
        self.by_ref = {v.ref: v for v in versions}

    @classmethod
    def load(cls, roots: list[Path] | None = None) -> Catalogue:
        for root in roots or []:
            if not root.is_dir():
                raise UsageError(f"--profiles {root}: not a folder of profiles (<id>/<version>/profile.yaml)")
        versions = []
        for entry in find_profiles(roots or profile_roots()):
            try:
                profile = load_profile(entry.path, import_checks=False)
            except ConformanceError as exc:
                raise UsageError(f"{entry.path}: the registry cannot list this profile version: {exc}") from None
            changelog = entry.path / "CHANGELOG.md"
            versions.append(ProfileVersion(
                profile.id, profile.version, profile.title, profile.digest, profile.governance,
                changelog.read_text(encoding="utf-8") if changelog.is_file() else ""))
        if not versions:
            raise UsageError("no profile versions found: give --profiles FOLDER (<id>/<version>/profile.yaml)")
        return cls(versions)
