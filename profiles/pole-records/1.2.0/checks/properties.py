"""Property contracts of pole-records: rules over every valid record, not one example.

Each property draws records from the profile's own openapi.yaml (`c.bodies`), seeded by the run (`c.seed`),
`c.examples` of them; a breach is shrunk by hypothesis to a minimal record (the kit's `counterexample`), which
the finding shows with the seed that reproduces it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from conformance.kit import ContractContext, contract_check, counterexample

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy

# Where the records of each type are created and read, by the interface's operation ids.
RECORDS = {"person": ("createPerson", "/persons"), "object": ("createObject", "/objects"),
           "location": ("createLocation", "/locations"), "event": ("createEvent", "/events")}
# The record fields that carry each code list's codes (GET /code-lists names the lists). Relationship types are
# carried by links, not records: POLE-SAFE-002 and the schema checks use them.
CODED_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "flag": (("person", "flags"), ("object", "flags"), ("location", "flags"), ("event", "flags")),
    "gender": (("person", "gender"),),
    "object-type": (("object", "object_type"),),
    "location-type": (("location", "location_type"),),
    "event-type": (("event", "event_type"),),
}
# Invented family-name stems, each with an accented spelling (a Welsh circumflex, an Irish fada), and invented
# given names: the people generated are nobody.
STEMS = (("Tavish", "Távish"), ("Lennan", "Lennán"), ("Ardle", "Árdle"), ("Dorran", "Dorrán"),
         ("Prysor", "Prŷsor"), ("Gwynallt", "Gŵynallt"), ("Morvane", "Morvâne"), ("Brennock", "Brénnock"),
         ("Quarrie", "Quarríe"), ("Siaran", "Siarân"))
GIVEN_NAMES = ("Siân", "Gareth", "Niamh", "Eilidh", "Rhodri", "Aoife", "Callum", "Mererid", "Tomos", "Orla")
MAX_LISTED = 8  # further codes that did not round-trip, listed after the first
SEARCH_LIMIT = 100  # the interface's maximum; results come most recently updated first


def comparable(field: str, value: Any) -> Any:
    """A field as the rules compare it: flags on their code and note (the system sets `set_at`)."""
    if field == "flags":
        return [{k: f[k] for k in ("code", "note") if k in f} for f in value or []]
    return value


def first_difference(sent: dict[str, Any], stored: dict[str, Any]) -> tuple[str, Any, Any] | None:
    for field, value in sent.items():
        want, got = comparable(field, value), comparable(field, stored.get(field))
        if got != want:
            return field, want, got
    return None


def status(response: Any, expected: int, what: str) -> str | None:
    if response.status_code != expected:
        return f"{what} answered {response.status_code}, expected {expected}"
    return None


@contract_check("pole_records.person_round_trip", requirements=("POLE-REC-002",))
def person_round_trip(c: ContractContext) -> None:
    """For any valid person the interface allows, create then read returns every field unchanged."""

    def breach(body: dict[str, Any]) -> str | None:
        created = c.send("POST", "/persons", json=body, step="create a generated person")
        if wrong := status(created, 201, "create"):
            return wrong
        read = c.send("GET", f"/persons/{created.json()['id']}", step="read it back")
        if wrong := status(read, 200, "read"):
            return wrong
        if changed := first_difference(body, read.json()):
            field, sent, got = changed
            return f"{field}: sent {sent!r}, read back {got!r}"
        return None

    if found := counterexample(c, c.bodies("createPerson"), breach):
        body, why = found
        c.fail(f"{why}; minimal record (seed {c.seed}): {body!r}")


@contract_check("pole_records.person_update_visible", requirements=("POLE-REC-007",))
def person_update_visible(c: ContractContext) -> None:
    """For any valid person and any valid update, an officer who opens the record and saves the update (If-Match:
    the ETag just read) sees every updated field the next time the record is read."""
    from hypothesis import strategies as st

    def breach(pair: tuple[dict[str, Any], dict[str, Any]]) -> str | None:
        body, update = pair
        created = c.send("POST", "/persons", json=body, step="create a generated person")
        if wrong := status(created, 201, "create"):
            return wrong
        path = f"/persons/{created.json()['id']}"
        opened = c.send("GET", path, step="an officer opens the record")
        if wrong := status(opened, 200, "read"):
            return wrong
        etag = opened.headers.get("etag")
        if not etag:
            return "the read carried no ETag, which an update must send back as If-Match"
        saved = c.send("PUT", path, json=update, headers={"If-Match": etag}, step="the officer saves an update")
        if wrong := status(saved, 200, f"update with If-Match {etag} (the ETag just read)"):
            return wrong
        read = c.send("GET", path, step="the record is opened again")
        if wrong := status(read, 200, "read after the update"):
            return wrong
        if changed := first_difference(update, read.json()):
            field, sent, got = changed
            return f"{field}: updated to {sent!r}, the next read returned {got!r}"
        return None

    if found := counterexample(c, st.tuples(c.bodies("createPerson"), c.bodies("updatePerson")), breach):
        (body, update), why = found
        c.fail(f"{why}; minimal record (seed {c.seed}): created {body!r}, then updated to {update!r}")


def published_codes(c: ContractContext) -> dict[str, list[str]]:
    """The codes of every code list a record field carries, as the target publishes them (GET /code-lists).
    A list that is missing, empty or unreadable fails the requirement: nothing to check is not a pass."""
    answer = c.send("GET", "/code-lists", step="read the published code lists")
    if answer.status_code != 200:
        c.fail(f"the code lists could not be read: GET /code-lists answered {answer.status_code}, expected 200 "
               "with every code list the system uses")
    try:
        lists = {item["name"]: [code["code"] for code in item["codes"]] for item in answer.json()["items"]}
    except (ValueError, KeyError, TypeError) as exc:
        c.fail(f"the code lists could not be read: GET /code-lists answered {answer.text[:200]!r} "
               f"({type(exc).__name__}: {exc})")
    codes: dict[str, list[str]] = {}
    for name, uses in CODED_FIELDS.items():
        carried_by = ", ".join(f"{record} {field}" for record, field in uses)
        if name not in lists:
            c.fail(f"the target publishes no '{name}' code list (it publishes {sorted(map(str, lists))}), yet "
                   f"{carried_by} carry its codes")
        if not lists[name]:
            c.fail(f"the '{name}' code list the target publishes is empty, yet {carried_by} carry its codes")
        if not all(isinstance(code, str) and code for code in lists[name]):
            c.fail(f"the '{name}' code list holds codes that are not strings: {lists[name][:10]!r}")
        codes[name] = list(dict.fromkeys(lists[name]))
    return codes


def carrying(body: dict[str, Any], field: str, code: str) -> dict[str, Any]:
    """A generated record carrying `code` in `field` (a flag carries it as its one flag, keeping a generated
    note). A generated event's location_id names no recorded location, so it is left out."""
    record = {k: v for k, v in body.items() if k != "location_id"}
    if field == "flags":
        first = (body.get("flags") or [{}])[0]
        record["flags"] = [{"code": code, **({"note": first["note"]} if "note" in first else {})}]
    else:
        record[field] = code
    return record


