"""Contract checks of the safeguarding profile that a scenario cannot state: deadlines as time arithmetic
(a referral's due_by against its trigger) and a burst of concurrent high-risk incidents whose referrals must
all exist afterwards."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from conformance.kit import ContractContext, at_once, contract_check, json_or_none, poll

BURST = 30  # high-risk incidents sent at once
POLL_S = 15.0  # how long referrals may take to appear (they are raised asynchronously)
POLL_INTERVAL_S = 0.25
HIGH_RISK_ANSWERS = [True] * 20 + [False] * 4  # 20 yes: high by any reading of the bands


def _deadlines(c: ContractContext) -> dict[str, float]:
    """The profile's deadlines, in hours, from its datasets/deadlines.yaml."""
    data = c.dataset("deadlines.yaml")["referral-deadlines"]
    return {"marac": float(data["marac_hours"]), "mash": float(data["mash_hours"])}


def _incident(tag: str, *, child: bool) -> dict[str, Any]:
    return {"victim": {"person_ref": f"V-{tag}", "name": "Rhian Example"},
            "suspect": {"person_ref": f"S-{tag}", "name": "Dafydd Example"},
            "child_in_household": child, "occurred_at": "2026-11-20T23:05:00Z", "area": f"hub-{tag}"}


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _created(c: ContractContext, response: httpx.Response, what: str) -> dict[str, Any]:
    """The candidate's 201 answer as a JSON object; anything else fails the requirement, saying what came back."""
    body = json_or_none(response)
    if response.status_code != 201 or not isinstance(body, dict):
        c.fail(f"{what}: expected 201 with a JSON object, got {response.status_code}: {response.text[:200]!r}")
    return body


def _id(c: ContractContext, body: dict[str, Any], what: str) -> str:
    """The `id` of a created incident; a 201 without one (or not a string) fails the requirement."""
    value = body.get("id")
    if not isinstance(value, str) or not value:
        c.fail(f"{what}: the 201 answer has no incident id (expected a string at /id, got {value!r}), so the "
               "incident cannot be read back")
    return value


def _referrals(response: httpx.Response) -> list[dict[str, Any]] | None:
    """The referral items of a 200 answer to listReferrals; None for any other answer."""
    body = json_or_none(response)
    items = body.get("items") if response.status_code == 200 and isinstance(body, dict) else None
    if not isinstance(items, list):
        return None
    return [item for item in items if isinstance(item, dict)]


def _wait_for(c: ContractContext, incident_id: str, kind: str) -> dict[str, Any] | None:
    """The incident's referral of `kind`, polling until it appears or POLL_S passes."""

    def referral() -> dict[str, Any] | None:
        response = c.send("GET", f"/incidents/{incident_id}/referrals", step=f"read the {kind} referral")
        return next((item for item in _referrals(response) or [] if item.get("kind") == kind), None)

    return poll(referral, within_s=POLL_S, interval_s=POLL_INTERVAL_S)


