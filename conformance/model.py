"""The domain model: profiles, requirements, results and findings. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

__all__ = [
    "Candidate",
    "CheckKind",
    "CheckSpec",
    "Decision",
    "Finding",
    "Level",
    "Lifecycle",
    "Outcome",
    "Parameter",
    "Profile",
    "ProfileStatus",
    "Requirement",
    "RequirementStatus",
    "Result",
    "SystemSpec",
    "Validity",
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
    measure. An error is never reported as a failure, and never as a pass. `not-applicable`: the requirement's
    condition (`applies_when`, or a scenario step's `applies_if`) does not hold for this target; it always carries
    the reason, and is left out of the score and the verdict.
    """

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    NOT_RUN = "not-run"
    NOT_APPLICABLE = "not-applicable"


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
    # When the requirement applies: {"param": NAME} (the target gives the parameter), optionally with
    # "equals": VALUE or "one_of": [VALUES]. None: always. Unmet, its result is `not-applicable`.
    applies_when: dict[str, Any] | None = None

    @property
    def planned(self) -> bool:
        return self.status is RequirementStatus.PLANNED

    def not_applicable_because(self, params: dict[str, str]) -> str | None:
        """Why this requirement does not apply to a target given `params` (None: it applies)."""
        condition = self.applies_when
        if not condition:
            return None
        name = str(condition["param"])
        if name not in params:
            return f"not applicable: the target gives no parameter '{name}'"
        value = params[name]
        if "equals" in condition and value != str(condition["equals"]):
            return f"not applicable: parameter '{name}' is {value!r}, it applies when {str(condition['equals'])!r}"
        if "one_of" in condition and value not in [str(v) for v in condition["one_of"]]:
            wanted = ", ".join(repr(str(v)) for v in condition["one_of"])
            return f"not applicable: parameter '{name}' is {value!r}, it applies when one of {wanted}"
        return None


@dataclass(frozen=True)
class Parameter:
    """A value that belongs to the target, not the standard (which collection, which record, which bbox): the
    profile declares it, a targets file's `params:` or `--param NAME=VALUE` gives it, scenarios use
    `${params.NAME}` and the schema engine uses it for a path parameter of that name."""

    name: str
    description: str
    required: bool = False
    default: str | None = None


@dataclass(frozen=True)
class SystemSpec:
    """Another system some requirements talk to besides the target (a court receiver, a migration peer).
    `reference`: when a run is not given it, the harness starts this profile's reference supplier for it."""

    name: str
    description: str
    reference: bool = False


@dataclass(frozen=True)
class Decision:
    """Who decided a profile version, when, why, and after which consultation (a decision record)."""

    decided_by: str
    decided_on: date
    rationale: str
    consultation: str | None = None


@dataclass(frozen=True)
class Validity:
    """What a result against a profile version is worth on a given day. `text` is what every report says."""

    as_of: date
    status: ProfileStatus  # the version's status on that day (a deprecated version past its `retires` is retired)
    valid: bool
    until: date | None
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "status": self.status.value, "valid": self.valid,
                "until": self.until.isoformat() if self.until else None, "text": self.text}


@dataclass(frozen=True)
class Lifecycle:
    """A profile version's place in its lifecycle (governance.yaml, docs/reference/governance.md).
    `retires`: the day a deprecated version stops being valid, or the day a retired one did."""

    status: ProfileStatus
    published: date | None = None
    deprecated: date | None = None
    retires: date | None = None
    supersedes: str | None = None
    superseded_by: str | None = None
    decision: Decision | None = None

    def status_on(self, day: date) -> ProfileStatus:
        """The status on `day`: a deprecated version whose retirement date has come is retired."""
        if self.status is ProfileStatus.DEPRECATED and self.retires is not None and day >= self.retires:
            return ProfileStatus.RETIRED
        return self.status

    def validity(self, day: date) -> Validity:
        status = self.status_on(day)
        if status is ProfileStatus.RETIRED:
            when = f" on {self.retires.isoformat()}" if self.retires else ""
            successor = f"; superseded by {self.superseded_by}" if self.superseded_by else ""
            return Validity(day, status, False, self.retires, f"no longer valid: retired{when}{successor}")
        if status is ProfileStatus.DRAFT:
            return Validity(day, status, False, None, "not valid for certification: a draft, not yet decided")
        if status is ProfileStatus.DEPRECATED:
            until = f"valid until {self.retires.isoformat()}" if self.retires else "valid (deprecated, no end date)"
            successor = f"; superseded by {self.superseded_by}" if self.superseded_by else ""
            return Validity(day, status, True, self.retires, f"{until} (deprecated){successor}")
        return Validity(day, status, True, None, "valid (active version)")

    def to_dict(self) -> dict[str, Any]:
        def iso(value: date | None) -> str | None:
            return value.isoformat() if value else None

        decision = None if self.decision is None else {
            "decided_by": self.decision.decided_by, "decided_on": self.decision.decided_on.isoformat(),
            "rationale": self.decision.rationale, "consultation": self.decision.consultation}
        return {"status": self.status.value, "published": iso(self.published), "deprecated": iso(self.deprecated),
                "retires": iso(self.retires), "supersedes": self.supersedes, "superseded_by": self.superseded_by,
                "decision": decision}


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
    lifecycle: Lifecycle | None = None  # None: a profile without governance.yaml (only `status` is known)
    parameters: tuple[Parameter, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def governance(self) -> Lifecycle:
        """The lifecycle record, or one holding only the status when the version has none."""
        return self.lifecycle or Lifecycle(self.status)

    def resolve_params(self, given: dict[str, str]) -> dict[str, str]:
        """The parameters a run uses: those given, then declared defaults. Raises KeyError(name) for the first
        required parameter that is missing (the caller names it and its description)."""
        resolved = dict(given)
        for parameter in self.parameters:
            if parameter.name not in resolved:
                if parameter.default is not None:
                    resolved[parameter.name] = parameter.default
                elif parameter.required:
                    raise KeyError(parameter.name)
        return resolved

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

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
    # Other requirements the same request breaks: one finding per cause, held by the first requirement it breaks.
    also_breaks: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        also = {"also_breaks": list(self.also_breaks)} if self.also_breaks else {}  # absent: scorecards as before
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
            **also,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        fields: dict[str, Any] = {k: data.get(k) for k in (
            "requirement_id", "check", "title", "message", "operation", "curl", "status_code", "code", "seed")}
        return cls(**fields, occurrences=int(data.get("occurrences", 1)),
                   also_breaks=tuple(data.get("also_breaks") or ()))


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
