"""What the pages and the API show, read from the database: who may see a listing, the listings of a profile
version, a supplier's history with its regressions, a listing's diff against another, the comparison of chosen
listings (the one `conformance compare` writes), and revocation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload, undefer

from conformance.procurement.collect import Scored, comparison_from_scorecards
from conformance.registry.accounts import OrgKind, now
from conformance.registry.tables import Bundle, Listing, Organisation
from conformance.scoring.shapes import Comparison
from conformance.supplier.diff import RunDiff, diff_scorecards

__all__ = ["COMPARISON_TITLE", "HistoryRow", "comparison_of", "diff_of", "history", "listing_dict", "profile_counts",
           "profile_listings", "revoke", "visible", "visible_listing"]

_VERDICT_RANK = {"conformant": 0, "incomplete": 1, "non-conformant": 2}


def visible(viewer: Organisation | None) -> Select[Listing]:
    """Listings `viewer` may see: every public one, and its own organisation's private ones."""
    query = select(Listing).join(Bundle)
    if viewer is None:
        return query.where(Bundle.visibility == "public")
    return query.where((Bundle.visibility == "public") | (Bundle.organisation_id == viewer.id))


def visible_listing(session: Session, viewer: Organisation | None, listing_id: int) -> Listing | None:
    """One listing, with its scorecard and bundle's details (not its bytes) loaded, if `viewer` may see it."""
    return session.scalar(visible(viewer).where(Listing.id == listing_id)
                          .options(undefer(Listing.scorecard), joinedload(Listing.bundle)))


def profile_counts(session: Session) -> dict[str, int]:
    """Public listings (revoked ones too) per profile ref."""
    rows = session.execute(select(Listing.profile_id, Listing.profile_version, func.count()).join(Bundle)
                           .where(Bundle.visibility == "public")
                           .group_by(Listing.profile_id, Listing.profile_version))
    return {f"{pid}@{version}": count for pid, version, count in rows}


def profile_listings(session: Session, profile_id: str, version: str) -> list[Listing]:
    return list(session.scalars(visible(None).where(Listing.profile_id == profile_id,
                                                    Listing.profile_version == version)
                                .order_by(Listing.supplier, Listing.product, Listing.measured_at.desc(),
                                          Listing.id.desc())))


def private_listings(session: Session, viewer: Organisation) -> list[Listing]:
    return list(session.scalars(select(Listing).join(Bundle).where(Bundle.visibility == "private",
                                                                   Bundle.organisation_id == viewer.id)
                                .order_by(Listing.measured_at.desc(), Listing.id.desc())))


@dataclass(frozen=True)
class HistoryRow:
    listing: Listing
    previous: Listing | None
    regressions: list[str]  # empty: none against the previous release

    @property
    def score_delta(self) -> float | None:
        return None if self.previous is None else round(self.listing.score - self.previous.score, 1)


def diff_of(old: Listing, new: Listing) -> RunDiff:
    return diff_scorecards(old.scorecard, new.scorecard, old_label=_label(old), new_label=_label(new))


def _label(listing: Listing) -> str:
    return f"{listing.product} {listing.product_version} (listing {listing.id})"


def history(session: Session, viewer: Organisation | None, supplier: str) -> dict[tuple[str, str], list[HistoryRow]]:
    """A supplier's visible listings per (product, profile id), oldest first, each against the one before it:
    a regression is a requirement that got worse, a slower load percentile, a worse verdict or a lower score."""
    rows: dict[tuple[str, str], list[HistoryRow]] = {}
    listings = session.scalars(visible(viewer).where(Listing.supplier == supplier)
                               .options(undefer(Listing.scorecard)).order_by(Listing.measured_at, Listing.id))
    for listing in listings:
        line = rows.setdefault((listing.product, listing.profile_id), [])
        previous = line[-1].listing if line else None
        found: list[str] = []
        if previous is not None:
            found = diff_of(previous, listing).regressions
            if _VERDICT_RANK.get(listing.verdict, 3) > _VERDICT_RANK.get(previous.verdict, 3):
                found.insert(0, f"verdict {previous.verdict} -> {listing.verdict}")
            if listing.score < previous.score:
                found.insert(0, f"score {previous.score:g} -> {listing.score:g}")
        line.append(HistoryRow(listing, previous, found))
    return rows


COMPARISON_TITLE = "Comparison of supplier systems"  # `conformance compare`'s


def comparison_of(listings: Sequence[Listing], *, title: str = COMPARISON_TITLE) -> Comparison:
    """The comparison of these listings, as `conformance compare` builds it from their scorecards, but for two
    things: a candidate is named by what the registry lists (supplier, product and version: a run's target name or
    the address it was tested at means nothing to a buyer), and the links lead to each listing's scorecard and
    report on this registry (relative to /compare)."""
    scored = [Scored(dict(item.scorecard), f"listing {item.id}", f"listing-{item.id}",
                     {"scorecard": f"listings/{item.id}/scorecard.json", "report": f"listings/{item.id}/report.html"},
                     name=f"{item.supplier}: {item.product} {item.product_version}".strip())
              for item in listings]
    return comparison_from_scorecards(scored, title=title)


def revoke(session: Session, listing: Listing, inspector: Organisation, reason: str) -> None:
    if inspector.kind != OrgKind.INSPECTOR:
        raise PermissionError(f"{inspector.name} is a {inspector.kind}: only an inspector revokes listings")
    reason = reason.strip()
    if not reason:
        raise ValueError("a revocation needs its reason (it is shown on the listing)")
    if listing.revoked_at is None:
        listing.revoked_at, listing.revoked_reason, listing.revoked_by = now(), reason[:2000], inspector.name


def listing_dict(listing: Listing, validity: dict[str, Any] | None) -> dict[str, Any]:
    revoked = listing.revoked_at
    return {"id": listing.id, "supplier": listing.supplier, "product": listing.product,
            "product_version": listing.product_version,
            "profile": {"id": listing.profile_id, "version": listing.profile_version,
                        "digest": listing.profile_digest},
            "verdict": listing.verdict, "score": listing.score, "tier": listing.tier,
            "measured_at": listing.measured_at, "uploaded_at": _iso(listing.bundle.uploaded_at),
            "visibility": listing.bundle.visibility, "signers": listing.bundle.signers,
            "bundle_sha256": listing.bundle.sha256, "validity": validity,
            "revoked": None if revoked is None else {"at": _iso(revoked), "reason": listing.revoked_reason,
                                                     "by": listing.revoked_by}}


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value.tzinfo else value.isoformat() + "Z"
