"""The custody contract checks a YAML scenario cannot state: exact doses over every synthetic detainee, the due
view against the clock, an overdue flag raised within the deadline, reads while the write path is made to fail
(through the declared `write-control` system), and transfers both ways with a second custody system (`peer`).
What they share is in records.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from conformance.kit import ContractContext, EngineFailure, at_once, blame, contract_check, excerpt, listed, poll

from .records import (
    booking,
    conditions_of,
    created,
    detainees,
    dose_text,
    instant,
    iso,
    read,
    rules,
    same_dose,
    schedule_differences,
    tag,
)

DUE_VIEW_DETAINEES = ("diabetic", "epilepsy-and-asthma", "opioid-substitution")
GIVEN_IN_DUE_VIEW = (("diabetic", "Insulin aspart", -120), ("epilepsy-and-asthma", "Clonazepam", -30))
TRANSFER_DETAINEE = "transfer-case"
READ_BURST = 12  # concurrent reads while writes fail (and before, with writes working)
WRITE_BURST = 6  # valid writes sent with them while writes fail: each must be refused, or nothing was induced
OVERDUE_LEAD_S = 4.0  # the second dose of the overdue check becomes overdue this long after it is booked in
OFFICER = {"officer_id": "PC-0001", "name": "Check Example"}
WRITE_CONTROL = "write-control"
PEER = "peer"


def _book(c: ContractContext, entry: dict[str, Any], suite: str, ref: str, now: datetime,
          system: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Book a dataset detainee in; (what was sent, the 201 answer)."""
    sent = booking(entry, suite, ref, now)
    answer = created(c, c.send("POST", "/detainees", json=sent, step=f"book in {ref}", system=system),
                     f"booking in {ref}", system)
    if not isinstance(answer.get("id"), str) or not isinstance(answer.get("schedules"), list):
        blame(c, system, f"booking in {ref}: the 201 answer has no detainee id or schedules: {answer!r:.300}")
    return sent, answer


def _schedule_id(c: ContractContext, answer: dict[str, Any], drug: str, system: str | None = None) -> str:
    found = next((s.get("id") for s in answer["schedules"] if isinstance(s, dict) and s.get("drug") == drug), None)
    if not isinstance(found, str):
        blame(c, system, f"the booked-in detainee {answer['id']} holds no schedule of {drug} with an id")
    return found


def _give(c: ContractContext, detainee: dict[str, Any], drug: str, due_at: str, system: str | None = None) -> None:
    """Record that the dose of `drug` due at `due_at` was given (201 expected)."""
    schedule = next(s for s in detainee["schedules"] if s.get("drug") == drug)
    body = {"schedule_id": _schedule_id(c, detainee, drug, system), "due_at": due_at, "administered_at": due_at,
            "administered_by": OFFICER, "dose": schedule["dose"]}
    created(c, c.send("POST", f"/detainees/{detainee['id']}/administrations", json=body,
                      step=f"give {drug} due {due_at}", system=system), f"recording {drug} given", system)


@contract_check("custody.record_exact", requirements=("CUST-REC-001",))
def record_exact(c: ContractContext) -> None:
    """Every synthetic detainee reads back with every condition and schedule unchanged, doses as exact decimals."""
    now, suffix = datetime.now(UTC), tag()
    findings: list[str] = []
    for key, entry in detainees(c).items():
        ref = f"REC-{key}-{suffix}"
        sent, answer = _book(c, entry, f"rec-{suffix}", ref, now)
        held = read(c, f"/detainees/{answer['id']}", f"read {ref} back")
        for field in ("custody_ref", "suite", "name", "date_of_birth"):
            if sent.get(field) != held.get(field):
                findings.append(f"{ref}.{field}: recorded {sent.get(field)!r}, read back {held.get(field)!r}")
        if conditions_of(sent) != conditions_of(held):
            findings.append(f"{ref}.conditions: recorded {conditions_of(sent)}, read back {conditions_of(held)}")
        schedules = [s for s in held.get("schedules") or [] if isinstance(s, dict)]
        for expected in sent["schedules"]:
            match = [s for s in schedules if s.get("drug") == expected["drug"]]
            if len(match) != 1:
                findings.append(f"{ref}: {len(match)} schedules of {expected['drug']} read back, expected 1")
                continue
            findings += schedule_differences(expected, match[0], f"{ref} {expected['drug']}")
        if len(schedules) != len(sent["schedules"]):
            findings.append(f"{ref}: {len(schedules)} schedules read back, {len(sent['schedules'])} recorded")
    if findings:
        c.fail(f"{len(findings)} difference(s) between what was recorded and what reads back: {listed(findings)}")


