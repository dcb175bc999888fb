"""`conformance registry serve` as a real process, on each database: 50 concurrent uploads lose nothing and
duplicate nothing; a SIGKILL in the middle of uploads leaves no half-stored listing and the restarted server goes
on. On SQLite: a 1 GiB upload is refused quickly without the server's memory growing; `conformance registry org
add` and `conformance registry upload` (what a supplier's CI runs) work as documented."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from conformance.registry.database import open_engine, reader
from conformance.registry.tables import Bundle, Listing
from tests.conftest import conformance
from tests.registry_support import (
    DATABASES,
    add_organisations,
    fresh_database,
    make_run,
    profile_copy,
    registry_server,
    signed_bundle,
    supplier_key,
)


@dataclass
class Setup:
    tmp: Path
    profiles: Path
    bundles: list[Path]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    tmp = tmp_path_factory.mktemp("registry-e2e")
    profiles = profile_copy(tmp)
    key, _ = supplier_key(tmp / "acme")
    bundles = []
    for minor in range(10):
        run = make_run(tmp / "runs", profiles / "pole-records" / "1.0.0", version=f"3.{minor}",
                       failing=(minor % 3,), finished_at=f"2026-11-{minor + 10}T10:00:00.000Z")
        bundles.append(signed_bundle(run, tmp / f"acme-3.{minor}.tar.gz", key))
    return Setup(tmp, profiles, bundles)


def register_acme(db: str, setup: Setup, *, with_the_command: bool = False) -> str:
    if not with_the_command:  # in process: each `conformance` started costs seconds of imports
        return add_organisations(db, [("Acme Ltd", "supplier", setup.tmp / "acme" / "conformance-signing.pub")])[0]
    made = conformance("registry", "org", "add", "Acme Ltd", "--kind", "supplier", "--key",
                       str(setup.tmp / "acme" / "conformance-signing.pub"), "--db", db)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("crg_") and "shown once" in made.stdout
    return token


def upload(url: str, token: str, body: bytes) -> int:
    return httpx.post(f"{url}/api/bundles", content=body, headers={"Authorization": f"Bearer {token}"},
                      timeout=120).status_code


def stored(db: str) -> tuple[int, int, list[str]]:
    """Bundles, listings, and what is wrong: a bundle without its one listing, bytes that are not its SHA-256."""
    engine = open_engine(db)
    try:
        with reader(engine)() as session:
            problems = []
            for bundle in session.scalars(select(Bundle)):
                if len(bundle.listings) != 1:
                    problems.append(f"bundle {bundle.id} has {len(bundle.listings)} listings")
                if hashlib.sha256(bundle.content).hexdigest() != bundle.sha256:
                    problems.append(f"bundle {bundle.id}: its bytes are not its SHA-256")
            if engine.dialect.name == "sqlite":
                check = session.connection().exec_driver_sql("PRAGMA integrity_check").scalar()
                problems += [] if check == "ok" else [f"integrity_check: {check}"]
            return (session.scalar(select(func.count()).select_from(Bundle)) or 0,
                    session.scalar(select(func.count()).select_from(Listing)) or 0, problems)
    finally:
        engine.dispose()


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database(request.param, tmp_path)


def test_fifty_concurrent_uploads_lose_nothing_and_duplicate_nothing(database: str, setup: Setup) -> None:
    token = register_acme(database, setup)
    bodies = [path.read_bytes() for path in setup.bundles for _ in range(5)]  # 10 bundles, each sent 5 times
    with registry_server(database, setup.profiles) as (url, _), ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(lambda body: upload(url, token, body), bodies))
        listed = httpx.get(f"{url}/api/listings").json()
    assert sorted(statuses) == [200] * 40 + [201] * 10, statuses
    assert stored(database) == (10, 10, [])
    assert sorted(x["product_version"] for x in listed) == [f"3.{i}" for i in range(10)]


def test_a_kill_9_mid_upload_leaves_no_half_stored_listing(database: str, setup: Setup) -> None:
    token = register_acme(database, setup)
    bodies = [path.read_bytes() for path in setup.bundles]
    statuses: list[int | str] = []

    killed = threading.Event()

    def slow(body: bytes) -> Iterator[bytes]:  # half sent, the rest only once the server is dead
        yield body[:len(body) // 2]
        killed.wait(60)
        yield body[len(body) // 2:]

    def send(body: bytes, trickle: bool = False) -> None:
        try:
            answer = httpx.post(f"{url}/api/bundles", content=slow(body) if trickle else body, timeout=60,
                                headers={"Authorization": f"Bearer {token}"})
            statuses.append(answer.status_code)
        except httpx.HTTPError as exc:
            statuses.append(type(exc).__name__)

    with registry_server(database, setup.profiles) as (url, proc):
        threads = [threading.Thread(target=send, args=(body, index == 0)) for index, body in enumerate(bodies)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while 201 not in statuses and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        killed.set()
        for thread in threads:
            thread.join(timeout=60)
    assert 201 in statuses and any(isinstance(s, str) for s in statuses), statuses  # killed mid-way
    bundles, listings, problems = stored(database)
    assert problems == [] and bundles == listings and 1 <= bundles < 10, (bundles, listings, problems)
    with registry_server(database, setup.profiles) as (url, _), ThreadPoolExecutor(4) as pool:
        again = list(pool.map(lambda body: upload(url, token, body), bodies))
    assert again.count(201) == 10 - bundles and again.count(200) == bundles, again
    assert stored(database) == (10, 10, [])


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc")


def test_a_huge_upload_is_refused_quickly_with_bounded_memory(tmp_path: Path, setup: Setup) -> None:
    db = str(tmp_path / "registry.sqlite")
    token = register_acme(db, setup)
    gib = 1 << 30

    def gigabyte() -> Iterator[bytes]:
        chunk = bytes(1 << 20)
        for _ in range(gib >> 20):
            yield chunk

    with registry_server(db, setup.profiles) as (url, proc):
        before = _peak_rss_kib(proc.pid)
        started = time.monotonic()
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:  # declares 1 GiB, sends 10 bytes
            sock.sendall(f"POST /api/bundles HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                         f"Content-Length: {gib}\r\n\r\n0123456789".encode())
            answer = sock.recv(4096).decode("latin-1")
        assert answer.startswith("HTTP/1.1 413") and time.monotonic() - started < 5, answer
        started = time.monotonic()
        try:
            streamed = httpx.post(f"{url}/api/bundles", content=gigabyte(), timeout=30,
                                  headers={"Authorization": f"Bearer {token}"})
            assert streamed.status_code == 413, streamed.text
        except httpx.HTTPError:
            pass  # the server answered 413 and closed the connection while the client still sent
        assert time.monotonic() - started < 30
        grown_mib = (_peak_rss_kib(proc.pid) - before) / 1024
        assert grown_mib < 64, f"the server's peak memory grew by {grown_mib:.0f} MiB for a refused upload"
        assert upload(url, token, setup.bundles[0].read_bytes()) == 201  # and it goes on serving
    assert stored(db) == (1, 1, [])


def test_upload_from_ci_with_the_command(tmp_path: Path, setup: Setup) -> None:
    db = str(tmp_path / "registry.sqlite")
    token = register_acme(db, setup, with_the_command=True)
    tampered = tmp_path / "tampered.tar.gz"
    data = bytearray(setup.bundles[1].read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    with registry_server(db, setup.profiles) as (url, _):
        env = {"CONFORMANCE_REGISTRY_TOKEN": token}
        ok = conformance("registry", "upload", str(setup.bundles[1]), "--url", url, env=env)
        assert ok.returncode == 0 and "accepted: listing(s) 1" in ok.stdout, ok.stdout + ok.stderr
        refused = conformance("registry", "upload", str(tampered), "--url", url, env=env)
        assert refused.returncode == 1 and "refused (HTTP 422)" in refused.stdout and "FAILS" in refused.stdout
        no_token = conformance("registry", "upload", str(setup.bundles[1]), "--url", url,
                               env={"CONFORMANCE_REGISTRY_TOKEN": ""})
        assert no_token.returncode == 2 and "CONFORMANCE_REGISTRY_TOKEN" in no_token.stderr
    assert token not in ok.stdout + ok.stderr + refused.stdout + refused.stderr
