"""Disposal of a person record (pole-records `deletePerson`, POLE-REC-009) and the workflows it adds to the
interface's links (POLE-IF-007): the reference disposes of a record everywhere, the property contract catches a
supplier that leaves her relationships behind, and the stateful phase follows the new create, search, dispose and
read-again chains."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SEED, conformance, only_run_dir, reference
from tests.e2e.test_cli_e2e import result_of

ADDRESS = {"location_type": "dwelling", "address_lines": ["3 Stryd y Capel"]}


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    with reference() as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


def linked_person(api: httpx.Client, family_name: str) -> tuple[dict[str, str], str, str]:
    """A flagged person living at a new address: (person, her ETag, the address's id)."""
    created = api.post("/persons", json={"family_name": family_name, "date_of_birth": "1979-11-02",
                                         "flags": [{"code": "domestic-abuse-victim"}]},
                       headers={"Idempotency-Key": f"dispose-{family_name}"})
    assert created.status_code == 201
    place = api.post("/locations", json=ADDRESS).json()["id"]
    link = {"from_id": created.json()["id"], "to_id": place, "relationship_type": "resides-at"}
    assert api.post("/relationships", json=link).status_code == 201
    return created.json(), created.headers["etag"], place


def test_disposal_removes_the_record_from_read_search_and_traversal(api: httpx.Client) -> None:
    person, etag, place = linked_person(api, "Gwilym-Disposal")
    pid = person["id"]
    assert api.delete(f"/persons/{pid}", headers={"If-Match": '"7"'}).status_code == 412  # a stale review
    assert api.get(f"/persons/{pid}").status_code == 200, "a refused disposal removed the record"
    assert api.delete(f"/persons/{pid}", headers={"If-Match": etag}).status_code == 204
    assert api.get(f"/persons/{pid}").status_code == 404
    assert api.get("/persons", params={"family_name": "Gwilym-Disposal"}).json()["count"] == 0
    assert api.get(f"/records/{place}/relationships").json()["items"] == []
    assert api.get(f"/records/{pid}/relationships").status_code == 404
    assert api.get(f"/locations/{place}").status_code == 200, "the address went with her"
    again = api.delete(f"/persons/{pid}")
    assert again.status_code == 404 and again.headers["content-type"] == "application/problem+json"
    # Her idempotency key went with her: a retried create records her afresh, it does not crash.
    retried = api.post("/persons", json={"family_name": "Gwilym-Disposal"},
                       headers={"Idempotency-Key": "dispose-Gwilym-Disposal"})
    assert retried.status_code == 201 and retried.json()["id"] != pid


def test_disposal_validates_like_the_other_operations(api: httpx.Client) -> None:
    bad = api.delete("/persons/not-a-uuid")
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/path/id"
    place = api.post("/locations", json=ADDRESS).json()["id"]
    assert api.delete(f"/persons/{place}").status_code == 404, "a location was disposed of as a person"
    assert api.get(f"/locations/{place}").status_code == 200


def test_disposal_needs_the_api_key() -> None:
    env = {"REF_KEY": "sk-disposal-4c1d"}
    with reference(api_key_env="REF_KEY", env=env) as url, httpx.Client(base_url=url, timeout=10) as client:
        key = {"X-API-Key": env["REF_KEY"]}
        pid = client.post("/persons", json={"family_name": "Bevan"}, headers=key).json()["id"]
        denied = client.delete(f"/persons/{pid}", headers={"X-API-Key": "wrong"})
        assert denied.status_code == 401 and denied.headers["content-type"] == "application/problem+json"
        assert client.get(f"/persons/{pid}", headers=key).status_code == 200
        assert client.delete(f"/persons/{pid}", headers=key).status_code == 204


def test_the_fault_leaves_her_relationships_behind() -> None:
    with reference("delete-leaves-traces") as url, httpx.Client(base_url=url, timeout=10) as api:
        person, _, place = linked_person(api, "Pugh-Traces")
        assert api.delete(f"/persons/{person['id']}").status_code == 204
        assert api.get(f"/persons/{person['id']}").status_code == 404
        listed = api.get(f"/records/{place}/relationships").json()["items"]
        assert [item["other_id"] for item in listed] == [person["id"]]


# Which links a seed's workflows follow depends on the seed alone since the harness switched off hypothesis's
# "local constants" (drawn from every module loaded in the process: a code change used to move a seed's walk; see
# conformance.kit.properties.only_the_seed_decides); the interface still moves it (pole-records 1.1.0, what a bare
# `pole-records` runs since issue #18, documents 413 and an optional place_of_birth). Measured on 1.1.0: twelve
# seeds from 20261124 follow 10 to 12 of the 14 links; this one follows 12 with every new link among them (on
# 1.0.0 it followed 11 with every new link, the same in three runs).
LINKS_SEED = "20261128"


def test_disposal_requirement_passes_on_the_reference_and_links_are_followed(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with reference() as url:
        proc = conformance("run", "pole-records", "--target", url, "--seed", LINKS_SEED, "--runs-dir", str(runs),
                           "--only", "POLE-REC-009", "--only", "POLE-IF-007")
    run_dir = only_run_dir(runs)
    disposal = result_of(run_dir, "POLE-REC-009")
    assert disposal["outcome"] == "pass", proc.stdout + proc.stderr
    assert disposal["measurements"]["python"] == "pole_records.disposed_record_is_gone"
    assert disposal["measurements"]["requests"] == 5 * 7  # max_examples 5, seven requests each
    workflows = result_of(run_dir, "POLE-IF-007")
    assert workflows["outcome"] == "pass", workflows
    coverage = workflows["measurements"]["coverage"]
    # Measured with this seed: 12 of the 14 links followed (the new links among them).
    assert coverage["links_defined"] == 14
    assert coverage["links_followed"] >= 10 and coverage["links_ratio"] >= 0.5
    new_links = {"POST /persons -> 201 -> DeletePerson", "DELETE /persons/{id} -> 204 -> GetDisposedPerson",
                 "POST /persons -> 201 -> SearchPersons", "POST /events -> 201 -> ListEventRelationships",
                 "POST /events -> 201 -> LinkEventToLocation", "POST /locations -> 201 -> RecordEventAtLocation"}
    assert not new_links & set(coverage["links_not_followed"]), coverage["links_not_followed"]
    # The chain was really walked: a disposal answered 204, then the same id was read and answered 404.
    exchanges = [json.loads(line) for line in (run_dir / "exchanges" / "POLE-IF-007.jsonl").read_text().splitlines()]
    disposed = {e["request"]["url"] for e in exchanges
                if e["request"]["method"] == "DELETE" and e["response"]["status"] == 204}
    assert any(e["request"]["method"] == "GET" and e["request"]["url"] in disposed and e["response"]["status"] == 404
               for e in exchanges)


def test_disposal_that_leaves_traces_fails_naming_the_trace_and_the_minimal_record(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with reference("delete-leaves-traces") as url:
        proc = conformance("run", "pole-records", "--target", url, "--seed", SEED, "--runs-dir", str(runs),
                           "--only", "POLE-REC-009")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = result_of(only_run_dir(runs), "POLE-REC-009")
    assert result["outcome"] == "fail"
    message = result["findings"][0]["message"]
    assert "after disposal, the relationships of location " in message
    assert "still list person " in message and "resides-at link" in message
    assert f"; minimal record (seed {SEED}): {{" in message and "'family_name': " in message
    assert "POLE-REC-009" in proc.stdout
