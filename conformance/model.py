"""The domain model: profiles, requirements, results and findings. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "Candidate",
    "CheckKind",
    "CheckSpec",
    "Finding",
    "Level",
    "Outcome",
    "Profile",
    "ProfileStatus",
    "Requirement",
    "RequirementStatus",
    "Result",
    "SystemSpec",
    "Verdict",
]


class Level(StrEnum):
    """RFC 2119 obligation level of a requirement."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


class ProfileStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    RETIRED = "retired"


class RequirementStatus(StrEnum):
    """`planned`: the requirement is stated but its check kind has not landed; never scored."""

    ACTIVE = "active"
    PLANNED = "planned"


class CheckKind(StrEnum):
    SCHEMA = "schema"
    CONTRACT = "contract"
    LOAD = "load"


class Outcome(StrEnum):
    """What happened to one requirement in one run.

    `fail` is the supplier's nonconformance; `error` is the harness or the connection failing to
    measure. An error is never reported as a failure, and never as a pass.
    """

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    NOT_RUN = "not-run"


class Verdict(StrEnum):
    """What a scorecard concludes (docs/reference/scoring.md): `non-conformant` if any MUST failed; otherwise
    `incomplete` if anything errored or a MUST was not run; otherwise `conformant`."""

    CONFORMANT = "conformant"
    NON_CONFORMANT = "non-conformant"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class CheckSpec:
    """How a requirement is verified: the kind selects the runner, `options` are kind-specific."""

    kind: CheckKind
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    level: Level
    category: str
    weight: float
    rationale: str
    check: CheckSpec
    status: RequirementStatus = RequirementStatus.ACTIVE
    clause: str | None = None

    @property
    def planned(self) -> bool:
        return self.status is RequirementStatus.PLANNED


@dataclass(frozen=True)
class SystemSpec:
    """Another system some requirements talk to besides the target (a court receiver, a migration peer).
    `reference`: when a run is not given it, the harness starts this profile's reference supplier for it."""

    name: str
    description: str
    reference: bool = False


@dataclass(frozen=True)
class Profile:
    id: str
    version: str
    title: str
    status: ProfileStatus
    summary: str
    requirements: tuple[Requirement, ...]
    path: str
    openapi_path: str
    digest: str
    systems: tuple[SystemSpec, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def requirement(self, requirement_id: str) -> Requirement:
        for req in self.requirements:
            if req.id == requirement_id:
                return req
        raise KeyError(requirement_id)


@dataclass(frozen=True)
class Candidate:
    """A candidate supplier system, as a tender names it (and how to reach it) or as a comparison shows it."""

    name: str
    supplier: str
    product: str | None = None
    product_version: str | None = None
    target: str | None = None  # a URL or targets.yaml#name (resolved against the tender's folder)
    command: str | None = None  # starts the candidate; it prints "listening on URL"
    claims: dict[str, list[str]] | None = None


@dataclass(frozen=True)
class Finding:
    """One observed nonconformance, with what was expected, what came back, and how to reproduce it."""

    requirement_id: str
    check: str
    title: str
    message: str
    operation: str | None = None
    curl: str | None = None
    status_code: int | None = None
    occurrences: int = 1
    code: str | None = None
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement_id": self.requirement_id,
            "check": self.check,
            "code": self.code,
            "title": self.title,
            "message": self.message,
            "operation": self.operation,
            "status_code": self.status_code,
            "occurrences": self.occurrences,
            "curl": self.curl,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        fields: dict[str, Any] = {k: data.get(k) for k in (
            "requirement_id", "check", "title", "message", "operation", "curl", "status_code", "code", "seed")}
        return cls(**fields, occurrences=int(data.get("occurrences", 1)))


@dataclass(frozen=True)
class Result:
    """The outcome of one requirement in one run, with its findings and measurements."""

    requirement_id: str
    outcome: Outcome
    findings: tuple[Finding, ...] = ()
    reason: str | None = None
    measurements: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement_id": self.requirement_id,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "findings": [f.to_dict() for f in self.findings],
            "measurements": self.measurements,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return cls(
            requirement_id=data["requirement_id"],
            outcome=Outcome(data["outcome"]),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", [])),
            reason=data.get("reason"),
            measurements=dict(data.get("measurements") or {}),
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
        )
