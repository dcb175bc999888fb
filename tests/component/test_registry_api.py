"""The registry's API and pages in process (FastAPI's TestClient), on each database (SQLite file; PostgreSQL from
CONFORMANCE_TEST_POSTGRES_URL, see tests/registry_support.py): only verified bundles are listed, everything else
is refused with its reason and leaves nothing stored; the same bundle twice is one listing; private evaluations
stay private; a revocation stays visible; a supplier's text is escaped; the comparison is the one
`conformance compare` builds; the Alembic migration makes exactly the tables the code declares."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conformance.audit.archive import Limits
from conformance.audit.signing import SigningKey
from conformance.procurement.collect import comparison_from_files
from conformance.registry.accounts import OrgKind, add_key, add_organisation, new_token
from conformance.registry.catalogue import Catalogue
from conformance.registry.tables import Base, Bundle, Listing
from conformance.registry.uploads import MIB, UploadLimits
from conformance.registry.web import create_app
from tests.registry_support import (
    DATABASES,
    fresh_database,
    make_run,
    profile_copy,
    signed_bundle,
    supplier_key,
)

EVIL = '<script>alert("x")</script> & Sons'
LIMITS = UploadLimits(max_bytes=2 * MIB, archive=Limits(entries=2_000, file_bytes=2 * MIB, total_bytes=8 * MIB))


@dataclass
class Made:
    tmp: Path
    profiles: Path
    keys: dict[str, tuple[SigningKey, Path]]
    bundles: dict[str, Path]
    runs: dict[str, Path]
    catalogue: Catalogue


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    tmp = tmp_path_factory.mktemp("registry")
    profiles = profile_copy(tmp)
    profile_dir = profiles / "pole-records" / "1.0.0"
    keys = {who: supplier_key(tmp / "keys" / who) for who in ("acme", "beta", "buyer", "stranger", "evil")}
    runs = {
        "acme-2.1": make_run(tmp / "runs", profile_dir, version="2.1", failing=(),
                             finished_at="2026-11-01T10:00:00.000Z"),
        "acme-2.2": make_run(tmp / "runs", profile_dir, version="2.2", failing=(1, 2),
                             finished_at="2026-12-01T10:00:00.000Z"),
        "beta-5": make_run(tmp / "runs", profile_dir, supplier="Beta plc", product="Beacon", version="5.0",
                           failing=(3,)),
        "evil": make_run(tmp / "runs", profile_dir, supplier=EVIL, product="<b>bold</b>", version='1"2',
                         failing=(0,), finding_title="<img src=x onerror=alert(1)>"),
    }
    changed = tmp / "changed" / "pole-records" / "1.0.0"
    profile_copy(tmp / "changed-src")
    (tmp / "changed").mkdir()
    import shutil

    shutil.copytree(tmp / "changed-src" / "profiles" / "pole-records", tmp / "changed" / "pole-records")
    with (changed / "CHANGELOG.md").open("a", encoding="utf-8") as fh:
        fh.write("\nan edit the registry has never seen\n")
    runs["unknown-profile"] = make_run(tmp / "runs-changed", changed)
    evaluation = tmp / "evaluation"  # a buyer's tender evaluation: two candidates' runs in one folder
    evaluation.mkdir()
    (evaluation / "evaluation.json").write_text(json.dumps({"tender": {"id": "county-records", "digest": "sha256:0"},
                                                            "seed": 42, "status": "finished"}), encoding="utf-8")
    make_run(evaluation / "runs" / "acme", profile_dir, version="2.1", failing=(), name="acme")
    make_run(evaluation / "runs" / "beta", profile_dir, supplier="Beta plc", product="Beacon", version="5.0",
             failing=(3,), name="beta")
    out = tmp / "bundles"
    out.mkdir()
    bundles = {
        "acme-2.1": signed_bundle(runs["acme-2.1"], out / "acme-2.1.tar.gz", keys["acme"][0]),
        "acme-2.2": signed_bundle(runs["acme-2.2"], out / "acme-2.2.tar.gz", keys["acme"][0]),
        "beta-5": signed_bundle(runs["beta-5"], out / "beta-5.tar.gz", keys["beta"][0]),
        "beta-by-buyer": signed_bundle(runs["beta-5"], out / "beta-by-buyer.tar.gz", keys["buyer"][0]),
        "evil": signed_bundle(runs["evil"], out / "evil.tar.gz", keys["evil"][0]),
        "wrong-key": signed_bundle(runs["acme-2.1"], out / "wrong-key.tar.gz", keys["stranger"][0]),
        "co-signed-by-stranger": signed_bundle(runs["acme-2.1"], out / "co.tar.gz", keys["acme"][0],
                                               keys["stranger"][0]),
        "acme-as-beta": signed_bundle(runs["beta-5"], out / "acme-as-beta.tar.gz", keys["acme"][0]),
        "unknown-profile": signed_bundle(runs["unknown-profile"], out / "unknown.tar.gz", keys["acme"][0]),
        "evaluation": signed_bundle(evaluation, out / "evaluation.tar.gz", keys["buyer"][0]),
    }
    data = bytearray(bundles["acme-2.1"].read_bytes())
    data[len(data) // 2] ^= 0x01
    (out / "tampered.tar.gz").write_bytes(bytes(data))
    bundles["tampered"] = out / "tampered.tar.gz"
    return Made(tmp, profiles, keys, bundles, runs, Catalogue.load([profiles]))


@dataclass
class Registry:
    client: TestClient
    tokens: dict[str, str]
    app: object

    def upload(self, bundle: Path | bytes, who: str = "acme", *, private: bool = False) -> tuple[int, dict]:
        body = bundle.read_bytes() if isinstance(bundle, Path) else bundle
        answer = self.client.post("/api/bundles" + ("?visibility=private" if private else ""), content=body,
                                  headers={"Authorization": f"Bearer {self.tokens[who]}"})
        return answer.status_code, answer.json()

    def counts(self) -> tuple[int, int]:
        with self.app.state.read() as session:  # type: ignore[attr-defined]
            return (session.scalar(select(func.count()).select_from(Bundle)) or 0,
                    session.scalar(select(func.count()).select_from(Listing)) or 0)

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(params=DATABASES)
def registry(request: pytest.FixtureRequest, made: Made, tmp_path: Path) -> Iterator[Registry]:
    for url in _database(request.param, tmp_path):
        app = create_app(url, catalogue=made.catalogue, limits=LIMITS)
        tokens = {}
        with app.state.write() as session, session.begin():
            for who, name, kind in (("acme", "Acme Ltd", OrgKind.SUPPLIER), ("beta", "Beta plc", OrgKind.SUPPLIER),
                                    ("buyer", "County Police (buyer)", OrgKind.BUYER),
                                    ("inspector", "HM Inspectorate", OrgKind.INSPECTOR),
                                    ("evil", EVIL, OrgKind.SUPPLIER)):
                org = add_organisation(session, name, kind)
                if who in made.keys:
                    add_key(session, org, made.keys[who][1].read_bytes(), source=who)
                tokens[who] = new_token(session, org, "test")
        with TestClient(app) as client:
            yield Registry(client, tokens, app)
        app.state.engine.dispose()


def _database(kind: str, tmp: Path) -> Iterator[str]:
    yield from fresh_database(kind, tmp)


def test_the_migration_makes_exactly_the_declared_tables(registry: Registry) -> None:
    with registry.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


def test_a_verified_bundle_is_listed_once(registry: Registry, made: Made) -> None:
    status, answer = registry.upload(made.bundles["acme-2.1"])
    assert status == 201 and answer["accepted"] and len(answer["listings"]) == 1, answer
    again, second = registry.upload(made.bundles["acme-2.1"])
    assert again == 200 and second["duplicate"] and second["listings"] == answer["listings"]
    assert registry.counts() == (1, 1)
    listed = registry.client.get("/api/listings?profile=pole-records@1.0.0").json()
    assert [(x["supplier"], x["product"], x["product_version"], x["verdict"]) for x in listed] == [
        ("Acme Ltd", "Records", "2.1", "conformant")]
    assert listed[0]["validity"]["status"] == "active" and listed[0]["revoked"] is None
    page = registry.client.get("/profiles/pole-records/1.0.0")
    assert page.status_code == 200 and "Acme Ltd" in page.text and "valid (active version)" in page.text
    assert "Changelog" in page.text and "Lifecycle" in page.text
    download = registry.client.get(f"/listings/{answer['listings'][0]}/bundle.tar.gz")
    assert download.content == made.bundles["acme-2.1"].read_bytes()


def _bomb() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("run/huge.bin")
        info.size = 64 * MIB
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    return gzip.compress(raw.getvalue(), mtime=0)


REFUSALS = [
    ("not-a-bundle", 422, "not a bundle archive"),
    ("tampered", 422, "does not verify"),
    ("wrong-key", 422, "UNTRUSTED key"),
    ("co-signed-by-stranger", 422, "UNTRUSTED key"),
    ("acme-as-beta", 403, "may publish only its own"),
    ("unknown-profile", 422, "not a profile version this registry lists"),
    ("zip-bomb", 422, "does not verify"),
    ("empty", 422, "an empty upload"),
]


def test_a_bad_upload_is_refused_with_its_reason_and_nothing_is_stored(registry: Registry, made: Made) -> None:
    bodies = {"not-a-bundle": b"PK\x03\x04 this is a zip, not a bundle", "zip-bomb": _bomb(), "empty": b""}
    for case, status, reason in REFUSALS:
        body = bodies.get(case)
        got, answer = registry.upload(body if body is not None else made.bundles[case])
        assert (got, answer["accepted"]) == (status, False), (case, answer)
        assert reason in answer["reason"], (case, answer["reason"])
        assert "conformance-upload-" not in answer["reason"]  # the server's temporary file is no business of theirs
    assert registry.counts() == (0, 0)


def test_uploads_need_a_token_and_a_size_within_the_limit(registry: Registry, made: Made) -> None:
    body = made.bundles["acme-2.1"].read_bytes()
    assert registry.client.post("/api/bundles", content=body).status_code == 401
    assert registry.client.post("/api/bundles", content=body,
                                headers={"Authorization": "Bearer crg_not-a-token"}).status_code == 401
    too_big = registry.client.post("/api/bundles", content=b"x" * (LIMITS.max_bytes + 1), headers=registry.as_("acme"))
    assert too_big.status_code == 413 and "limit" in too_big.json()["reason"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while streaming, at the cap
        for _ in range(LIMITS.max_bytes // 65536 + 2):
            yield bytes(65536)

    streamed = registry.client.post("/api/bundles", content=chunks(), headers=registry.as_("acme"))
    assert streamed.status_code == 413
    buyer_public = registry.upload(made.bundles["beta-by-buyer"], "buyer")
    assert buyer_public[0] == 403 and "only a supplier publishes" in buyer_public[1]["reason"]
    assert registry.counts() == (0, 0)


def test_a_private_evaluation_is_visible_only_to_its_organisation(registry: Registry, made: Made) -> None:
    status, answer = registry.upload(made.bundles["beta-by-buyer"], "buyer", private=True)
    assert status == 201, answer
    listing = answer["listings"][0]
    assert registry.client.get("/api/listings").json() == []
    assert registry.client.get("/api/listings", headers=registry.as_("beta")).json() == []
    assert registry.client.get(f"/listings/{listing}").status_code == 404
    assert registry.client.get(f"/listings/{listing}/bundle.tar.gz").status_code == 404
    mine = registry.client.get("/api/listings", headers=registry.as_("buyer")).json()
    assert [x["id"] for x in mine] == [listing] and mine[0]["visibility"] == "private"
    assert "Beta plc" not in registry.client.get("/profiles/pole-records/1.0.0").text
    registry.client.post("/login", data={"token": registry.tokens["buyer"]})
    page = registry.client.get("/evaluations")
    assert page.status_code == 200 and "Beta plc" in page.text and "Beacon" in page.text


def test_a_buyer_keeps_a_whole_tender_evaluation_private(registry: Registry, made: Made) -> None:
    refused = registry.upload(made.bundles["evaluation"], "buyer")
    assert refused[0] == 403 and registry.counts() == (0, 0)
    status, answer = registry.upload(made.bundles["evaluation"], "buyer", private=True)
    assert status == 201 and len(answer["listings"]) == 2, answer
    assert registry.client.get("/api/listings").json() == []
    mine = registry.client.get("/api/listings", headers=registry.as_("buyer")).json()
    assert sorted(x["supplier"] for x in mine) == ["Acme Ltd", "Beta plc"]
    ids = "&".join(f"id={i}" for i in answer["listings"])
    assert registry.client.get(f"/compare?{ids}").status_code == 422  # not the public's to compare
    registry.client.post("/login", data={"token": registry.tokens["buyer"]})
    page = registry.client.get(f"/compare?{ids}")
    assert page.status_code == 200 and "Acme Ltd: Records 2.1" in page.text and "Beta plc: Beacon 5.0" in page.text


def test_history_marks_the_regression_and_diffs_it(registry: Registry, made: Made) -> None:
    first = registry.upload(made.bundles["acme-2.1"])[1]["listings"][0]
    second = registry.upload(made.bundles["acme-2.2"])[1]["listings"][0]
    page = registry.client.get("/suppliers/Acme Ltd")
    assert page.status_code == 200
    assert page.text.count("▼ regression") == 1 and f"/listings/{second}/diff?against={first}" in page.text
    diff = registry.client.get(f"/listings/{second}/diff?against={first}")
    assert diff.status_code == 200 and "pass</td><td>fail" in diff.text.replace("\n", "")


def test_an_inspector_revokes_with_a_reason_that_stays_visible(registry: Registry, made: Made) -> None:
    listing = registry.upload(made.bundles["acme-2.1"])[1]["listings"][0]
    registry.client.post("/login", data={"token": registry.tokens["inspector"]})  # the pages' cookie is not enough
    assert registry.client.post(f"/api/listings/{listing}/revoke", json={"reason": "x"}).status_code == 401
    denied = registry.client.post(f"/api/listings/{listing}/revoke", json={"reason": "mine"},
                                  headers=registry.as_("acme"))
    assert denied.status_code == 403 and "only an inspector" in denied.json()["reason"]
    assert registry.client.post(f"/api/listings/{listing}/revoke", json={"reason": " "},
                                headers=registry.as_("inspector")).status_code == 422
    done = registry.client.post(f"/api/listings/{listing}/revoke", json={"reason": "evidence withdrawn by supplier"},
                                headers=registry.as_("inspector"))
    assert done.status_code == 200, done.text
    shown = registry.client.get("/api/listings").json()[0]["revoked"]
    assert shown["reason"] == "evidence withdrawn by supplier" and shown["by"] == "HM Inspectorate"
    for url in (f"/listings/{listing}", "/profiles/pole-records/1.0.0", "/suppliers/Acme Ltd"):
        page = registry.client.get(url).text
        assert "REVOKED by HM Inspectorate: evidence withdrawn by supplier" in page
        assert '<span class="validity invalid">revoked</span>' in page
        assert "profiles" in url or "valid (active version)" not in page  # the profile page: the version's own


def test_pages_escape_everything_a_supplier_wrote(registry: Registry, made: Made) -> None:
    status, answer = registry.upload(made.bundles["evil"], "evil")
    assert status == 201, answer
    listing = answer["listings"][0]
    from urllib.parse import quote

    for url in ("/profiles/pole-records/1.0.0", f"/listings/{listing}", f"/suppliers/{quote(EVIL)}",
                f"/compare?id={listing}", f"/listings/{listing}/report.html"):
        page = registry.client.get(url)
        assert page.status_code == 200, url
        for raw in ('<script>alert("x")</script>', "<b>bold</b>", "<img src=x onerror"):
            assert raw not in page.text, f"{url} shows {raw!r} unescaped"
        assert "&lt;script&gt;" in page.text or "&lt;b&gt;bold" in page.text, url
    assert "default-src 'none'" in registry.client.get("/").headers["content-security-policy"]


def test_the_comparison_page_is_the_comparison_conformance_compare_writes(registry: Registry, made: Made) -> None:
    ids = [registry.upload(made.bundles["acme-2.1"])[1]["listings"][0],
           registry.upload(made.bundles["beta-5"], "beta")[1]["listings"][0]]
    from conformance.registry.views import comparison_of

    with registry.app.state.read() as session:  # type: ignore[attr-defined]
        listings = [session.get(Listing, i) for i in ids]
        ours = comparison_of(listings, title="t")  # type: ignore[arg-type]
    cli = comparison_from_files([made.runs["acme-2.1"], made.runs["beta-5"]], out_dir=made.tmp, title="t")
    assert [r["candidate"] for r in ours["ranking"]] == ["Acme Ltd: Records 2.1", "Beta plc: Beacon 5.0"]
    assert [r["candidate"] for r in cli["ranking"]] == ["Acme Ltd", "Beta plc"]  # the runs' target names
    same = []
    for data in (ours, cli):
        data.pop("generated_at")  # type: ignore[misc]
        for cand in data["candidates"]:  # the links: files beside the runs, or pages of the registry
            for entry in cand["profiles"].values():
                entry.pop("scorecard")
                entry.pop("report")
        text = json.dumps(data, sort_keys=True)
        for cand in data["candidates"]:  # the names: the registry's listing, or the run's target (here: supplier)
            text = text.replace(json.dumps(cand["name"]), json.dumps(cand["supplier"]))
        same.append(text)
    assert same[0] == same[1]
    page = registry.client.get(f"/compare?id={ids[0]}&id={ids[1]}")
    assert page.status_code == 200 and "Acme Ltd" in page.text and "Beta plc" in page.text
    assert f'href="listings/{ids[0]}/report.html"' in page.text