def code_kept(c: ContractContext, code_list: str, record_type: str, field: str,
              code: str) -> Callable[[dict[str, Any]], str | None]:
    """The rule for one code: a record carrying it in `field` is created, and read back with the same code."""
    path, what = RECORDS[record_type][1], f"{record_type} {field}"

    def breach(record: dict[str, Any]) -> str | None:
        created = c.send("POST", path, json=record, step=f"create a {record_type} with {field} {code}")
        if wrong := status(created, 201, f"create ({what} {code!r}, code list '{code_list}')"):
            return wrong
        read = c.send("GET", f"{path}/{created.json()['id']}", step="read it back")
        if wrong := status(read, 200, f"read ({what} {code!r}, code list '{code_list}')"):
            return wrong
        got = read.json().get(field)
        if field == "flags":
            got = [flag.get("code") for flag in got] if isinstance(got, list) else got
            if got != [code]:
                return f"{what}: sent code {code!r} (code list '{code_list}'), read back {got!r}"
        elif got != code:
            return f"{what}: sent {code!r} (code list '{code_list}'), read back {got!r}"
        return None

    return breach


@contract_check("pole_records.coded_values_round_trip", requirements=("POLE-REC-008",))
def coded_values_round_trip(c: ContractContext) -> None:
    """Every code of every code list the target publishes, on every record field that carries it, used on
    generated records (`c.examples` for each code), is read back as the same code."""
    from functools import partial

    codes = published_codes(c)
    bodies = {record_type: c.bodies(operation) for record_type, (operation, _) in RECORDS.items()}
    failures: list[tuple[dict[str, Any], str]] = []
    tried = 0
    for code_list, uses in CODED_FIELDS.items():
        for record_type, field in uses:
            for code in codes[code_list]:
                tried += 1
                records = bodies[record_type].map(partial(carrying, field=field, code=code))
                # Only the first breach is shrunk: the others are listed, and shrinking each costs ~100 records.
                if found := counterexample(c, records, code_kept(c, code_list, record_type, field, code),
                                           shrink=not failures):
                    failures.append(found)
    if failures:
        (record, why), others = failures[0], [why for _, why in failures[1:]]
        also = others[:MAX_LISTED] + [f"{len(others) - MAX_LISTED} more"] * (len(others) > MAX_LISTED)
        c.fail(f"{len(failures)} of {tried} published codes did not round-trip: {why}; minimal record "
               f"(seed {c.seed}): {record!r}" + (f"; also: {' | '.join(also)}" if also else ""))


