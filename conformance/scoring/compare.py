"""Comparison: several candidates' scorecards on the same profiles, side by side, ranked. Pure, no I/O.

A candidate's overall score is the profile-weighted mean of its profile scores; its verdict is the worst of
its profile verdicts (non-conformant, then incomplete, then conformant). It meets a tender's thresholds when
(with `all_must`) every profile is conformant and (with `min_score`) its score reaches the minimum, and never
when a profile was not completely measured (no scorecard, an interrupted run). Ranking:
candidates that meet the thresholds first, then conformant ones, then by score (a candidate that could not be started
scores 0); equal on all three share a rank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.model import Candidate, Outcome, Verdict
from conformance.scoring.shapes import Comparison, ComparisonCandidate, ComparisonRank

__all__ = ["COMPARISON_SCHEMA_VERSION", "CandidateRuns", "build_comparison"]

COMPARISON_SCHEMA_VERSION = 1
_VERDICT_ORDER: dict[str, int] = {Verdict.CONFORMANT: 0, Verdict.INCOMPLETE: 1, Verdict.NON_CONFORMANT: 2}


@dataclass(frozen=True)
class CandidateRuns:
    """One candidate and what it scored: profile ref -> scorecard, or profile ref -> why there is none."""

    candidate: Candidate
    scorecards: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    paths: dict[str, dict[str, str | None]] = field(default_factory=dict)  # ref -> {"scorecard", "report"}


def _ref(card: Mapping[str, Any]) -> str:
    return f"{card['profile']['id']}@{card['profile']['version']}"


def build_comparison(candidates: Sequence[CandidateRuns], *, title: str,
                     profiles: Sequence[Mapping[str, Any]] | None = None,
                     tender: Mapping[str, Any] | None = None, generated_at: str) -> Comparison:
    """The comparison (JSON-ready; conformance/schemas/comparison.schema.json). Pure: the caller says when
    it was made (`generated_at`, ISO 8601 UTC).

    `profiles`: [{"ref", "id", "version", "title", "digest", "weight"}]; taken from the scorecards when None.
    `tender`: Tender.summary() when the comparison evaluates a tender (thresholds, weights, waivers).
    """
    if profiles is None:
        seen: dict[str, dict[str, Any]] = {}
        for cand in candidates:
            for card in cand.scorecards.values():
                p = card["profile"]
                seen.setdefault(_ref(card), {"ref": _ref(card), "id": p["id"], "version": p["version"],
                                             "title": p["title"], "digest": p["digest"], "weight": 1.0})
        profiles = list(seen.values())
    thresholds = dict((tender or {}).get("thresholds") or {"all_must": True, "min_score": None})
    rows = [_candidate(c, profiles, thresholds) for c in candidates]
    return {
        "schema_version": COMPARISON_SCHEMA_VERSION,
        "title": title,
        "generated_at": generated_at,
        "tender": dict(tender) if tender is not None else None,
        "profiles": [dict(p) for p in profiles],
        "ranking": _ranking(rows),
        "candidates": rows,
        "categories": _categories(candidates, profiles),
        "requirements": _requirements(candidates, profiles),
        "interoperability": None,
    }


def _candidate(cand: CandidateRuns, profiles: Sequence[Mapping[str, Any]],
               thresholds: Mapping[str, Any]) -> ComparisonCandidate:
    per_profile: dict[str, Any] = {}
    verdicts: list[Verdict] = []
    weighted = total = 0.0
    claims: list[dict[str, Any]] | None = [] if cand.candidate.claims else None
    for p in profiles:
        ref, weight = p["ref"], float(p.get("weight", 1.0))
        card = cand.scorecards.get(ref)
        paths = cand.paths.get(ref, {})
        error: str | None
        if card is None:
            error = cand.errors.get(ref, "no scorecard for this profile")
            per_profile[ref] = {"verdict": Verdict.INCOMPLETE, "score": 0.0, "run_id": None, "seed": None,
                                "scorecard": None, "report": paths.get("report"), "categories": {},
                                "counts": {}, "error": error}
            verdict, score = Verdict.INCOMPLETE, 0.0
        else:
            verdict, score = Verdict(card["verdict"]), float(card["score"])
            found: str | None = cand.errors.get(ref)
            error = found or ("the run was interrupted" if card["run"].get("interrupted") else None)
            if error and verdict == Verdict.CONFORMANT:
                verdict = Verdict.INCOMPLETE  # what was measured passed, but not everything was measured
            per_profile[ref] = {"verdict": verdict, "score": score, "run_id": card["run"].get("id"),
                                "seed": card["run"].get("seed"), "scorecard": paths.get("scorecard"),
                                "report": paths.get("report"),
                                "categories": {k: v["score"] for k, v in card["categories"].items()},
                                "counts": dict(card["counts"]), "error": error}
        verdicts.append(verdict)
        weighted += weight * score
        total += weight
        if claims is not None:
            claims.extend(_claims_for(cand.candidate.claims or {}, p, card, verdict))
    overall = max(verdicts, key=_VERDICT_ORDER.__getitem__) if verdicts else Verdict.INCOMPLETE
    score = round(weighted / total, 1) if total else 0.0
    reasons: list[str] = []
    unmeasured = [f"{ref}: {v['error']}" for ref, v in per_profile.items() if v["error"]]
    if unmeasured:
        reasons.append("not completely measured: " + "; ".join(unmeasured))
    if thresholds.get("all_must", True) and overall != Verdict.CONFORMANT:
        failing = [f"{ref} {v['verdict']}" for ref, v in per_profile.items() if v["verdict"] != Verdict.CONFORMANT]
        reasons.append("not every MUST requirement demonstrated: " + ", ".join(failing))
    min_score = thresholds.get("min_score")
    if min_score is not None and score < float(min_score):
        reasons.append(f"score {score:g} below the minimum {float(min_score):g}")
    who = cand.candidate
    return {"name": who.name, "supplier": who.supplier, "product": who.product,
            "product_version": who.product_version, "verdict": overall, "score": score,
            "meets_thresholds": not reasons, "reasons": reasons, "profiles": per_profile, "claims": claims}


def _claims_for(claims: Mapping[str, list[str]], profile: Mapping[str, Any], card: Mapping[str, Any] | None,
                verdict: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if profile["ref"] in claims.get("profiles", []) or profile["id"] in claims.get("profiles", []):
        out.append({"kind": "profile", "item": profile["ref"], "claimed": True, "demonstrated": verdict,
                    "met": verdict == Verdict.CONFORMANT})
    rows = {r["id"]: r for r in (card or {}).get("requirements", [])}
    for rid in claims.get("requirements", []):
        if card is None or rid in rows:
            outcome = rows[rid]["outcome"] if rid in rows else Outcome.NOT_RUN
            out.append({"kind": "requirement", "item": rid, "claimed": True, "demonstrated": outcome,
                        "met": outcome == Outcome.PASS})
    return out


def _ranking(rows: list[ComparisonCandidate]) -> list[ComparisonRank]:
    def key(row: ComparisonCandidate) -> tuple[bool, bool, float]:
        return (not row["meets_thresholds"], row["verdict"] != Verdict.CONFORMANT, -row["score"])

    ordered = sorted(rows, key=lambda r: (*key(r), r["name"]))
    ranking: list[ComparisonRank] = []
    for position, row in enumerate(ordered, start=1):
        rank = ranking[-1]["rank"] if ranking and key(ordered[position - 2]) == key(row) else position
        ranking.append({"rank": rank, "candidate": row["name"], "supplier": row["supplier"],
                        "product": row["product"], "verdict": row["verdict"], "score": row["score"],
                        "meets_thresholds": row["meets_thresholds"], "reasons": list(row["reasons"])})
    return ranking


def _categories(candidates: Sequence[CandidateRuns], profiles: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in profiles:
        names: dict[str, float] = {}
        for cand in candidates:
            card = cand.scorecards.get(p["ref"])
            for name, cat in (card or {}).get("categories", {}).items():
                names.setdefault(name, float(cat.get("category_weight", 1.0)))
        for name, weight in names.items():
            scores = {}
            for cand in candidates:
                card = cand.scorecards.get(p["ref"])
                scores[cand.candidate.name] = card["categories"].get(name, {}).get("score") if card else None
            out.append({"profile": p["ref"], "category": name, "weight": weight, "scores": scores})
    return out


def _requirements(candidates: Sequence[CandidateRuns],
                  profiles: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in profiles:
        order: dict[str, dict[str, Any]] = {}
        for cand in candidates:
            for row in (cand.scorecards.get(p["ref"]) or {}).get("requirements", []):
                order.setdefault(row["id"], row)
        for rid, first in order.items():
            results: dict[str, Any] = {}
            waived = first.get("waived")
            for cand in candidates:
                card = cand.scorecards.get(p["ref"])
                row = next((r for r in (card or {}).get("requirements", []) if r["id"] == rid), None)
                if row is None:
                    results[cand.candidate.name] = {"outcome": Outcome.NOT_RUN, "findings": 0,
                                          "reason": cand.errors.get(p["ref"], "no result")}
                    continue
                waived = waived or row.get("waived")
                results[cand.candidate.name] = {"outcome": "planned" if row["status"] == "planned" else row["outcome"],
                                      "findings": len(row["findings"]),
                                      "reason": row.get("reason")}
            out.append({"profile": p["ref"], "id": rid, "title": first["title"], "level": first["level"],
                        "category": first["category"], "weight": first["weight"], "waived": waived,
                        "results": results})
    return out
