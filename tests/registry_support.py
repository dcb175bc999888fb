"""What the registry's tests share (component, e2e, browser): a fresh database of each kind per test, and signed
bundles made cheaply (a synthetic finished run of a copy of pole-records 1.0.0, scored by the harness; no process,
no socket), in the manner of tests/unit/audit_helpers.py.

PostgreSQL comes from CONFORMANCE_TEST_POSTGRES_URL (an empty database the tests may create schemas in; `.ci/run`
starts one and exports it). Without it the PostgreSQL half of each test is skipped, saying why, except under CI
(`CI` set), where a missing PostgreSQL FAILS the tests: CI must test both databases.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from conformance.audit.bundle import make_bundle
from conformance.audit.signing import SigningKey, load_signing_key, new_key_pair
from conformance.engine.processes import spawned
from conformance.engine.rundir import RunDir, RunMeta
from conformance.inputs.profiles import load_profile
from conformance.model import Finding, Outcome, Result
from conformance.registry.database import database_url
from conformance.session.execute import rescore

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ENV = "CONFORMANCE_TEST_POSTGRES_URL"
DATABASES = ("sqlite", "postgresql")


def postgres_url_or_skip() -> str:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"${POSTGRES_ENV} is not set under CI: .ci/run must install and start PostgreSQL and export "
                    "it; the registry is tested on both databases")
    pytest.skip(f"no PostgreSQL: set ${POSTGRES_ENV}=postgresql://USER@/DB?host=SOCKET_DIR to run this half "
                "(docs/how-to/run-a-registry.md)")


def fresh_database(kind: str, tmp: Path) -> Iterator[str]:
    """A URL of an empty database of `kind`: an SQLite file under tmp, or a new PostgreSQL schema (dropped after)."""
    if kind == "sqlite":
        yield str(tmp / "registry.sqlite")
        return
    base = database_url(postgres_url_or_skip())
    schema = f"registry_test_{secrets.token_hex(6)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        separator = "&" if "?" in base else "?"
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def profile_copy(tmp: Path) -> Path:
    """A copy of pole-records 1.0.0 under tmp/profiles (the registry's catalogue in tests; the same digest)."""
    folder = tmp / "profiles" / "pole-records" / "1.0.0"
    if not folder.exists():
        shutil.copytree(ROOT / "profiles" / "pole-records" / "1.0.0", folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return tmp / "profiles"


def make_run(runs: Path, profile_dir: Path, *, supplier: str = "Acme Ltd", product: str = "Records",
             version: str = "2.1", failing: tuple[int, ...] = (1,), finished_at: str = "2026-12-01T10:01:00.000Z",
             name: str | None = None, finding_title: str = "valid record rejected") -> Path:
    """A finished quick run of the profile in `profile_dir` against a named supplier's product: requirement
    number i (of the non-planned ones) passes unless i is in `failing` (then it fails with one finding)."""
    profile = load_profile(profile_dir, import_checks=False)
    meta = {"harness": {"name": "conformance-harness", "version": "0.1.0"},
            "profile": {"id": profile.id, "version": profile.version, "digest": profile.digest,
                        "path": str(profile_dir)},
            "target": {"name": name or supplier, "base_url": "http://127.0.0.1:9/", "source": "targets.yaml#x",
                       "supplier": supplier, "product": product, "product_version": version, "auth": None,
                       "reset": None, "tls": None, "claims": None},
            "seed": 42, "tier": "quick", "budget_s": None, "only": [], "skip": [],
            "started_at": finished_at, "finished_at": finished_at, "status": "finished", "resumed_at": [],
            "scoring": {}, "load": {}, "systems_given": {}}
    run = RunDir.create(runs, RunMeta.from_dict(meta, file="run.json"), supplier=supplier, profile_id=profile.id)
    for index, req in enumerate(r for r in profile.requirements if not r.planned):
        if index in failing:
            result = Result(req.id, Outcome.FAIL, reason="rejected a valid record",
                            findings=(Finding(requirement_id=req.id, check="status", title=finding_title,
                                              message="422 for a minimum record"),))
        else:
            result = Result(req.id, Outcome.PASS, measurements={"request_sequence_sha256": "ab" * 32})
        run.append_result(result)
    rescore(run, profile)
    return run.path


def supplier_key(folder: Path) -> tuple[SigningKey, Path]:
    private, public, _ = new_key_pair(folder)
    return load_signing_key(private), public


def signed_bundle(run: Path, out: Path, *keys: SigningKey) -> Path:
    make_bundle(run, out, list(keys))
    return out


def scorecard(run: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run / "scorecard.json").read_text(encoding="utf-8"))
    return data


@contextmanager
def registry_server(db: str, profiles: Path, max_upload_mb: int = 4) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`conformance registry serve` on a free loopback port: yields its URL and the process (its own group)."""
    command = [sys.executable, "-m", "conformance", "registry", "serve", "--db", db, "--profiles", str(profiles),
               "--max-upload-mb", str(max_upload_mb)]
    with spawned(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:  # what comes before the announcement (a warning) is kept for the message
            seen.append(line)
            if "registry listening on http://127.0.0.1:" in line:
                break
        else:
            raise AssertionError(f"the registry exited before serving: {''.join(seen[-20:])}")
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain, never block the server
        yield line.split("listening on ", 1)[1].strip(), proc


def add_organisations(db: str, orgs: list[tuple[str, str, Path | None]]) -> list[str]:
    """Register (name, kind, public key or None) in the database at `db` (migrated first); their tokens."""
    from conformance.registry.accounts import OrgKind, add_key, add_organisation, new_token
    from conformance.registry.database import migrate, open_engine, writer

    engine = open_engine(db)
    migrate(engine)
    tokens = []
    try:
        with writer(engine)() as session, session.begin():
            for name, kind, key in orgs:
                org = add_organisation(session, name, OrgKind(kind))
                if key is not None:
                    add_key(session, org, key.read_bytes(), source=str(key))
                tokens.append(new_token(session, org, "test"))
    finally:
        engine.dispose()
    return tokens