def _due_items(c: ContractContext, suite: str, step: str, system: str | None = None) -> list[dict[str, Any]]:
    body = read(c, f"/suites/{suite}/due-medication", step, system)
    items = body.get("items")
    if not isinstance(items, list):
        blame(c, system, f"{step}: the due view has no list of items: {body!r:.300}")
    return [item for item in items if isinstance(item, dict)]


def _dose_key(item: dict[str, Any]) -> tuple[Any, datetime | None]:
    return item.get("schedule_id"), instant(item.get("due_at"))


@contract_check("custody.due_view", requirements=("CUST-DUE-001",))
def due_view(c: ContractContext) -> None:
    """The suite's due view holds exactly the doses due within the window or already past and not given, earliest
    due first, each with its drug, dose and route."""
    window = rules(c).window
    now, suffix = datetime.now(UTC).replace(microsecond=0), tag()
    suite, entries = f"due-{suffix}", detainees(c)
    expected: list[tuple[tuple[Any, datetime | None], dict[str, Any]]] = []
    booked: dict[str, dict[str, Any]] = {}
    for key in DUE_VIEW_DETAINEES:
        _, answer = _book(c, entries[key], suite, f"DUE-{key}-{suffix}", now)
        booked[key] = answer
        for schedule in entries[key]["schedules"]:
            sid = _schedule_id(c, answer, schedule["drug"])
            for minutes in schedule["due_in_minutes"]:
                given = (key, schedule["drug"], minutes) in GIVEN_IN_DUE_VIEW
                if not given and timedelta(minutes=minutes) <= window:
                    expected.append(((sid, now + timedelta(minutes=minutes)), schedule))
    for key, drug, minutes in GIVEN_IN_DUE_VIEW:
        _give(c, booked[key], drug, iso(now + timedelta(minutes=minutes)))
    expected.sort(key=lambda pair: pair[0][1] or now)
    items = _due_items(c, suite, f"read the due view of {suite}")
    got = [_dose_key(item) for item in items]
    want = [key for key, _ in expected]
    names = {key: f"{schedule['drug']} due {iso(key[1]) if key[1] else '?'}" for key, schedule in expected}
    findings = []
    missing = [names[k] for k in want if k not in got]
    if missing:
        findings.append(f"{len(missing)} dose(s) due or overdue and not given are not listed: {listed(missing)}")
    extra = [f"{item.get('drug')} due {item.get('due_at')}" for item in items if _dose_key(item) not in want]
    if extra:
        findings.append(f"{len(extra)} dose(s) listed that are given or not yet due: {listed(extra)}")
    if not missing and not extra and got != want:
        findings.append(f"not earliest due first: listed {[names[k] for k in got]}")
    # each listed dose shows its schedule as the system holds it (exactness against the prescription: CUST-REC-001)
    held = {s.get("id"): s for answer in booked.values() for s in answer["schedules"] if isinstance(s, dict)}
    for item in items:
        schedule = held.get(item.get("schedule_id"))
        if schedule and (item.get("drug") != schedule.get("drug") or item.get("route") != schedule.get("route")
                         or not same_dose(item.get("dose"), schedule.get("dose"))):
            findings.append(f"{schedule.get('drug')} due {item.get('due_at')} listed as {item.get('drug')} "
                            f"{dose_text(item.get('dose'))} {item.get('route')}; its schedule holds "
                            f"{dose_text(schedule.get('dose'))} {schedule.get('route')}")
    if findings:
        c.fail(f"the due view of suite {suite} is wrong: {'; '.join(findings)}")


