"""The fixtures kit's delivery between systems, in process: `fixtures.kit.delivery` (a reference's outbox in SQLite
and the worker that sends it, as case-file and control-room use them) and `fixtures.kit.inbox` (what a stand-in
received, as the court receiver and the dispatch gateway use it). The worker talks to an httpx mock transport and
the inbox is served by FastAPI's TestClient: no socket, no thread."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient

from fixtures.kit.delivery import DELIVERY_COLUMNS, MAX_BACKOFF_S, DeliveryWorker, OutboxStore, delivery_state
from fixtures.kit.inbox import Inbox
from fixtures.kit.interface import Problem, parse_json


class _Outbox(OutboxStore):
    SCHEMA = f"CREATE TABLE IF NOT EXISTS notes (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, " \
             f"text TEXT NOT NULL, {DELIVERY_COLUMNS});"
    TABLES = ("notes",)
    OUTBOX = "notes"
    ITEM_COLUMNS = "id, text"

    def _item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        return {"id": row[0], "text": row[1], "delivery": delivery_state(*row[2:])}

    def add(self, note_id: str, text: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO notes (id, text) VALUES (?, ?)", (note_id, text))

    def note(self, note_id: str) -> dict[str, Any] | None:
        return self._first("id = ?", (note_id,))


class _Worker(DeliveryWorker):
    SYSTEM: ClassVar[str] = "notebook"
    PATH: ClassVar[str] = "/notes"
    THREAD: ClassVar[str] = "test-notes"

    def message(self, item: dict[str, Any]) -> tuple[dict[str, Any], str]:
        return {"text": item["text"]}, str(item["id"])


def _deliver_once(store: _Outbox, worker: _Worker, answer: httpx.Response | Exception) -> list[httpx.Request]:
    """One pass over what is due, each item sent to a system that answers `answer` (or raises it)."""
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with httpx.Client(transport=httpx.MockTransport(handle)) as client:
        for item in store.due(float("inf")):  # whatever its backoff
            worker._deliver(client, item)
    return sent


@pytest.fixture
def outbox(tmp_path: Path) -> _Outbox:
    store = _Outbox(str(tmp_path / "outbox.sqlite"))
    store.add("n-1", "first")
    return store


def test_a_delivered_item_leaves_the_outbox_with_its_id_as_idempotency_key(outbox: _Outbox) -> None:
    worker = _Worker(outbox, "http://notebook.invalid/", clock=lambda: 1000.0)
    sent = _deliver_once(outbox, worker, httpx.Response(201))
    assert [(r.url.path, r.headers["idempotency-key"], json.loads(r.content)) for r in sent] == \
        [("/notes", "n-1", {"text": "first"})]
    delivery = (outbox.note("n-1") or {})["delivery"]
    assert delivery["state"] == "delivered" and delivery["attempts"] == 1 and "delivered_at" in delivery
    assert outbox.due(float("inf")) == []


def test_a_system_down_is_retried_with_a_capped_backoff_and_a_4xx_refusal_is_final(outbox: _Outbox) -> None:
    worker = _Worker(outbox, "http://notebook.invalid", clock=lambda: 1000.0)
    _deliver_once(outbox, worker, httpx.Response(503))
    first = outbox.note("n-1") or {}
    assert {k: v for k, v in first["delivery"].items() if k != "last_attempt_at"} == \
        {"state": "queued", "attempts": 1, "last_error": "notebook answered 503"}
    assert outbox.due(1000.0 + 0.2) == [] and len(outbox.due(1000.0 + 0.25)) == 1  # 0.25 s, then doubling
    _deliver_once(outbox, worker, httpx.ConnectError("refused"))
    assert (outbox.note("n-1") or {})["delivery"]["last_error"] == "notebook unreachable: ConnectError"
    assert outbox.due(1000.0 + MAX_BACKOFF_S - 0.01) == [] and len(outbox.due(1000.0 + MAX_BACKOFF_S)) == 1
    _deliver_once(outbox, worker, httpx.Response(422, text="no text allowed"))
    refused = (outbox.note("n-1") or {})["delivery"]
    assert refused["state"] == "failed" and refused["last_error"] == "notebook answered 422: no text allowed"
    assert outbox.due(float("inf")) == []


def test_lose_after_outage_abandons_an_item_still_queued(outbox: _Outbox) -> None:
    worker = _Worker(outbox, "http://notebook.invalid", lose_after_outage=True, clock=lambda: 1000.0)
    _deliver_once(outbox, worker, httpx.Response(503))
    assert (outbox.note("n-1") or {})["delivery"]["state"] == "queued"
    assert outbox.due(float("inf")) == []  # never tried again, and never marked anything else


def _inbox_app() -> tuple[FastAPI, Inbox]:
    app = FastAPI()
    inbox = Inbox(system="the notebook", noun="note", item=lambda item_id, received_at, key, body: {
        "id": item_id, "received_at": received_at, "idempotency_key": key, "replays": 0, "note": body})

    def validate(request: Request, raw: bytes) -> Any:
        body = parse_json(raw)
        if not isinstance(body, dict) or "idempotency-key" not in request.headers:
            raise Problem(422, "Unprocessable Content", "a note is an object sent with an Idempotency-Key")
        return body

    inbox.add_receive_route(app, "/notes", validate)

    @app.get("/notes")
    async def notes(settle_s: str | None = None) -> Response:
        try:
            return JSONResponse(await inbox.settled(lambda item: True, settle_s))
        except Problem as problem:
            return JSONResponse(problem.body("/notes"), status_code=problem.status)

    inbox.add_control_routes(app)
    return app, inbox


def test_the_inbox_records_once_per_key_counts_replays_and_refuses_a_reused_key() -> None:
    app, _ = _inbox_app()
    with TestClient(app) as client:
        first = client.post("/notes", json={"text": "a"}, headers={"Idempotency-Key": "k"})
        again = client.post("/notes", json={"text": "a"}, headers={"Idempotency-Key": "k"})
        other = client.post("/notes", json={"text": "b"}, headers={"Idempotency-Key": "k"})
        assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
        assert again.json() == first.json()
        assert [e["pointer"] for e in other.json()["errors"]] == ["/header/Idempotency-Key", "/body/text"]
        assert "already used for note" in other.json()["errors"][0]["detail"]
        assert client.post("/notes", json=[1], headers={"Idempotency-Key": "j"}).status_code == 422
        assert client.post("/notes", content=b"{NaN", headers={"Idempotency-Key": "j"}).status_code == 400
        listed = client.get("/notes", params={"settle_s": "0"}).json()
        assert [(n["note"], n["replays"]) for n in listed] == [({"text": "a"}, 1)]
        assert client.get("/notes", params={"settle_s": "11"}).status_code == 422


def test_the_inbox_outage_refuses_with_retry_after_and_the_reset_ends_it() -> None:
    app, _ = _inbox_app()
    with TestClient(app) as client:
        client.post("/notes", json={"text": "a"}, headers={"Idempotency-Key": "k"})
        assert client.put("/control/availability", json={"available": "no"}).status_code == 422
        assert client.put("/control/availability", json={"available": False}).json() == {"available": False}
        down = client.post("/notes", json={"text": "b"}, headers={"Idempotency-Key": "k2"})
        assert down.status_code == 503 and down.headers["retry-after"] == "1"
        assert down.json()["detail"] == "the notebook is unavailable; retry later"
        assert client.post("/__reference/reset").status_code == 204
        assert client.get("/control/availability").json() == {"available": True}
        assert client.get("/notes").json() == []
