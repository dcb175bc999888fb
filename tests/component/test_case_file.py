"""The case-file reference and the court receiver stand-in, as real processes on 127.0.0.1, over HTTP.

The receiver validates deliveries against the profile's receiver.openapi.yaml (422 with pointers, 409 for a
reused key, 400/413 for bodies it cannot or will not read), keeps what it received, tells a replay from a
duplicate, and can hold a read until deliveries settle. The clean reference does what the profile requires
(every problem at once, one file and one delivery per submission and 409 for a different body, delivery through
an outage, structured charging decisions); and a receiver process that is stopped (SIGTERM) and started again
on the same port still gets a file submitted meanwhile, exactly once. Whether each fault is caught by exactly
its requirements is the detection matrix's business (tests/matrix/test_detection_matrix.py), not this file's.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from conformance.engine.processes import launched
from fixtures.case_file.app import stage_problems
from fixtures.court_receiver.app import MAX_BODY_BYTES, RECEIVER_OPENAPI

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "profiles" / "case-file" / "1.0.0"
DATASETS = PROFILE / "datasets" / "case-files.yaml"


def receiver_command(port: int = 0) -> list[str]:
    return [sys.executable, "-m", "fixtures.court_receiver", "--port", str(port)]


def reference_command(receiver: str, *faults: str) -> list[str]:
    cmd = [sys.executable, "-m", "conformance", "reference", "serve", "--profile", "case-file", "--port", "0",
           "--system", f"receiver={receiver}"]
    for fault in faults:
        cmd += ["--fault", fault]
    return cmd


def dataset(name: str, urn: str) -> dict[str, Any]:
    entries = yaml.safe_load(DATASETS.read_text(encoding="utf-8"))
    body: dict[str, Any] = entries[name]
    if body.get("urn") == "${urn}":
        body["urn"] = urn
    return body


def fresh_urn(receiver: httpx.Client) -> str:
    response = receiver.post("/urns")
    assert response.status_code == 201, response.text
    urn: str = response.json()["urn"]
    return urn


def wait_for(what: str, probe: Callable[[], Any], within_s: float = 10.0) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within_s} s")
        time.sleep(0.1)


def delivery_of(target: httpx.Client, urn: str) -> dict[str, Any]:
    response = target.get(f"/case-files/{urn}")
    assert response.status_code == 200, response.text
    submissions = response.json()["submissions"]
    assert len(submissions) == 1, submissions
    delivery: dict[str, Any] = submissions[0]["delivery"]
    return delivery


def received(receiver: httpx.Client, urn: str) -> int:
    count: int = receiver.get("/deliveries", params={"urn": urn}).json()["count"]
    return count


@contextmanager
def clients(*urls: str) -> Iterator[list[httpx.Client]]:
    opened = [httpx.Client(base_url=url, timeout=10.0) for url in urls]
    try:
        yield opened
    finally:
        for client in opened:
            client.close()


@pytest.fixture(scope="module")
def receiver_url() -> Iterator[str]:
    with launched(receiver_command()) as url:
        yield url


@pytest.fixture(scope="module")
def clean(receiver_url: str) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with launched(reference_command(receiver_url)) as url, clients(url, receiver_url) as (target, receiver):
        receiver.put("/control/availability", json={"available": True})
        yield target, receiver


# --- the receiver stand-in ---------------------------------------------------------------------------------
def delivery_for(urn: str, **changes: Any) -> dict[str, Any]:
    return {"submission_id": str(uuid.uuid4()), "urn": urn, "stage": "pre-charge",
            "file": dataset("pre-charge-minimum", urn), **changes}


def pointers(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return [e["pointer"] for e in response.json().get("errors", [])]


def test_receiver_keeps_each_delivery_tells_replays_from_duplicates_and_simulates_an_outage(
        receiver_url: str) -> None:
    assert urlsplit(receiver_url).hostname == "127.0.0.1"
    with clients(receiver_url) as (receiver,):
        urn = fresh_urn(receiver)
        delivery, key = delivery_for(urn), {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
        first = receiver.post("/deliveries", json=delivery, headers=key)
        assert first.status_code == 201, first.text
        replay = receiver.post("/deliveries", json=delivery, headers=key)
        assert (replay.status_code, replay.json()) == (200, first.json())
        held = receiver.get("/deliveries", params={"urn": urn}).json()
        assert held["count"] == 1 and held["items"][0]["replays"] == 1
        assert held["items"][0]["file"] == delivery["file"]  # what arrived, not only that something did
        changed = {**delivery, "file": {**delivery["file"], "summary": "Something else."}}
        conflict = receiver.post("/deliveries", json=changed, headers=key)
        assert conflict.status_code == 409
        assert pointers(conflict) == ["/header/Idempotency-Key", "/body/file/summary"]
        again = receiver.post("/deliveries", json=delivery, headers={"Idempotency-Key": f"k-{uuid.uuid4().hex}"})
        assert again.status_code == 201  # the same submission under a new key: a duplicate, and it shows
        assert receiver.get("/deliveries", params={"urn": urn}).json()["counts"] == {urn: 2}
        assert receiver.put("/control/availability", json={"available": False}).json() == {"available": False}
        try:
            refused = receiver.post("/deliveries", json=delivery, headers=key)
            assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
            assert refused.headers["content-type"] == "application/problem+json"
        finally:
            assert receiver.put("/control/availability", json={"available": True}).status_code == 200
        assert receiver.put("/control/availability", json={"available": "no"}).status_code == 422
        assert received(receiver, urn) == 2


def test_receiver_refuses_what_breaks_the_wire_format_listing_every_problem(receiver_url: str) -> None:
    with clients(receiver_url) as (receiver,):
        urn = fresh_urn(receiver)
        key = {"Idempotency-Key": "k-1"}
        empty = receiver.post("/deliveries", json=delivery_for(urn, file={}), headers=key)
        assert empty.status_code == 422
        assert len(pointers(empty)) == 6 and set(pointers(empty)) == {"/body/file"}  # six required fields
        no_key = receiver.post("/deliveries", json={**delivery_for(urn), "stage": "trial"})
        assert no_key.status_code == 422
        assert pointers(no_key) == ["/header/Idempotency-Key", "/body/stage", "/body/file/stage"]
        other_urn = {**delivery_for(urn), "urn": "02CD1234526"}
        assert pointers(receiver.post("/deliveries", json=other_urn, headers=key)) == ["/body/file/urn"]
        json_type = {**key, "Content-Type": "application/json"}
        assert receiver.post("/deliveries", content=b"{", headers=json_type).status_code == 400
        assert receiver.post("/deliveries", content=b"{}", headers={**key, "Content-Type": "text/plain"}
                             ).status_code == 415
        deep = receiver.post("/deliveries", content=b"[" * 200_000 + b"]" * 200_000, headers=json_type)
        assert deep.status_code == 400 and deep.headers["content-type"] == "application/problem+json"
        big = receiver.post("/deliveries", content=b" " * (MAX_BODY_BYTES + 1), headers=json_type)
        assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"
        assert received(receiver, urn) == 0
        assert receiver.get("/deliveries", params={"settle_s": "soon"}).status_code == 422


def test_a_settling_read_waits_for_a_late_duplicate(receiver_url: str) -> None:
    with clients(receiver_url, receiver_url) as (receiver, late):
        urn = fresh_urn(receiver)
        delivery = delivery_for(urn)
        assert receiver.post("/deliveries", json=delivery, headers={"Idempotency-Key": "a"}).status_code == 201
        duplicate = threading.Timer(0.6, lambda: late.post("/deliveries", json=delivery,
                                                           headers={"Idempotency-Key": "b"}))
        started = time.monotonic()
        duplicate.start()
        try:
            settled = receiver.get("/deliveries", params={"urn": urn, "settle_s": 1}).json()
        finally:
            duplicate.join()
        assert settled["count"] == 2  # read straight away it would have been 1
        assert time.monotonic() - started >= 1.5  # quiet for 1 s after the duplicate at 0.6 s


def test_receiver_case_file_schemas_are_the_profiles() -> None:
    """receiver.openapi.yaml repeats CaseFileInput (and what it uses) from openapi.yaml: they must not drift."""
    ours = yaml.safe_load((PROFILE / "openapi.yaml").read_text(encoding="utf-8"))["components"]["schemas"]
    wire = yaml.safe_load(RECEIVER_OPENAPI.read_text(encoding="utf-8"))["components"]["schemas"]
    assert RECEIVER_OPENAPI.parent == PROFILE
    shared = set(wire) - {"Delivery", "Receipt"}
    assert "CaseFileInput" in shared
    assert {name: wire[name] for name in shared} == {name: ours[name] for name in shared}


def test_reference_refuses_json_nested_too_deep_with_a_problem(clean: tuple[httpx.Client, httpx.Client]) -> None:
    target, _ = clean
    deep = target.post("/case-files", content=b"[" * 200_000 + b"]" * 200_000,
                       headers={"Content-Type": "application/json"})
    assert deep.status_code == 400 and deep.headers["content-type"] == "application/problem+json"


# --- the rules, on the clean reference ---------------------------------------------------------------------
def test_missing_stage_material_and_interface_errors_come_back_together(
        clean: tuple[httpx.Client, httpx.Client]) -> None:
    target, _ = clean
    response = target.post("/case-files", json=dataset("several-problems", "unused"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/body/urn", "/body/defendant/date_of_birth", "/body/offences/0/code", "/body/witnesses",
                        "/body/key_evidence_summary"}


def test_stage_rules_are_conditional_on_offence_and_plea() -> None:
    base = {"stage": "pre-charge", "offences": [{"code": "MD71001"}]}
    assert stage_problems(base) == []
    assert [p["pointer"] for p in stage_problems({**base, "offences": [{"code": "AS14001"}]})] == ["/body/victim"]
    guilty = {**base, "stage": "first-hearing", "anticipated_plea": "guilty"}
    assert stage_problems(guilty) == []
    not_guilty = {**guilty, "anticipated_plea": "not-guilty", "witnesses": []}
    assert [p["pointer"] for p in stage_problems(not_guilty)] == ["/body/witnesses", "/body/key_evidence_summary"]
    assert [p["pointer"] for p in stage_problems({**base, "stage": "first-hearing"})] == ["/body/anticipated_plea"]
    upgrade = [p["pointer"] for p in stage_problems({**base, "stage": "upgrade"})]
    assert upgrade == ["/body/witnesses", "/body/key_evidence_summary", "/body/exhibits"]


def test_a_repeated_submission_is_one_file_and_one_delivery(clean: tuple[httpx.Client, httpx.Client]) -> None:
    target, receiver = clean
    urn = fresh_urn(receiver)
    body, key = dataset("pre-charge-complete", urn), {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    first = target.post("/case-files", json=body, headers=key)
    assert first.status_code == 201
    again = target.post("/case-files", json=body, headers=key)
    same_stage = target.post("/case-files", json=body)
    assert (again.status_code, same_stage.status_code) == (200, 200)
    assert again.json()["id"] == same_stage.json()["id"] == first.json()["id"]
    amended = dataset("pre-charge-complete-amended", urn)
    reused_key = target.post("/case-files", json=amended, headers=key)
    assert reused_key.status_code == 409
    assert pointers(reused_key) == ["/header/Idempotency-Key", "/body/summary"]
    same_stage_changed = target.post("/case-files", json=amended)
    assert same_stage_changed.status_code == 409 and pointers(same_stage_changed) == ["/body/summary"]
    wait_for("delivered", lambda: delivery_of(target, urn)["state"] == "delivered")
    settled = receiver.get("/deliveries", params={"urn": urn, "settle_s": 1}).json()
    assert settled["count"] == 1 and settled["items"][0]["file"] == body
    assert settled["items"][0]["idempotency_key"] == first.json()["id"]


def test_outage_queues_then_delivers_exactly_once(clean: tuple[httpx.Client, httpx.Client]) -> None:
    target, receiver = clean
    receiver.put("/control/availability", json={"available": False})
    try:
        urn = fresh_urn(receiver)
        assert target.post("/case-files", json=dataset("pre-charge-complete", urn)).status_code == 201
        queued = wait_for("attempted", lambda: (d := delivery_of(target, urn))["attempts"] >= 2 and d)
        assert queued["state"] == "queued" and "503" in queued["last_error"]
        assert received(receiver, urn) == 0
    finally:
        receiver.put("/control/availability", json={"available": True})
    delivered = wait_for("delivered", lambda: (d := delivery_of(target, urn))["state"] == "delivered" and d)
    assert delivered["attempts"] >= 3 and delivered["delivered_at"] == delivered["last_attempt_at"]
    settled = receiver.get("/deliveries", params={"urn": urn, "settle_s": 1}).json()
    assert settled["count"] == 1 and settled["items"][0]["replays"] == 0


def test_charging_decision_reads_back_structured(clean: tuple[httpx.Client, httpx.Client]) -> None:
    target, receiver = clean
    urn = fresh_urn(receiver)
    assert target.get(f"/case-files/{urn}/charging-decision").status_code == 404
    decision = {"decision": "charge", "decided_at": "2026-11-11T09:40:00Z",
                "prosecutor": {"name": "Demelza Carne", "reference": "CPS-SW-0417"},
                "charges": [{"offence_code": "TH68001", "wording": "Theft"},
                            {"offence_code": "CD71001", "wording": "Damage"}]}
    assert target.put(f"/case-files/{urn}/charging-decision", json=decision).status_code == 404  # no file yet
    assert target.post("/case-files", json=dataset("pre-charge-complete", urn)).status_code == 201
    no_charges = target.put(f"/case-files/{urn}/charging-decision", json={**decision, "charges": []})
    assert no_charges.status_code == 422 and no_charges.json()["errors"][0]["pointer"] == "/body/charges"
    assert target.put(f"/case-files/{urn}/charging-decision", json=decision).status_code == 200
    read = target.get(f"/case-files/{urn}/charging-decision").json()
    assert {k: read[k] for k in decision} == decision


# --- a receiver process really stopped and started again -------------------------------------------------
def test_file_submitted_while_receiver_process_is_stopped_is_delivered_once_after_restart() -> None:
    with contextlib.ExitStack() as first_receiver:
        first = first_receiver.enter_context(launched(receiver_command()))
        port = urlsplit(first).port
        assert port is not None
        with clients(first) as (receiver,):
            urn = fresh_urn(receiver)
        # The reference starts (on a port of its own) while the first receiver still holds its port, so it
        # cannot be given that port; then the first receiver is stopped with SIGTERM.
        with launched(reference_command(first)) as url, clients(url) as (target,):
            first_receiver.close()
            response = target.post("/case-files", json=dataset("pre-charge-complete", urn))
            assert response.status_code == 201
            queued = wait_for("attempted", lambda: (d := delivery_of(target, urn))["attempts"] >= 2 and d)
            assert queued["state"] == "queued" and "unreachable" in queued["last_error"]
            with launched(receiver_command(port)) as again, clients(again) as (receiver,):
                assert again == first
                wait_for("delivered", lambda: delivery_of(target, urn)["state"] == "delivered")
                deliveries = receiver.get("/deliveries", params={"urn": urn, "settle_s": 1}).json()
                assert deliveries["count"] == 1
                assert deliveries["items"][0]["submission_id"] == response.json()["id"]
                assert deliveries["items"][0]["file"] == dataset("pre-charge-complete", urn)
