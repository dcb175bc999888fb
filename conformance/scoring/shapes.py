"""The published shapes of a scorecard and a comparison, as TypedDicts that match their JSON Schemas
(conformance/schemas/scorecard.schema.json, comparison.schema.json; tests/unit/test_shapes.py holds them
together key by key). Scoring returns them; reporters read them as mappings.
"""

from typing import Any, NotRequired, TypedDict

__all__ = ["Comparison", "ComparisonCandidate", "ComparisonRank", "FindingRow", "OptionalTally", "ProfileId",
           "RequirementRow", "RunSummary", "Scorecard"]


class ProfileId(TypedDict):
    id: str
    version: str
    title: str
    digest: str
    status: NotRequired[str]  # at run time
    lifecycle: NotRequired[dict[str, Any]]  # at run time (Lifecycle.to_dict)
    validity: NotRequired[dict[str, Any]]  # as of the day the scorecard was written (Validity.to_dict)


class OptionalTally(TypedDict):
    passed: int
    total: int


class RunSummary(TypedDict, total=False):
    id: str
    seed: int
    tier: str
    harness_version: str
    started_at: str
    finished_at: str | None
    interrupted: bool
    only: list[str]
    skip: list[str]
    certification: bool


class FindingRow(TypedDict):
    requirement_id: str
    check: str
    title: str
    message: str
    occurrences: int
    code: NotRequired[str | None]
    operation: NotRequired[str | None]
    status_code: NotRequired[int | None]
    curl: NotRequired[str | None]
    seed: NotRequired[int | None]
    also_breaks: NotRequired[list[str]]


class RequirementRow(TypedDict):
    id: str
    title: str
    level: str
    category: str
    weight: float
    check_kind: str
    status: str
    outcome: str
    reason: str | None
    findings: list[FindingRow]
    measurements: dict[str, Any]
    waived: NotRequired[str | None]
    effective_weight: NotRequired[float]
    baselined: NotRequired[dict[str, Any] | None]  # {reason, accepted_by, expires, expired}


class Scorecard(TypedDict):
    schema_version: int
    profile: ProfileId
    target: dict[str, Any]
    run: dict[str, Any]
    verdict: str
    verdict_reason: str
    score: float
    counts: dict[str, int]
    optional: OptionalTally
    categories: dict[str, Any]
    requirements: list[RequirementRow]
    waivers: NotRequired[list[dict[str, Any]]]
    claims: NotRequired[dict[str, Any] | None]
    baseline: NotRequired[dict[str, Any]]  # {accepted, expired, now_passing, verdict, verdict_reason}


class ComparisonRank(TypedDict):
    rank: int
    candidate: str
    supplier: str
    product: str | None
    verdict: str
    score: float
    meets_thresholds: bool
    reasons: list[str]


class ComparisonCandidate(TypedDict):
    name: str
    supplier: str
    product: str | None
    product_version: str | None
    verdict: str
    score: float
    meets_thresholds: bool
    reasons: list[str]
    profiles: dict[str, Any]
    claims: list[dict[str, Any]] | None


class Comparison(TypedDict):
    schema_version: int
    title: str
    generated_at: str
    tender: dict[str, Any] | None
    profiles: list[dict[str, Any]]
    ranking: list[ComparisonRank]
    candidates: list[ComparisonCandidate]
    categories: list[dict[str, Any]]
    requirements: list[dict[str, Any]]
    interoperability: list[dict[str, Any]] | None