def spelt(prefix: str, stems: list[tuple[str, str]], accented: bool, joiner: str) -> str:
    return prefix + joiner.join(accent if accented else plain for plain, accent in stems)


def names_and_variants() -> SearchStrategy[tuple[str, str, str]]:
    """(a family name as recorded, a common variant of it, what makes it a variant): names from invented stems,
    with or without a Mc/Mac prefix, accents, a second (double-barrelled) stem joined by a hyphen or a space; the
    variant swaps Mc and Mac, adds or removes the accents, swaps hyphen and space, and may change the case."""
    from hypothesis import strategies as st

    @st.composite
    def draw_name(draw: DrawFn) -> tuple[str, str, str]:
        prefix = draw(st.sampled_from(("", "Mc", "Mac")))
        stems = draw(st.lists(st.sampled_from(STEMS), min_size=1, max_size=2, unique=True))
        accented = draw(st.booleans())
        joiner = draw(st.sampled_from(("-", " ")))
        recorded = spelt(prefix, stems, accented, joiner)
        changes = []
        if prefix and draw(st.booleans()):
            changes.append(f"{prefix} written {'Mac' if prefix == 'Mc' else 'Mc'}")
            prefix = "Mac" if prefix == "Mc" else "Mc"
        if draw(st.booleans()):
            changes.append("accents removed" if accented else "accents added")
            accented = not accented
        if len(stems) > 1 and draw(st.booleans()):
            changes.append("hyphen written as a space" if joiner == "-" else "space written as a hyphen")
            joiner = " " if joiner == "-" else "-"
        variant = spelt(prefix, stems, accented, joiner)
        case = draw(st.sampled_from(("lower case", "upper case", "")))
        if case or not changes:
            case = case or "lower case"
            variant = variant.lower() if case == "lower case" else variant.upper()
            changes.append(case)
        return recorded, variant, ", ".join(changes)

    return draw_name()


@contract_check("pole_records.name_variant_search", requirements=("POLE-SRCH-002",))
def name_variant_search(c: ContractContext) -> None:
    """For any generated person, a search by a common variant of the family name (case, accents, Mc/Mac,
    hyphen/space) and the date of birth finds them, as a search by the name as recorded does."""
    from hypothesis import strategies as st

    people = st.tuples(c.bodies("createPerson"), names_and_variants(), st.sampled_from(GIVEN_NAMES),
                       st.dates(min_value=date(1920, 1, 1), max_value=date(2020, 12, 31)))

    def person(drawn: tuple[dict[str, Any], tuple[str, str, str], str, date]) -> dict[str, Any]:
        body, (recorded, _, _), given, born = drawn
        return {**body, "family_name": recorded, "given_names": given, "date_of_birth": born.isoformat()}

    def found_by(family_name: str, born: str, person_id: str, step: str) -> str | None:
        answer = c.send("GET", "/persons", query={"family_name": family_name, "date_of_birth": born,
                                                  "limit": SEARCH_LIMIT}, step=step)
        if wrong := status(answer, 200, f"search for {family_name!r}"):
            return wrong
        if person_id not in {item.get("id") for item in answer.json()["items"]}:
            return f"{answer.json().get('count', '?')} found, not the person (id {person_id})"
        return None

    def breach(drawn: tuple[dict[str, Any], tuple[str, str, str], str, date]) -> str | None:
        body, (recorded, variant, how) = person(drawn), drawn[1]
        created = c.send("POST", "/persons", json=body, step="record a generated person")
        if wrong := status(created, 201, "create"):
            return wrong
        person_id = created.json()["id"]
        if missed := found_by(recorded, body["date_of_birth"], person_id, "search by the name as recorded"):
            return (f"a search for family_name {recorded!r} exactly as recorded and date_of_birth "
                    f"{body['date_of_birth']} (POLE-SRCH-001's rule): {missed}")
        if missed := found_by(variant, body["date_of_birth"], person_id, "search by a common variant of it"):
            return (f"a search for family_name {variant!r} ({how}) and date_of_birth {body['date_of_birth']} did "
                    f"not find the person recorded as {recorded!r}: {missed}")
        return None

    if found := counterexample(c, people, breach):
        drawn, why = found
        c.fail(f"{why}; minimal record (seed {c.seed}): {person(drawn)!r}")


