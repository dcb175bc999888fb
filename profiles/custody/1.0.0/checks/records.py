"""What the custody checks share: booking the synthetic detainees of datasets/detainees.yaml with due times around
the present, reading answers, and comparing what a system holds with what was recorded (doses as exact decimals,
times as instants)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from conformance.kit import ContractContext, blame, excerpt, json_object, who

__all__ = [
    "Rules", "booking", "conditions_of", "created", "detainees", "dose_text", "instant", "iso", "read", "rules",
    "same_dose", "schedule_differences", "tag",
]


class Rules:
    """The profile's medication timing rules (datasets/medication-rules.yaml)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.overdue_after = timedelta(minutes=float(data["overdue_after_minutes"]))
        self.flag_within_s = float(data["flag_within_s"])
        self.window = timedelta(minutes=float(data["window_minutes"]))


def rules(c: ContractContext) -> Rules:
    return Rules(c.dataset("medication-rules.yaml")["medication-rules"])


def detainees(c: ContractContext) -> dict[str, dict[str, Any]]:
    """The synthetic detainees, by key."""
    return {entry["key"]: entry for entry in c.dataset("detainees.yaml")["detainees"]}


def tag() -> str:
    """A fresh suffix for this check's suites and custody references (no collision with earlier runs' data)."""
    return uuid.uuid4().hex[:10]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def instant(value: Any) -> datetime | None:
    """An RFC 3339 date-time as an aware datetime; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def booking(entry: dict[str, Any], suite: str, ref: str, now: datetime) -> dict[str, Any]:
    """The createDetainee body for a dataset detainee: its due times `due_in_minutes` from `now`."""
    body: dict[str, Any] = {
        "custody_ref": ref, "suite": suite, "name": dict(entry["name"]),
        "booked_in_at": iso(now - timedelta(hours=6)), "conditions": [dict(x) for x in entry["conditions"]],
        "schedules": []}
    if "date_of_birth" in entry:
        body["date_of_birth"] = entry["date_of_birth"]
    for schedule in entry["schedules"]:
        sent = {k: v for k, v in schedule.items() if k != "due_in_minutes"}
        sent["dose"] = dict(schedule["dose"])
        sent["due_at"] = [iso(now + timedelta(minutes=m)) for m in schedule["due_in_minutes"]]
        body["schedules"].append(sent)
    return body


def created(c: ContractContext, response: httpx.Response, what: str, system: str | None = None) -> dict[str, Any]:
    """The 201 answer's JSON object; anything else is the answering system's failure (see `blame`)."""
    if response.status_code != 201:
        blame(c, system, f"{what}: {who(system)} answered {response.status_code}, expected 201: {excerpt(response)}")
    return json_object(c, system, response, what)


def read(c: ContractContext, path: str, what: str, system: str | None = None) -> dict[str, Any]:
    """GET `path`: the 200 answer's JSON object; anything else is the answering system's failure."""
    response = c.send("GET", path, step=what, system=system)
    if response.status_code != 200:
        blame(c, system, f"{what}: {who(system)} answered {response.status_code}, expected 200: {excerpt(response)}")
    return json_object(c, system, response, what)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        return None


def dose_text(dose: Any) -> str:
    return f"{dose.get('amount')} {dose.get('unit')}" if isinstance(dose, dict) else repr(dose)


def same_dose(a: Any, b: Any) -> bool:
    """Two doses are the same when their amounts are equal as decimal values (2.5 == 2.50, never 3) and their
    units are the same."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return False
    amount_a, amount_b = _decimal(a.get("amount")), _decimal(b.get("amount"))
    return amount_a is not None and amount_a == amount_b and a.get("unit") == b.get("unit")


def _instants(values: Any) -> list[datetime | None] | None:
    return sorted((instant(v) for v in values), key=lambda m: (m is None, m or datetime.min.replace(tzinfo=UTC))) \
        if isinstance(values, list) else None


def schedule_differences(expected: dict[str, Any], held: dict[str, Any], where: str) -> list[str]:
    """How a held schedule differs from the expected one: drug, route, instructions, dose (as a decimal value with
    its unit) and due times (as instants), each as `where.field: expected X, held Y`."""
    out = [f"{where}.{field}: expected {expected.get(field)!r}, held {held.get(field)!r}"
           for field in ("drug", "route", "instructions") if expected.get(field) != held.get(field)]
    if not same_dose(expected.get("dose"), held.get("dose")):
        out.append(f"{where}.dose: expected {dose_text(expected.get('dose'))}, held {dose_text(held.get('dose'))}")
    due_expected, due_held = _instants(expected.get("due_at")), _instants(held.get("due_at"))
    if due_expected != due_held:
        out.append(f"{where}.due_at: expected {expected.get('due_at')}, held {held.get('due_at')}")
    return out


def conditions_of(record: dict[str, Any]) -> list[tuple[Any, Any]]:
    items = record.get("conditions")
    return sorted(((x.get("name"), x.get("notes")) for x in items if isinstance(x, dict)), key=repr) \
        if isinstance(items, list) else []
