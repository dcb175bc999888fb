"""The reference supplier behaves as the standard describes: it is the harness's oracle, so its own
behaviour is pinned here, against the real process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fixtures.kit.launch import serving
from tests.conftest import reference


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    with serving() as url, httpx.Client(base_url=url, timeout=10) as client:  # in process: only HTTP is under test
        yield client


def test_validation_lists_every_problem_with_a_pointer(api: httpx.Client) -> None:
    r = api.post("/persons", json={"family_name": "", "gender": "x", "shoe_size": 9})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    pointers = {e["pointer"] for e in r.json()["errors"]}
    assert pointers == {"/body", "/body/family_name", "/body/gender"}


def test_create_read_update_with_if_match(api: httpx.Client) -> None:
    r = api.post("/persons", json={"family_name": "Ó Súilleabháin", "given_names": "Siân",
                                   "flags": [{"code": "child-at-risk"}]})
    assert r.status_code == 201
    person, etag = r.json(), r.headers["etag"]
    assert api.get(r.headers["location"]).json() == person
    update = {"family_name": "Ó Súilleabháin", "given_names": "Siân Mair", "flags": [{"code": "child-at-risk"}]}
    assert api.put(f"/persons/{person['id']}", json=update).status_code == 428
    ok = api.put(f"/persons/{person['id']}", json=update, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    assert ok.json()["flags"][0]["set_at"] == person["flags"][0]["set_at"], "a flag's history was rewritten"
    stale = api.put(f"/persons/{person['id']}", json=update, headers={"If-Match": etag})
    assert stale.status_code == 412


def test_search_ignores_case_and_accents(api: httpx.Client) -> None:
    api.post("/persons", json={"family_name": "Prosser-Jones", "given_names": "Siân Eluned",
                               "date_of_birth": "1984-03-09"})
    found = api.get("/persons", params={"family_name": "prosser-jones", "given_name": "SIAN"}).json()
    assert found["count"] >= 1
    none = api.get("/persons", params={"family_name": "prosser-jones", "date_of_birth": "1990-01-01"}).json()
    assert none["count"] == 0
    assert api.get("/persons", params={"family_name": "x", "limit": "0"}).status_code == 422


def test_idempotency_key_creates_one_record(api: httpx.Client) -> None:
    headers = {"Idempotency-Key": "retry-42"}
    first = api.post("/objects", json={"object_type": "phone", "description": "Black handset"}, headers=headers)
    second = api.post("/objects", json={"object_type": "phone", "description": "Black handset"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]


def test_relationships_are_typed_and_not_duplicated(api: httpx.Client) -> None:
    person = api.post("/persons", json={"family_name": "Evans", "flags": [{"code": "warning-weapons"}]}).json()
    place = api.post("/locations", json={"location_type": "dwelling", "address_lines": ["1 Heol y Bont"]}).json()
    link = {"from_id": person["id"], "to_id": place["id"], "relationship_type": "resides-at"}
    assert api.post("/relationships", json=link).status_code == 201
    assert api.post("/relationships", json=link).status_code == 409
    wrong = {**link, "relationship_type": "owns"}
    assert api.post("/relationships", json=wrong).status_code == 409
    related = api.get(f"/records/{place['id']}/relationships").json()["items"]
    assert related[0]["other_flags"][0]["code"] == "warning-weapons"


def test_unknown_routes_and_bad_bodies_are_problems(api: httpx.Client) -> None:
    assert api.get("/nowhere").status_code == 404
    assert api.post("/persons", content=b"{not json", headers={"content-type": "application/json"}).status_code == 400
    assert api.post("/persons", content=b"x", headers={"content-type": "text/plain"}).status_code == 415
    assert api.get("/persons/not-a-uuid").status_code == 422


def test_huge_and_deeply_nested_bodies_are_refused_as_problems(api: httpx.Client) -> None:
    """Bad input is bounded and answered, never a crash: 413 over 1 MiB, 400 for nesting too deep to parse."""
    huge = api.post("/persons", content=b'{"family_name": "' + b"x" * (1024 * 1024 + 10) + b'"}',
                    headers={"Content-Type": "application/json"})
    assert huge.status_code == 413 and huge.json()["title"] == "Content Too Large"
    deep = api.post("/persons", content=b"[" * 200_000 + b"]" * 200_000, headers={"Content-Type": "application/json"})
    assert deep.status_code == 400 and "nested too deeply" in deep.json()["detail"]


@pytest.mark.parametrize(("fault", "request_", "status"), [
    ("server-error-on-unicode", {"family_name": "Siân"}, 500),
    ("strict-irrelevant-fields", {"family_name": "Evans"}, 422),
])
def test_faults_change_behaviour(fault: str, request_: dict[str, str], status: int) -> None:
    with serving("pole-records", [fault]) as url:
        assert httpx.post(f"{url}/persons", json=request_).status_code == status
        assert httpx.post(f"{url}/persons", json={"family_name": "Evans", "occupation": "Nurse"}).status_code == 201


def test_api_key_is_enforced_when_configured() -> None:
    with reference(api_key_env="REF_KEY", env={"REF_KEY": "k-123"}) as url:
        assert httpx.get(f"{url}/code-lists").status_code == 401
        assert httpx.get(f"{url}/code-lists", headers={"X-API-Key": "k-123"}).status_code == 200
