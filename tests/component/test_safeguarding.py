"""The safeguarding reference supplier over real HTTP on 127.0.0.1: the clean behaviour of each rule of the
profile, checked directly. The harness runs against the clean reference (score 100) and against each catalogued
fault (exactly its requirements fail) are the detection matrix's (tests/matrix/test_detection_matrix.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.kit import ContractContext, SupplierFailure
from fixtures.kit.launch import serving
from fixtures.safeguarding.app import level_for
from tests.conftest import shipped_checks

PROFILE = "safeguarding"
safeguarding = shipped_checks(PROFILE).module("referrals")  # profiles/safeguarding/1.0.0/checks/referrals.py


@pytest.fixture(scope="module")
def clean() -> Iterator[httpx.Client]:
    with serving(PROFILE) as url, httpx.Client(base_url=url, timeout=10) as client:  # in process: HTTP only
        yield client


def incident(tag: str | None = None, *, child: bool = False, **extra: Any) -> dict[str, Any]:
    tag = tag or uuid.uuid4().hex[:12]
    return {"victim": {"person_ref": f"V-{tag}", "name": "Bethan Example"},
            "suspect": {"person_ref": f"S-{tag}", "name": "Gareth Example"},
            "child_in_household": child, "occurred_at": "2026-11-20T22:15:00Z", **extra}


def answers(yes: int) -> list[bool]:
    return [True] * yes + [False] * (24 - yes)


def record(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/incidents", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def assess(client: httpx.Client, incident_id: str, yes: int, **extra: Any) -> httpx.Response:
    return client.post(f"/incidents/{incident_id}/risk-assessments",
                       json={"answers": answers(yes), "assessed_by": "PC 4471", **extra})


def referrals(client: httpx.Client, incident_id: str, *, until: Callable[[list[dict[str, Any]]], bool],
              within_s: float = 5.0) -> list[dict[str, Any]]:
    """The incident's referrals once `until` holds, or whatever is there after `within_s`."""
    deadline = time.monotonic() + within_s
    while True:
        response = client.get(f"/incidents/{incident_id}/referrals")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        if until(items) or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def kinds(items: list[dict[str, Any]]) -> list[str]:
    return sorted(item["kind"] for item in items)


# --- the clean reference ------------------------------------------------------------------------------

@pytest.mark.parametrize(("yes", "level"), [(0, "standard"), (9, "standard"), (10, "medium"), (13, "medium"),
                                            (14, "high"), (24, "high")])
def test_the_level_follows_the_dash_bands(clean: httpx.Client, yes: int, level: str) -> None:
    created = record(clean, incident())
    response = assess(clean, created["id"], yes)
    assert response.status_code == 201
    assert response.json() | {"assessed_at": None} == {
        "incident_id": created["id"], "yes_count": yes, "computed_level": level, "level": level,
        "assessed_by": "PC 4471", "assessed_at": None}
    assert level_for(yes) == level


def test_judgement_raises_with_a_reason_and_a_lowering_is_refused_leaving_the_level(clean: httpx.Client) -> None:
    created = record(clean, incident())
    raised = assess(clean, created["id"], 11, professional_judgement={"level": "high", "reason": "threats to kill"})
    assert raised.status_code == 201
    assert (raised.json()["computed_level"], raised.json()["level"]) == ("medium", "high")
    lowered = assess(clean, created["id"], 15, professional_judgement={"level": "medium", "reason": "moved out"})
    assert lowered.status_code == 422
    assert lowered.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in lowered.json()["errors"]] == ["/body/professional_judgement/level"]
    stored = clean.get(f"/incidents/{created['id']}").json()
    assert (stored["status"], stored["risk"]["level"], stored["risk"]["yes_count"]) == ("assessed", "high", 11)
    no_reason = assess(clean, created["id"], 11, professional_judgement={"level": "high"})
    assert no_reason.status_code == 422
    assert [e["pointer"] for e in no_reason.json()["errors"]] == ["/body/professional_judgement"]


def test_high_risk_and_a_child_raise_marac_and_mash_referrals_due_within_24_hours(clean: httpx.Client) -> None:
    created = record(clean, incident(child=True))
    mash = referrals(clean, created["id"], until=lambda items: bool(items))
    assert kinds(mash) == ["mash"]
    assessed = assess(clean, created["id"], 14).json()
    both = referrals(clean, created["id"], until=lambda items: len(items) == 2)
    assert kinds(both) == ["marac", "mash"]
    triggers = {"mash": created["received_at"], "marac": assessed["assessed_at"]}
    for referral in both:
        due = datetime.fromisoformat(referral["due_by"]) - datetime.fromisoformat(triggers[referral["kind"]])
        assert timedelta(0) < due <= timedelta(hours=24), referral
    assess(clean, created["id"], 20)  # a reassessment raises no second MARAC referral
    time.sleep(0.4)
    assert kinds(referrals(clean, created["id"], until=lambda items: True)) == ["marac", "mash"]


def test_medium_risk_without_a_child_raises_no_referral_and_a_judged_high_one_a_marac(clean: httpx.Client) -> None:
    medium, judged = record(clean, incident()), record(clean, incident())
    assert assess(clean, medium["id"], 13).json()["level"] == "medium"
    raised = assess(clean, judged["id"], 11, professional_judgement={"level": "high", "reason": "threats to kill"})
    assert (raised.json()["computed_level"], raised.json()["level"]) == ("medium", "high")
    assert kinds(referrals(clean, judged["id"], until=bool)) == ["marac"]
    # raised in order: the medium one, assessed first, would be there by now
    assert referrals(clean, medium["id"], until=lambda items: True) == []


