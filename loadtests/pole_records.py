"""Load scenarios for pole-records: the task mixes officers put on a records system.

    search     an officer looks a person up by family name and date of birth (GET /persons)
    read       an officer opens a person (GET /persons/{id})
    update     read a person, change the occupation with If-Match (GET then PUT)
    record-crime  the business task "record a shoplifting": suspect, shop, stolen property, the crime, and
               the links between them (4 creates, 3 relationships); every id acknowledged is kept so the
               harness can check afterwards that none was lost

Every answer is checked as well as its status: a search must list the person searched for, a read must return
the record asked for, a create must carry the new record's id; a wrong answer is an error of its operation.

A profile requirement picks a mix (`mix: {search: 7, read: 2, update: 1}`) and an arrival rate; see
loadtests/openmodel.py for how arrivals are scheduled and latency is measured.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from loadtests.openmodel import OpenModelUser, Step, TaskFn

FAMILY = ["Prosser", "Evans", "Okafor", "Nowak", "Begum", "MacLeod", "Fitzgerald", "Lewis", "Khan", "Jones"]


def _dob(rng: random.Random) -> str:
    return f"{rng.randint(1940, 2010)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


# What a person's record holds that an update must send back: PUT replaces the record, so an update that sent
# only the changed field would erase the date of birth, and later searches by name and date of birth would
# rightly find nothing.
PERSON_INPUT = ("family_name", "given_names", "date_of_birth", "gender", "occupation", "place_of_birth")


def _has_id(body: object, _: Mapping[str, Any]) -> str | None:
    return None if isinstance(body, dict) and isinstance(body.get("id"), str) else "the answer carries no id"


def _is_person(pid: str) -> Callable[[object, Mapping[str, Any]], str | None]:
    def check(body: object, _: Mapping[str, Any]) -> str | None:
        got = body.get("id") if isinstance(body, dict) else None
        return None if got == pid else f"it answered with record {got!r}, not {pid}"
    return check


def search(user: OpenModelUser, step: Step, rng: random.Random) -> None:
    family, dob, pid = rng.choice(user.people)

    def finds_her(body: object, _: Mapping[str, Any]) -> str | None:
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            return f"the search for {family} {dob} found nothing"
        if not any(isinstance(item, dict) and item.get("id") == pid for item in items):
            return f"the search for {family} {dob} did not list {pid} ({len(items)} others)"
        return None

    step.request("GET", f"/persons?family_name={family}&date_of_birth={dob}", "GET /persons (search)",
                 check=finds_her)


def read(user: OpenModelUser, step: Step, rng: random.Random) -> None:
    _, _, pid = rng.choice(user.people)
    step.request("GET", f"/persons/{pid}", "GET /persons/{id}", check=_is_person(pid))


def update(user: OpenModelUser, step: Step, rng: random.Random) -> None:
    _, _, pid = rng.choice(user.people)
    person, headers = step.request("GET", f"/persons/{pid}", "GET /persons/{id}", check=_is_person(pid))
    changed = {key: person[key] for key in PERSON_INPUT if key in person}
    changed["occupation"] = rng.choice(["Teacher", "Nurse", "Driver"])
    step.request("PUT", f"/persons/{pid}", "PUT /persons/{id}", headers={"If-Match": headers.get("etag", "")},
                 json_body=changed, expect=(200, 412))  # 412: another arrival updated it first: the interface working


def record_crime(user: OpenModelUser, step: Step, rng: random.Random) -> None:
    writes = user.recorder.writes
    suspect, _ = step.request("POST", "/persons", "POST /persons", expect=(201,), check=_has_id, json_body={
        "family_name": rng.choice(FAMILY), "given_names": "Sam", "date_of_birth": _dob(rng)})
    writes.append(f"/persons/{suspect['id']}")
    shop, _ = step.request("POST", "/locations", "POST /locations", expect=(201,), check=_has_id, json_body={
        "location_type": "premises", "address_lines": [f"{rng.randint(1, 200)} High Street"]})
    writes.append(f"/locations/{shop['id']}")
    stolen, _ = step.request("POST", "/objects", "POST /objects", expect=(201,), check=_has_id, json_body={
        "object_type": "other", "description": "Three bottles of spirits"})
    writes.append(f"/objects/{stolen['id']}")
    crime, _ = step.request("POST", "/events", "POST /events", expect=(201,), check=_has_id, json_body={
        "event_type": "crime", "occurred_at": "2026-11-20T14:05:00Z", "summary": "Shoplifting",
        "location_id": shop["id"]})
    writes.append(f"/events/{crime['id']}")
    for from_id, to_id, kind in ((suspect["id"], crime["id"], "involved-in"), (stolen["id"], crime["id"], "used-in"),
                                 (crime["id"], shop["id"], "occurred-at")):
        step.request("POST", "/relationships", "POST /relationships", expect=(201,), check=_has_id,
                     json_body={"from_id": from_id, "to_id": to_id, "relationship_type": kind})


class PoleRecordsUser(OpenModelUser):
    mix_tasks: ClassVar[dict[str, TaskFn]] = {
        "search": search, "read": read, "update": update, "record-crime": record_crime}

    def setup_data(self, rng: random.Random) -> None:
        """People for searches, reads and updates to find (created before the schedule starts; not measured)."""
        self.people: list[tuple[str, str, str]] = []
        for i in range(20):
            family, dob = f"{rng.choice(FAMILY)}-load{i}", _dob(rng)
            created = self.setup_request("POST", "/persons", {"family_name": family, "date_of_birth": dob},
                                         expect=201)
            self.people.append((family, dob, created["id"]))