@contract_check("safeguarding.referral_deadlines", requirements=("SAFEG-REF-003",))
def referral_deadlines(c: ContractContext) -> None:
    """A MASH referral is due within the profile's hours of the report's receipt, a MARAC referral within
    its hours of the assessment that found high risk."""
    hours = _deadlines(c)
    tag = uuid.uuid4().hex[:12]
    incident = _created(c, c.send("POST", "/incidents", json=_incident(tag, child=True),
                                  step="record an incident with a child in the household"), "record the incident")
    incident_id = _id(c, incident, "record the incident")
    received = _time(incident.get("received_at"))
    if received is None:
        c.fail(f"incident {incident_id}: received_at {incident.get('received_at')!r} is not a time with a zone")
    mash = _wait_for(c, incident_id, "mash")
    if mash is None:
        c.fail(f"incident {incident_id}: no MASH referral within {POLL_S:g} s of recording it, so none can be "
               f"due within {hours['mash']:g} hours of its receipt")
    # The MASH referral exists before the assessment, so the two are raised one after the other.
    assessment = _created(c, c.send("POST", f"/incidents/{incident_id}/risk-assessments",
                                    json={"answers": HIGH_RISK_ANSWERS, "assessed_by": f"PC {tag}"},
                                    step="assess it high (20 yes answers)"), "assess the incident")
    assessed = _time(assessment.get("assessed_at"))
    if assessed is None:
        c.fail(f"incident {incident_id}: assessed_at {assessment.get('assessed_at')!r} is not a time with a zone")
    marac = _wait_for(c, incident_id, "marac")
    if marac is None:
        c.fail(f"incident {incident_id}: no MARAC referral within {POLL_S:g} s of the high-risk assessment, so "
               f"none can be due within {hours['marac']:g} hours of it")
    late = []
    for kind, referral, trigger, what in (("mash", mash, received, "the report's receipt"),
                                          ("marac", marac, assessed, "the assessment")):
        due = _time(referral.get("due_by"))
        allowed = timedelta(hours=hours[kind])
        # A difference of two times never overflows, where trigger + allowed may (a trigger in year 9999).
        if due is None or due - trigger > allowed:
            late.append(f"{kind} referral {referral.get('id')!r} is due by {referral.get('due_by')!r}, later than "
                        f"{hours[kind]:g} hours after {what} ({trigger.isoformat()})")
    if late:
        c.fail(f"incident {incident_id}: " + "; ".join(late))


@contract_check("safeguarding.no_referral_lost_in_burst", requirements=("SAFEG-REF-004",))
def no_referral_lost_in_burst(c: ContractContext) -> None:
    """30 high-risk incidents assessed at once: afterwards every one has its MARAC referral."""
    tag = uuid.uuid4().hex[:12]

    created = at_once(BURST, lambda i: c.send("POST", "/incidents", json=_incident(f"{tag}-{i}", child=False),
                                              step=f"record incident {i + 1} of {BURST} (concurrently)"))
    refused = [f"{i + 1}: {r.status_code}" for i, r in enumerate(created) if r.status_code != 201]
    if refused:
        c.fail(f"{len(refused)} of {BURST} incidents recorded at once were not accepted (expected 201): "
               + ", ".join(refused[:10]))
    ids = [_id(c, _created(c, r, f"record incident {i + 1} of {BURST}"), f"record incident {i + 1} of {BURST}")
           for i, r in enumerate(created)]
    if len(set(ids)) != BURST:
        c.fail(f"{BURST} incidents recorded at once were given only {len(set(ids))} distinct ids: {', '.join(ids)}")
    assessed = at_once(BURST, lambda i: c.send(
        "POST", f"/incidents/{ids[i]}/risk-assessments",
        json={"answers": HIGH_RISK_ANSWERS, "assessed_by": f"PC {tag}"},
        step=f"assess incident {i + 1} of {BURST} high (concurrently)"))

    def level(response: httpx.Response) -> Any:
        body = json_or_none(response)
        return body.get("level") if isinstance(body, dict) else None

    refused = [f"{ids[i]}: {r.status_code} level {level(r)!r}" for i, r in enumerate(assessed)
               if r.status_code != 201 or level(r) != "high"]
    if refused:
        c.fail(f"{len(refused)} of {BURST} high-risk assessments sent at once were not recorded as high "
               "(expected 201, level high): " + ", ".join(refused[:10]))
    missing = set(ids)
    deadline = time.monotonic() + POLL_S
    while missing:
        for incident_id in sorted(missing):
            response = c.send("GET", f"/incidents/{incident_id}/referrals", step="read back its referrals")
            if any(item.get("kind") == "marac" for item in _referrals(response) or []):
                missing.discard(incident_id)
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(POLL_INTERVAL_S * 2)
    if missing:
        lost = [incident_id for incident_id in ids if incident_id in missing]
        c.fail(f"{len(lost)} of {BURST} high-risk incidents assessed at once have no MARAC referral "
               f"{POLL_S:g} s later: {', '.join(lost)}")