def test_the_third_incident_for_a_pair_within_12_months_is_escalated(clean: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:12]
    marks = [record(clean, incident(tag, occurred_at=when))
             for when in ("2026-01-10T19:00:00Z", "2026-03-05T23:30:00Z", "2026-07-20T02:10:00Z")]
    assert [(m["escalated"], m["pair_incidents_12_months"]) for m in marks] == [(False, 1), (False, 2), (True, 3)]
    spread = [record(clean, incident(tag + "x", occurred_at=when))
              for when in ("2024-01-10T19:00:00Z", "2024-06-01T12:00:00Z", "2025-08-01T12:00:00Z")]
    assert [s["escalated"] for s in spread] == [False, False, False]
    other_suspect = record(clean, incident(tag, occurred_at="2026-08-01T00:00:00Z")
                           | {"suspect": {"person_ref": f"S2-{tag}", "name": "Iwan Example"}})
    assert other_suspect["escalated"] is False


def test_the_queue_shows_every_unassessed_incident_oldest_first_with_its_age(clean: httpx.Client) -> None:
    area = f"hub-{uuid.uuid4().hex[:8]}"
    middle = record(clean, incident(area=area, received_at="2025-06-02T09:30:00+01:00"))
    newest = record(clean, incident(area=area))
    oldest = record(clean, incident(area=area, received_at="2025-06-01T08:00:00Z"))
    queue = clean.get("/queue", params={"area": area}).json()
    assert [i["incident_id"] for i in queue["items"]] == [oldest["id"], middle["id"], newest["id"]]
    assert queue["count"] == 3
    assert queue["items"][1]["received_at"].startswith("2025-06-02T08:30:00")  # kept in UTC
    assert queue["items"][0]["age_seconds"] > 365 * 86400 > queue["items"][2]["age_seconds"] >= 0
    assess(clean, middle["id"], 3)
    assert [i["incident_id"] for i in clean.get("/queue", params={"area": area}).json()["items"]] == [
        oldest["id"], newest["id"]]


def test_a_malformed_incident_is_refused_with_every_problem(clean: httpx.Client) -> None:
    response = clean.post("/incidents", json={"victim": {"person_ref": ""}, "child_in_household": "yes",
                                              "occurred_at": "yesterday"})
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert {"/body", "/body/victim", "/body/victim/person_ref", "/body/child_in_household",
            "/body/occurred_at"} <= pointers
    short = clean.post(f"/incidents/{uuid.uuid4()}/risk-assessments", json={"answers": answers(5)[:23],
                                                                             "assessed_by": "PC 1"})
    assert (short.status_code, short.json()["errors"][0]["pointer"]) == (422, "/body/answers")
    assert clean.get(f"/incidents/{uuid.uuid4()}").status_code == 404
    assert clean.post("/incidents", content=b"{", headers={"content-type": "application/json"}).status_code == 400


# --- the contract checks against malformed answers (no server: a candidate's bad answer is its fail) ----------

def fake_context(answer: Callable[[str, str], httpx.Response]) -> ContractContext:
    openapi = Path(__file__).resolve().parents[2] / "profiles" / PROFILE / "1.0.0" / "openapi.yaml"
    return ContractContext(lambda method, path, **_: answer(method, path), str(openapi), 1, 1)


@pytest.mark.parametrize("check", [safeguarding.referral_deadlines, safeguarding.no_referral_lost_in_burst])
@pytest.mark.parametrize("created", [
    httpx.Response(201, json={"received_at": "2026-11-20T22:15:00+00:00"}),  # no id
    httpx.Response(201, json={"id": 7, "received_at": "2026-11-20T22:15:00+00:00"}),  # an id that is no string
    httpx.Response(201, content=b"recorded", headers={"content-type": "text/plain"}),  # not JSON
    httpx.Response(201, json=["recorded"]),  # JSON, not an object
], ids=["no-id", "id-not-a-string", "not-json", "not-an-object"])
def test_a_created_answer_without_an_id_fails_the_check_not_the_harness(
        check: Callable[[ContractContext], None], created: httpx.Response) -> None:
    with pytest.raises(SupplierFailure, match="201"):
        check(fake_context(lambda method, path: created))


def test_a_referral_list_that_is_not_a_list_is_no_referral(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safeguarding, "POLL_S", 0.0)

    def answer(method: str, path: str) -> httpx.Response:
        if method == "POST":
            return httpx.Response(201, json={"id": str(uuid.uuid4()), "received_at": "2026-11-20T22:15:00+00:00"})
        return httpx.Response(200, json={"items": 5})

    with pytest.raises(SupplierFailure, match="no MASH referral"):
        safeguarding.referral_deadlines(fake_context(answer))


def test_reset_empties_the_reference(clean: httpx.Client) -> None:
    """Last in the module: it empties the shared reference."""
    record(clean, incident(child=True))
    assert clean.get("/queue").json()["count"] > 0
    assert clean.post("/__reference/reset").status_code == 204
    assert clean.get("/queue").json() == {"items": [], "count": 0}