@contract_check("custody.overdue_flagged", requirements=("CUST-DUE-002",))
def overdue_flagged(c: ContractContext) -> None:
    """A dose long past its tolerance is flagged overdue at once, with overdue_by_s from its due time; a dose that
    becomes overdue a few seconds into the check is flagged within the profile's deadline."""
    profile_rules = rules(c)
    now, suffix = datetime.now(UTC).replace(microsecond=0), tag()
    suite = f"overdue-{suffix}"
    long_due = now - timedelta(minutes=60)
    soon_due = now - profile_rules.overdue_after + timedelta(seconds=OVERDUE_LEAD_S)
    overdue_from = soon_due + profile_rules.overdue_after  # the moment the second dose becomes overdue
    body = {"custody_ref": f"OVD-{suffix}", "suite": suite, "name": {"family": "Example", "given": "Kai"},
            "date_of_birth": "1990-01-01",
            "booked_in_at": iso(now - timedelta(hours=3)), "conditions": [{"name": "Epilepsy"}],
            "schedules": [
                {"drug": "Sodium valproate", "dose": {"amount": "500", "unit": "mg"}, "route": "oral",
                 "due_at": [iso(long_due)]},
                {"drug": "Lamotrigine", "dose": {"amount": "25", "unit": "mg"}, "route": "oral",
                 "due_at": [iso(soon_due)]}]}
    answer = created(c, c.send("POST", "/detainees", json=body, step="book in a detainee with two doses"),
                     "booking in")
    if not isinstance(answer.get("schedules"), list):
        c.fail(f"booking in: the 201 answer has no schedules: {answer!r:.300}")
    long_key = (_schedule_id(c, answer, "Sodium valproate"), long_due)
    soon_key = (_schedule_id(c, answer, "Lamotrigine"), soon_due)

    def item(items: list[dict[str, Any]], key: tuple[str, datetime]) -> dict[str, Any] | None:
        return next((i for i in items if _dose_key(i) == key), None)

    first = _due_items(c, suite, "read the due view")
    long_item = item(first, long_key)
    if long_item is None:
        c.fail(f"a dose due at {iso(long_due)}, an hour ago and not given, is not in the due view at all")
    if long_item.get("status") != "overdue":
        c.fail(f"a dose due at {iso(long_due)} (an hour ago, past the {profile_rules.overdue_after} tolerance) "
               f"is listed with status {long_item.get('status')!r}, not 'overdue'")
    by = long_item.get("overdue_by_s")
    elapsed = (datetime.now(UTC) - long_due).total_seconds()
    if not isinstance(by, int) or not elapsed - 120 <= by <= elapsed + 5:
        c.fail(f"a dose due at {iso(long_due)} is listed overdue_by_s {by!r}; it has been due about {elapsed:.0f} s")
    deadline = overdue_from + timedelta(seconds=profile_rules.flag_within_s)
    last: list[Any] = [None]

    def flagged() -> bool | None:
        found = item(_due_items(c, suite, "read the due view until the second dose is flagged overdue"), soon_key)
        last[0] = found.get("status") if found else "not listed"
        return True if found and found.get("status") == "overdue" else None

    wait_s = max(0.0, (deadline - datetime.now(UTC)).total_seconds())
    if poll(flagged, within_s=wait_s, interval_s=0.5) is None:
        c.fail(f"a dose due at {iso(soon_due)}, not given, became overdue at {iso(overdue_from)} (its due time plus "
               f"the {profile_rules.overdue_after} tolerance); {profile_rules.flag_within_s:g} s later the due view "
               f"still showed it as {last[0]!r}, not 'overdue'")


def _write_path(c: ContractContext, state: str) -> None:
    """Set the candidate's write path through the declared write-control system; anything but 200 is an error."""
    response = c.send("PUT", "/test-support/write-path", json={"state": state}, system=WRITE_CONTROL,
                      step=f"write-control: make writes {state}")
    if response.status_code != 200:
        raise EngineFailure(f"the write-control system did not set the write path {state} (answered "
                            f"{response.status_code}: {excerpt(response)}); read availability while writes fail "
                            "could not be tested")


def _write(c: ContractContext, detainee: dict[str, Any], due_at: str, step: str) -> httpx.Response:
    """A valid write: the dose of the detainee's first schedule due at `due_at`, given."""
    schedule = detainee["schedules"][0]
    return c.send("POST", f"/detainees/{detainee['id']}/administrations", step=step,
                  json={"schedule_id": schedule["id"], "due_at": due_at, "administered_at": due_at,
                        "administered_by": OFFICER, "dose": schedule["dose"]})


def _write_refused(c: ContractContext, detainee: dict[str, Any], due_at: str, when: str) -> None:
    """A valid write must now be refused with a server-side error (the induced failure); if it is stored, or
    refused for another reason, the condition was not induced: an error, never a pass."""
    response = _write(c, detainee, due_at, f"a write {when}: refused?")
    if response.status_code < 500:
        raise EngineFailure(f"a valid write {when} was answered {response.status_code}, although the write-control "
                            "system had made the write path fail: the condition was not induced, so read "
                            "availability while writes fail was not measured")


