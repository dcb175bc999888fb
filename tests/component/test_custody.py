"""custody: the reference's write-control (the test-environment control that makes its writes fail), and the
honesty of CUST-AVAIL-002's check: it fails a candidate whose reads fail with its writes, and it is an error (never
a pass) when the write failure could not be induced. References are served in this process (`serving`).

Which requirement each fault fails is the detection matrix's business (tests/matrix/test_detection_matrix.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from conformance.errors import EngineFailure
from conformance.inputs.profiles import load_profile
from conformance.kit import ContractContext, SupplierFailure
from fixtures.kit.launch import serving
from tests.conftest import shipped_checks

PROFILE = "custody"
CHECKS = shipped_checks(PROFILE)
records = CHECKS.module("records")
BOOKING = {"custody_ref": "CR-T1", "suite": "test-suite", "name": {"family": "Example", "given": "Robin"},
           "date_of_birth": "1990-01-01", "booked_in_at": "2026-12-01T06:00:00Z",
           "schedules": [{"drug": "Levetiracetam", "dose": {"amount": "2.5", "unit": "ml"}, "route": "oral",
                          "due_at": ["2026-12-01T08:00:00Z"]}]}


@pytest.fixture
def clean() -> Iterator[str]:
    with serving(PROFILE) as url:
        yield url


def _context(candidate: str, write_control: str) -> tuple[ContractContext, Callable[[], None]]:
    clients = {None: httpx.Client(base_url=candidate, timeout=30),
               "write-control": httpx.Client(base_url=write_control, timeout=30)}

    def send(method: str, path: str, *, json: Any = None, query: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, step: str = "", system: str | None = None,
             content: bytes | None = None) -> httpx.Response:
        return clients[system].request(method, path, json=json, params=query, headers=headers, content=content)

    def close() -> None:
        for client in clients.values():
            client.close()

    openapi = str(load_profile(PROFILE).openapi_path)
    return ContractContext(send, openapi, 1, 1, frozenset({"write-control"})), close


def _reads_while_writes_fail(candidate: str, write_control: str) -> None:
    check = CHECKS.find("custody.reads_while_writes_fail")
    assert check is not None and check.requirements == ("CUST-AVAIL-002",)
    context, close = _context(candidate, write_control)
    try:
        check.function(context)
    finally:
        close()


def test_write_control_fails_writes_keeps_reads_and_reset_restores(clean: str) -> None:
    with httpx.Client(base_url=clean, timeout=10) as client:
        assert client.put("/test-support/write-path", json={"state": "sideways"}).status_code == 422
        assert client.put("/test-support/write-path", json={"state": "failing"}).json() == {"state": "failing"}
        refused = client.post("/detainees", json=BOOKING)
        assert refused.status_code == 503 and refused.headers["content-type"] == "application/problem+json"
        due = client.get("/suites/test-suite/due-medication")
        assert due.status_code == 200 and due.json()["items"] == []  # read answered; the refused write stored nothing
        assert client.post("/__reference/reset").status_code == 204
        booked = client.post("/detainees", json=BOOKING)
        assert booked.status_code == 201
        assert booked.json()["schedules"][0]["dose"] == {"amount": "2.5", "unit": "ml"}


def test_reads_while_writes_fail_passes_on_the_clean_reference(clean: str) -> None:
    _reads_while_writes_fail(clean, clean)
    with httpx.Client(base_url=clean, timeout=10) as client:  # the check restored writes when it finished
        assert client.post("/detainees", json=BOOKING).status_code == 201


def test_reads_while_writes_fail_fails_a_candidate_whose_reads_fail_with_its_writes() -> None:
    with serving(PROFILE, ["reads-fail-with-writes"]) as url, \
            pytest.raises(SupplierFailure, match=r"12 of 12 concurrent reads .* failed while the write path"):
        _reads_while_writes_fail(url, url)


def test_reads_while_writes_fail_is_an_error_when_the_failure_is_not_induced(clean: str) -> None:
    """A write-control that answers 200 but does not touch the candidate (here: another system's control): the
    candidate's writes still succeed, so the condition was never induced. An error, never a pass."""
    with serving(PROFILE) as elsewhere, pytest.raises(EngineFailure, match="the condition was not induced"):
        _reads_while_writes_fail(clean, elsewhere)
    # a control that refuses (404: no such control here): an error too
    with pytest.raises(EngineFailure, match="write-control system did not set the write path failing"):
        _reads_while_writes_fail(clean, f"{clean}/no-control-here")


def test_doses_are_compared_as_exact_decimal_values() -> None:
    same = records.same_dose
    assert same({"amount": "2.5", "unit": "ml"}, {"amount": "2.50", "unit": "ml"})
    assert not same({"amount": "2.5", "unit": "ml"}, {"amount": "3", "unit": "ml"})
    assert not same({"amount": "2.5", "unit": "ml"}, {"amount": "2", "unit": "ml"})
    assert not same({"amount": "0.125", "unit": "mg"}, {"amount": "0.13", "unit": "mg"})
    assert not same({"amount": "2.5", "unit": "ml"}, {"amount": "2.5", "unit": "mg"})
    assert not same({"amount": "2.5", "unit": "ml"}, {"amount": 2.5, "unit": "ml"})  # a number is not the interface's


def test_a_transfer_record_imports_once_and_one_naming_an_id_twice_is_refused(clean: str) -> None:
    with httpx.Client(base_url=clean, timeout=10) as client:
        booked = client.post("/detainees", json={**BOOKING, "schedules": [
            {**BOOKING["schedules"][0], "due_at": ["2017-01-01T01:00:00+01:00"]}]})
        assert booked.status_code == 201
        detainee = booked.json()
        given = client.post(f"/detainees/{detainee['id']}/administrations", json={
            "schedule_id": detainee["schedules"][0]["id"], "due_at": "2017-01-01T00:00:00Z",  # the same instant
            "administered_at": "2017-01-01T00:01:00Z", "administered_by": {"officer_id": "PC-1", "name": "A B"},
            "dose": {"amount": "2.5", "unit": "ml"}})
        assert given.status_code == 201, given.text
        record = client.get(f"/detainees/{detainee['id']}/transfer-record").json()
        assert client.post("/transfers", json={"suite": "other-suite", "record": record}).status_code == 409
        client.post("/__reference/reset")
        twice = {**record, "administrations": record["administrations"] * 2}
        refused = client.post("/transfers", json={"suite": "other-suite", "record": twice})
        assert refused.status_code == 422
        assert refused.json()["errors"] == [
            {"pointer": "/body/record/administrations", "detail": "each id must be unique"}]
        received = client.post("/transfers", json={"suite": "other-suite", "record": record})
        assert received.status_code == 201 and received.json()["suite"] == "other-suite"
        assert client.get(f"/detainees/{detainee['id']}/administrations").json()["items"] == record["administrations"]
