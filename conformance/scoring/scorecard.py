"""Scoring: a pure function from a profile and its results to a scorecard. No I/O.

Rules (docs/reference/scoring.md):
- planned requirements are listed but never scored and never affect the verdict;
- score = 100 x (weight of passed MUST and SHOULD requirements) / (weight of all active MUST and SHOULD
  requirements): anything not passed (failed, errored, skipped, not run) earns nothing; MAY requirements are
  reported apart, as `optional`;
- verdict: `non-conformant` if any MUST failed; otherwise `incomplete` if anything errored or any MUST was
  not run; otherwise `conformant`;
- a `not-applicable` requirement (its condition does not hold for this target; the row's reason says why) earns
  and costs nothing: it is left out of the score, the category scores, the optional tally and the verdict, and
  counted under `not-applicable` (a key present only when some requirement is, so scorecards written before the
  outcome existed re-score to themselves);
- a tender may waive requirements (each with a written reason): a waived requirement is still run and shown
  with its outcome, but it is excluded from the score and the verdict, and listed under `waivers`;
- a tender may weight categories: a requirement's effective weight is its own weight times its category's
  weight (default 1; 0 leaves the category out of the score);
- a supplier's baseline (accepted failures, each with an expiry) changes neither the score nor the verdict: rows
  show their entry, and `baseline` gives the verdict the CI job goes by, with the unexpired baselined
  requirements set aside (as waivers are), the expired entries (they fail the job) and the baselined
  requirements that pass now (their entries can go). An entry expires on its `expires` day, judged against the
  day the run started, so a re-score gives the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from conformance.model import Level, Outcome, Profile, Requirement, Result, Verdict
from conformance.scoring.shapes import FindingRow, ProfileId, RequirementRow, Scorecard

__all__ = ["SCORECARD_SCHEMA_VERSION", "Verdict", "score_run"]

SCORECARD_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class _Row:
    requirement: Requirement
    result: Result | None
    weight: float  # the requirement's weight times its category's weight
    waived: str | None = None  # the written reason, when a tender waived this requirement
    baselined: dict[str, Any] | None = None  # the supplier's baseline entry, with `expired`

    @property
    def outcome(self) -> Outcome:
        return self.result.outcome if self.result else Outcome.NOT_RUN

    @property
    def scored(self) -> bool:
        return (self.requirement.level is not Level.MAY and not self.requirement.planned and self.waived is None
                and self.outcome is not Outcome.NOT_APPLICABLE)


def _ratio(rows: list[_Row]) -> float | None:
    scored = [r for r in rows if r.scored]
    total = sum(r.weight for r in scored)
    if total == 0:
        return None
    earned = sum(r.weight for r in scored if r.outcome is Outcome.PASS)
    return round(100.0 * earned / total, 1)


def _counts(rows: Iterable[_Row]) -> dict[str, int]:
    counts = {o.value: 0 for o in Outcome if o is not Outcome.NOT_APPLICABLE}
    counts["planned"] = 0
    counts["waived"] = 0
    for row in rows:
        counts["waived"] += row.waived is not None
        if row.requirement.planned:
            counts["planned"] += 1
        else:
            counts[row.outcome.value] = counts.get(row.outcome.value, 0) + 1
    return counts


def _verdict(rows: list[_Row], *, set_aside: frozenset[str] = frozenset()) -> tuple[str, str]:
    active = [r for r in rows if not r.requirement.planned and r.waived is None
              and r.requirement.id not in set_aside and r.outcome is not Outcome.NOT_APPLICABLE]
    failed_must = [r.requirement.id for r in active
                   if r.requirement.level is Level.MUST and r.outcome is Outcome.FAIL]
    if failed_must:
        return Verdict.NON_CONFORMANT, f"MUST requirement(s) failed: {', '.join(failed_must)}"
    errored = [r.requirement.id for r in active if r.outcome is Outcome.ERROR]
    if errored:
        return Verdict.INCOMPLETE, f"could not be measured (error): {', '.join(errored)}"
    unrun = [r.requirement.id for r in active if r.requirement.level is Level.MUST
             and r.outcome in (Outcome.NOT_RUN, Outcome.SKIPPED)]
    if unrun:
        return Verdict.INCOMPLETE, f"MUST requirement(s) not run: {', '.join(unrun)}"
    if not active:
        return Verdict.INCOMPLETE, "no active, unwaived requirement applies to this target"
    return Verdict.CONFORMANT, "every active MUST requirement passed and nothing errored"


def score_run(profile: Profile, results: Iterable[Result], *, run: dict[str, Any] | None = None,
              target: dict[str, Any] | None = None, waivers: Mapping[str, str] | None = None,
              category_weights: Mapping[str, float] | None = None,
              claims: Mapping[str, Any] | None = None, lifecycle_at_run: Mapping[str, Any] | None = None,
              as_of: date | None = None, baseline: Mapping[str, Mapping[str, str]] | None = None,
              on: str | None = None) -> Scorecard:
    """The scorecard (a JSON-ready dict, see conformance/schemas/scorecard.schema.json and `Scorecard`).

    `lifecycle_at_run` is the profile version's lifecycle record when the run started (run.json); `as_of` the day
    whose validity the scorecard states (the profile's lifecycle as it stands now, `Lifecycle.validity`).
    `waivers` maps requirement id -> written reason; `category_weights` maps category -> multiplier;
    `claims` is what the target says it meets: {"profiles": ["id@version" or "id", ...], "requirements": [ids]}.
    `baseline` maps requirement id -> {reason, accepted_by, expires (YYYY-MM-DD)}; `on` is the day (YYYY-MM-DD)
    its expiry is judged against (the run's start).
    """
    by_id = {r.requirement_id: r for r in results}
    waivers = dict(waivers or {})
    weights = dict(category_weights or {})
    entries = {rid: {"reason": str(e["reason"]), "accepted_by": str(e["accepted_by"]), "expires": str(e["expires"]),
                     "expired": on is not None and str(e["expires"]) <= on} for rid, e in (baseline or {}).items()}
    rows = [_Row(req, by_id.get(req.id), req.weight * weights.get(req.category, 1.0), waivers.get(req.id),
                 entries.get(req.id)) for req in profile.requirements]
    verdict, reason = _verdict(rows)
    categories: dict[str, Any] = {}
    for category in dict.fromkeys(r.requirement.category for r in rows):
        in_cat = [r for r in rows if r.requirement.category == category]
        categories[category] = {"score": _ratio(in_cat), "counts": _counts(in_cat),
                                "weight": sum(r.weight for r in in_cat if r.scored),
                                "category_weight": weights.get(category, 1.0)}
    optional = [r for r in rows if r.requirement.level is Level.MAY and not r.requirement.planned
                and r.outcome is not Outcome.NOT_APPLICABLE]
    score = _ratio(rows)
    profile_id: ProfileId = {"id": profile.id, "version": profile.version, "title": profile.title,
                             "digest": profile.digest}
    if lifecycle_at_run is not None:
        profile_id["status"] = str(lifecycle_at_run.get("status") or profile.status.value)
        profile_id["lifecycle"] = dict(lifecycle_at_run)
    if as_of is not None:
        profile_id["validity"] = profile.governance.validity(as_of).to_dict()
    scorecard: Scorecard = {
        "schema_version": SCORECARD_SCHEMA_VERSION,
        "profile": profile_id,
        "target": target or {},
        "run": run or {},
        "verdict": verdict,
        "verdict_reason": reason,
        "score": score if score is not None else 0.0,
        "counts": _counts(rows),
        "optional": {"passed": sum(1 for r in optional if r.outcome is Outcome.PASS), "total": len(optional)},
        "categories": categories,
        "waivers": [{"id": r.requirement.id, "reason": r.waived, "outcome": r.outcome.value}
                    for r in rows if r.waived is not None],
        "claims": _claims(profile, rows, verdict, claims),
        "requirements": [_requirement_row(r) for r in rows],
    }
    if baseline is not None:
        scorecard["baseline"] = _baseline(rows)
    return scorecard


def _baseline(rows: list[_Row]) -> dict[str, Any]:
    """What the baseline did: the failures it accepted, its expired entries, the baselined requirements that pass
    now, and the verdict with the accepted ones set aside (expired entries excuse nothing)."""
    listed = [r for r in rows if r.baselined is not None]
    expired = [r.requirement.id for r in listed if (r.baselined or {}).get("expired")]
    accepted = [r.requirement.id for r in listed if r.requirement.id not in expired and r.outcome is not Outcome.PASS]
    verdict, reason = _verdict(rows, set_aside=frozenset(accepted))
    if expired:
        verdict, reason = Verdict.NON_CONFORMANT, f"baseline entries expired: {', '.join(expired)}"
    return {"accepted": accepted, "expired": expired,
            "now_passing": [r.requirement.id for r in listed if r.outcome is Outcome.PASS],
            "verdict": verdict, "verdict_reason": reason}


def _claims(profile: Profile, rows: list[_Row], verdict: str,
            claims: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Claimed versus demonstrated; None when the target declares no claims."""
    if not claims:
        return None
    claimed_profiles = {str(p) for p in claims.get("profiles") or ()}
    claimed_reqs = {str(r) for r in claims.get("requirements") or ()}
    return {
        "profile": profile.id in claimed_profiles or profile.ref in claimed_profiles,
        "demonstrated": verdict,
        "requirements": [{"id": r.requirement.id, "title": r.requirement.title, "outcome": r.outcome.value,
                          "met": r.outcome is Outcome.PASS}
                         for r in rows if r.requirement.id in claimed_reqs],
    }


def _requirement_row(row: _Row) -> RequirementRow:
    req, result = row.requirement, row.result
    out: RequirementRow = {
        "id": req.id,
        "title": req.title,
        "level": req.level.value,
        "category": req.category,
        "weight": req.weight,
        "check_kind": req.check.kind.value,
        "status": req.status.value,
        "outcome": row.outcome.value,
        "reason": ("planned: stated, but not yet checked by this harness version" if req.planned
                   else (result.reason if result else "not run")),
        "findings": [cast(FindingRow, f.to_dict()) for f in result.findings] if result else [],
        "measurements": dict(result.measurements) if result else {},
        "waived": row.waived,
        "effective_weight": row.weight,
    }
    # only on a baselined row: a scorecard without a baseline is what it was before baselines existed, so
    # bundles made earlier still re-score to their recorded scorecard
    if row.baselined is not None:
        out["baselined"] = row.baselined
    return out