@contract_check("custody.reads_while_writes_fail", requirements=("CUST-AVAIL-002",), systems=(WRITE_CONTROL,))
def reads_while_writes_fail(c: ContractContext) -> None:
    """While the write path is made to fail, a burst of reads of the due view and of the detainee's record, sent
    with writes that are being refused, all answer 200 with the doses due."""
    now, suffix = datetime.now(UTC).replace(microsecond=0), tag()
    suite, due = f"avail-{suffix}", [iso(now - timedelta(minutes=30)), iso(now + timedelta(minutes=20))]
    body = {"custody_ref": f"AVL-{suffix}", "suite": suite, "name": {"family": "Example", "given": "Riley"},
            "date_of_birth": "1992-03-04",
            "booked_in_at": iso(now - timedelta(hours=2)), "conditions": [{"name": "Type 1 diabetes"}],
            "schedules": [{"drug": "Insulin aspart", "dose": {"amount": "4.5", "unit": "units"},
                           "route": "subcutaneous", "due_at": due}]}
    detainee = created(c, c.send("POST", "/detainees", json=body, step="book in a detainee with doses due"),
                       "booking in")
    schedules = detainee.get("schedules")
    if not isinstance(schedules, list) or not schedules or not isinstance(schedules[0], dict):
        c.fail(f"booking in: the 201 answer has no schedules: {detainee!r:.300}")
    schedule_id = schedules[0].get("id")
    due_keys = {(schedule_id, instant(d)) for d in due}

    def wrong(response: httpx.Response, what: str) -> str | None:
        """Why a read's answer is not the record or due view it should be (None when it is)."""
        if response.status_code != 200:
            return f"{what}: {response.status_code} {excerpt(response)[:120]}"
        try:
            answer = response.json()
        except ValueError:
            return f"{what}: 200 without JSON"
        if what == "due view":
            items = answer.get("items") if isinstance(answer, dict) else None
            listed_keys = {_dose_key(i) for i in items if isinstance(i, dict)} if isinstance(items, list) else set()
            return None if due_keys <= listed_keys else "due view: 200 without the detainee's 2 doses due"
        return None if isinstance(answer, dict) and answer.get("id") == detainee["id"] else \
            f"record: 200 but not the detainee's record: {excerpt(response)[:120]}"

    def burst(step: str, writes: int) -> tuple[list[str], list[int]]:
        """READ_BURST reads (due view and record in turn) and `writes` valid writes, all at once: why each wrong
        read was wrong, and the status of each write."""
        def one(i: int) -> tuple[str | None, int | None]:
            if i >= READ_BURST:
                return None, _write(c, detainee, due[i % 2], f"{step}: a write").status_code
            if i % 2:
                return wrong(c.send("GET", f"/detainees/{detainee['id']}", step=f"{step}: record"), "record"), None
            due_view = c.send("GET", f"/suites/{suite}/due-medication", step=f"{step}: due view")
            return wrong(due_view, "due view"), None

        answers = at_once(READ_BURST + writes, one)
        return [why for why, _ in answers if why], [status for _, status in answers if status is not None]

    before, _ = burst("reads with writes working", 0)
    if before:
        c.fail(f"{len(before)} of {READ_BURST} reads failed before any write failure was induced: {listed(before)}")
    _write_path(c, "failing")
    failed: list[str] = []
    try:
        _write_refused(c, detainee, due[0], "after the write path was made to fail")
        failed, statuses = burst("reads and writes while writes fail", WRITE_BURST)
        stored = [status for status in statuses if status < 500]
        if stored:
            raise EngineFailure(f"{len(stored)} of {WRITE_BURST} valid writes sent with the reads were answered "
                                f"{sorted(set(stored))}, not refused: the write path was not failing throughout, so "
                                "read availability while writes fail was not measured")
        _write_refused(c, detainee, due[1], "after the burst")
    finally:
        _write_path(c, "working")
    if failed:
        c.fail(f"{len(failed)} of {READ_BURST} concurrent reads of the due view and the detainee's record failed "
               f"while the write path was failing (writes were refused, as induced): {listed(failed)}")