# A synthetic address each generated person is linked to before she is disposed of.
_DISPOSAL_ADDRESS = {"location_type": "dwelling", "address_lines": ["7 Heol y Felin", "Llanfair"],
                     "postcode": "ZZ9 9ZZ"}


@contract_check("pole_records.disposed_record_is_gone", requirements=("POLE-REC-009",))
def disposed_record_is_gone(c: ContractContext) -> None:
    """For any valid person: create her, link her to a new location (resides-at), dispose of her (204); then
    reading her is 404, a search by her family name (and date of birth) does not list her, and the location's
    relationships do not list her. Failures are shrunk to a minimal record, which the finding shows."""

    def breach(body: dict[str, Any]) -> str | None:
        created = c.send("POST", "/persons", json=body, step="create a generated person")
        if wrong := status(created, 201, "create"):
            return wrong
        person = created.json()["id"]
        place = c.send("POST", "/locations", json=_DISPOSAL_ADDRESS, step="record the address she lives at")
        if wrong := status(place, 201, "recording a location"):
            return wrong
        location = place.json()["id"]
        link = {"from_id": person, "to_id": location, "relationship_type": "resides-at"}
        linked = c.send("POST", "/relationships", json=link, step="link her to the address (resides-at)")
        if wrong := status(linked, 201, "linking her to the location"):
            return wrong
        gone = c.send("DELETE", f"/persons/{person}", step="dispose of her")
        if wrong := status(gone, 204, f"disposal of person {person}"):
            return wrong
        read = c.send("GET", f"/persons/{person}", step="read her after disposal")
        if read.status_code != 404:
            return f"after disposal, reading person {person} answered {read.status_code}, expected 404"
        query: dict[str, Any] = {"family_name": body["family_name"], "limit": 100}
        if "date_of_birth" in body:
            query["date_of_birth"] = body["date_of_birth"]
        found = c.send("GET", "/persons", query=query, step="search for her after disposal")
        if wrong := status(found, 200, f"after disposal, the search {query!r}"):
            return wrong
        if person in [item.get("id") for item in found.json()["items"]]:
            return f"after disposal, the search {query!r} still lists person {person}"
        related = c.send("GET", f"/records/{location}/relationships", step="list the address's relationships")
        if wrong := status(related, 200, f"after disposal, listing the relationships of location {location} "
                                         "(the address is not disposed of)"):
            return wrong
        traces = [item for item in related.json()["items"]
                  if person in (item.get("other_id"), item["relationship"].get("from_id"),
                                item["relationship"].get("to_id"))]
        if traces:
            shown = "; ".join(f"{t['relationship'].get('relationship_type')} link {t['relationship'].get('id')}, "
                              f"other_type {t.get('other_type')}, other_flags "
                              f"{[f.get('code') for f in t.get('other_flags') or []]}" for t in traces)
            return f"after disposal, the relationships of location {location} still list person {person}: {shown}"
        return None

    if found := counterexample(c, c.bodies("createPerson"), breach):
        body, why = found
        c.fail(f"{why}; minimal record (seed {c.seed}): {body!r}")