def _holdings(c: ContractContext, detainee_id: str, system: str | None) -> tuple[dict[str, Any], list[Any]]:
    record = read(c, f"/detainees/{detainee_id}", f"read detainee {detainee_id} from {system or 'the candidate'}",
                  system)
    page = read(c, f"/detainees/{detainee_id}/administrations", f"read administrations from {system or 'candidate'}",
                system)
    items = page.get("items")
    return record, [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


ADMINISTRATION_FIELDS = ("schedule_id", "administered_by", "notes")


def _transfer_differences(source: tuple[dict[str, Any], list[Any]], dest: tuple[dict[str, Any], list[Any]],
                          suite: str) -> list[str]:
    (record, given), (arrived, arrived_given) = source, dest
    out = []
    if arrived.get("id") != record.get("id"):
        out.append(f"id: sent {record.get('id')}, held {arrived.get('id')}")
    if arrived.get("suite") != suite:
        out.append(f"suite: expected the receiving suite {suite}, held {arrived.get('suite')!r}")
    for field in ("custody_ref", "name", "date_of_birth"):
        if record.get(field) != arrived.get(field):
            out.append(f"{field}: sent {record.get(field)!r}, held {arrived.get(field)!r}")
    if conditions_of(record) != conditions_of(arrived):
        out.append(f"conditions: sent {conditions_of(record)}, held {conditions_of(arrived)}")
    held = {s.get("id"): s for s in arrived.get("schedules") or [] if isinstance(s, dict)}
    for schedule in record.get("schedules") or []:
        match = held.get(schedule.get("id"))
        if match is None:
            out.append(f"schedule {schedule.get('drug')} ({dose_text(schedule.get('dose'))}, {schedule.get('id')}) "
                       "is missing")
        else:
            out += schedule_differences(schedule, match, f"schedule {schedule.get('drug')}")
    landed = {a.get("id"): a for a in arrived_given}
    for administration in given:
        match = landed.get(administration.get("id"))
        what = f"administration {administration.get('id')}"
        if match is None:
            out.append(f"{what} ({administration.get('due_at')}) is missing")
            continue
        out += [f"{what}.{f}: sent {administration.get(f)!r}, held {match.get(f)!r}"
                for f in ADMINISTRATION_FIELDS if administration.get(f) != match.get(f)]
        out += [f"{what}.{f}: sent {administration.get(f)}, held {match.get(f)}"
                for f in ("due_at", "administered_at") if instant(administration.get(f)) != instant(match.get(f))]
        if not same_dose(administration.get("dose"), match.get("dose")):
            out.append(f"{what}.dose: sent {dose_text(administration.get('dose'))}, held "
                       f"{dose_text(match.get('dose'))}")
    return out


def _transfer_one_way(c: ContractContext, source: str | None, dest: str | None, now: datetime) -> list[str]:
    """Book the transfer detainee into `source`, give two doses, move them to `dest` through the transfer record;
    the differences between what `source` held and what `dest` then holds."""
    suffix = tag()
    entry = detainees(c)[TRANSFER_DETAINEE]
    _, answer = _book(c, entry, f"send-{suffix}", f"TRF-{suffix}", now, source)
    for schedule in entry["schedules"]:
        minutes = min(schedule["due_in_minutes"])
        if minutes < 0:
            _give(c, answer, schedule["drug"], iso(now + timedelta(minutes=minutes)), source)
    before = _holdings(c, answer["id"], source)
    record = read(c, f"/detainees/{answer['id']}/transfer-record", "export the transfer record", source)
    suite = f"receive-{suffix}"
    response = c.send("POST", "/transfers", json={"suite": suite, "record": record}, system=dest,
                      step="import the transfer record")
    if response.status_code != 201:
        if dest == PEER and 400 <= response.status_code < 500:
            c.fail(f"the peer (a second custody system) refused the candidate's transfer record: "
                   f"{response.status_code} {excerpt(response)}")
        blame(c, dest, f"importing the transfer record: answered {response.status_code}, expected 201: "
                       f"{excerpt(response)}")
    return _transfer_differences(before, _holdings(c, answer["id"], dest), suite)


@contract_check("custody.transfer", requirements=("CUST-TRF-001",), systems=(PEER,))
def transfer(c: ContractContext) -> None:
    """Both ways with the peer: the receiving system holds every condition, schedule and administration as the
    sending system held them, in its own suite."""
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.monotonic()
    sent = _transfer_one_way(c, None, PEER, now)
    received = _transfer_one_way(c, PEER, None, now)
    findings = [f"sent to the peer: {d}" for d in sent] + [f"received from the peer: {d}" for d in received]
    if findings:
        c.fail(f"{len(findings)} difference(s) after transfer ({time.monotonic() - started:.1f} s): "
               f"{listed(findings)}")
