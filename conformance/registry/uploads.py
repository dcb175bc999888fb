"""Accept an uploaded bundle, or refuse it with the reason and store nothing.

    receive   the request body streamed to a temporary file with a size cap (bounded memory; refused as soon as
              the cap is passed), hashed on the way
    accept    - the same bytes already listed: the same listing (never a second one)
              - conformance/audit/verify.py on it (the one verifier: archive bounds, digests, signatures against
                every key the registry holds, profile digests, claims, re-score); anything that does not hold
                refuses it
              - signed by a key of the uploading organisation; every run measured against a profile version the
                registry lists (by digest)
              - public listings: only a supplier, only its own products (each run's target names it as supplier)
              - then one transaction stores the bundle and its listings: all of it or nothing
A bundle is read as hostile input (audit/archive.py): a gzip bomb, a non-archive or a traversal is a refusal.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from conformance.audit.archive import Limits
from conformance.audit.verify import Verification, verify_bundle
from conformance.engine.rundir import RunDir
from conformance.errors import ConformanceError
from conformance.registry.accounts import OrgKind, now, trusted_keys
from conformance.registry.catalogue import Catalogue
from conformance.registry.tables import Bundle, Listing, Organisation

__all__ = ["Accepted", "Receiver", "Refused", "UploadLimits", "Uploads"]

MIB = 1 << 20


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 64 * MIB  # the upload as sent
    archive: Limits = field(default_factory=lambda: Limits(entries=20_000, file_bytes=64 * MIB,
                                                           total_bytes=256 * MIB))
    verifying_at_once: int = 2  # verification is CPU and disk work: at most this many at a time


class Refused(Exception):
    """The bundle is not accepted: an HTTP status, the reason in one line, and the verifier's checks if it ran."""

    def __init__(self, status: int, reason: str, checks: list[dict[str, Any]] | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.checks = status, reason, checks or []

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": False, "reason": self.reason, "checks": self.checks}


@dataclass(frozen=True)
class Accepted:
    bundle_id: int
    listing_ids: list[int]
    duplicate: bool

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": True, "bundle": self.bundle_id, "listings": self.listing_ids,
                "duplicate": self.duplicate}


class Receiver:
    """Writes what it is fed to `file`, hashing it, and refuses (413) past `max_bytes`."""

    def __init__(self, file: IO[bytes], max_bytes: int) -> None:
        self.file, self.max_bytes = file, max_bytes
        self.size = 0
        self.hash = hashlib.sha256()

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise Refused(413, f"the upload passes the registry's limit of {self.max_bytes // MIB} MiB")
        self.hash.update(chunk)
        self.file.write(chunk)

    @property
    def sha256(self) -> str:
        return self.hash.hexdigest()


@dataclass(frozen=True)
class _Run:
    path: str
    meta: dict[str, Any]
    scorecard: dict[str, Any]


class Uploads:
    def __init__(self, read: sessionmaker[Session], write: sessionmaker[Session], catalogue: Catalogue,
                 limits: UploadLimits) -> None:
        self.read, self.write, self.catalogue, self.limits = read, write, catalogue, limits
        self._verifying = threading.BoundedSemaphore(limits.verifying_at_once)
        self._guard = threading.Lock()
        self._in_flight: dict[str, tuple[threading.Lock, int]] = {}

    def accept(self, path: Path, sha256: str, org_id: int, *, private: bool) -> Accepted:
        """Accept the bundle at `path` (its bytes hash to `sha256`) from organisation `org_id`, or raise Refused.
        Uploads of the same bytes wait for each other here, so a bundle sent many times at once is verified once
        (the database's unique SHA-256 still decides between servers sharing one database)."""
        with self._one_at_a_time(sha256):
            return self._accept(path, sha256, org_id, private=private)

    @contextmanager
    def _one_at_a_time(self, sha256: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._in_flight.get(sha256, (threading.Lock(), 0))
            self._in_flight[sha256] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._in_flight[sha256]
                if users == 1:
                    del self._in_flight[sha256]
                else:
                    self._in_flight[sha256] = (lock, users - 1)

    def _accept(self, path: Path, sha256: str, org_id: int, *, private: bool) -> Accepted:
        with self.read() as session:
            org = session.get(Organisation, org_id)
            assert org is not None
            same = self._existing(session, sha256, org_id)
            if same is not None:
                return same
            if not private and org.kind != OrgKind.SUPPLIER:
                raise Refused(403, f"{org.name} is a {org.kind}: only a supplier publishes listings; upload "
                                   "with ?visibility=private for a private evaluation")
            keys = trusted_keys(session)
        with self._verifying, tempfile.TemporaryDirectory(prefix="conformance-registry-") as tmp:
            result = verify_bundle(path, Path(tmp), trusted=[key for key, _ in keys.values()],
                                   limits=self.limits.archive)
            # the temporary file's name means nothing to the uploader
            checks = [{**check, "detail": check["detail"].replace(str(path), "the upload")}
                      for check in result.to_dict()["checks"]]
            if not result.verified:
                failed = next(c for c in checks if not c["holds"])
                hint = ("; this registry trusts only the keys registered for its organisations (`conformance "
                        "registry org key`)") if str(failed["name"]).startswith(("signature", "trusted")) else ""
                raise Refused(422, f"the bundle does not verify: {failed['name']}: {failed['detail']}{hint}", checks)
            own = [s.key_id for s in result.signers if s.valid and keys.get(s.key_id, (None, -1))[1] == org_id]
            if not own:
                raise Refused(422, f"not signed by a key registered for {org.name}: register its public key "
                                   "with `conformance registry org key`", checks)
            runs = self._runs(result, Path(tmp), org, private, checks)
            kind = str(result.contents.predicate.get("kind")) if result.contents else "run"
            signers = [s.key_id for s in result.signers if s.valid]
            # stored while still holding a verification slot: at most `verifying_at_once` bundles in memory
            return self._store(Bundle(sha256=sha256, organisation_id=org_id, kind=kind, size=path.stat().st_size,
                                      visibility="private" if private else "public", signers=signers,
                                      uploaded_at=now(), content=path.read_bytes()), runs)

    def _store(self, bundle: Bundle, runs: list[_Run]) -> Accepted:
        """The bundle and its listings in one transaction: both or neither, whenever the process dies."""
        bundle.listings = [_listing(run) for run in runs]
        try:
            with self.write() as session, session.begin():
                session.add(bundle)
        except IntegrityError:  # the same bytes, stored by a concurrent upload after our first look
            with self.read() as session:
                same = self._existing(session, bundle.sha256, bundle.organisation_id)
            if same is None:
                raise
            return same
        return Accepted(bundle.id, [listing.id for listing in bundle.listings], duplicate=False)

    def _existing(self, session: Session, sha256: str, org_id: int) -> Accepted | None:
        bundle = session.scalar(select(Bundle).where(Bundle.sha256 == sha256))
        if bundle is None:
            return None
        if bundle.organisation_id != org_id:
            raise Refused(409, "this bundle was uploaded by another organisation")
        return Accepted(bundle.id, [listing.id for listing in bundle.listings], duplicate=True)

    def _runs(self, result: Verification, root: Path, org: Organisation, private: bool,
              checks: list[dict[str, Any]]) -> list[_Run]:
        runs = []
        for claim in result.runs:
            where = str(claim["path"])
            digest = str((claim.get("profile") or {}).get("digest"))
            if digest not in self.catalogue.by_digest:
                profile = claim.get("profile") or {}
                raise Refused(422, f"{where}: measured against {profile.get('id')}@{profile.get('version')} with "
                                   f"digest {digest}, which is not a profile version this registry lists", checks)
            try:
                meta = RunDir.open(root / where).meta.to_dict()
                scorecard = json.loads((root / where / "scorecard.json").read_text(encoding="utf-8"))
            except (ConformanceError, OSError, ValueError) as exc:  # verified, so not expected: still no traceback
                raise Refused(422, f"{where}: unreadable after verification: {exc}", checks) from None
            supplier = str((meta.get("target") or {}).get("supplier") or "")
            if not private and supplier != org.name:
                raise Refused(403, f"{where}: the run measured {supplier or 'an unnamed supplier'!r}'s product; "
                                   f"{org.name} may publish only its own (set `supplier: {org.name}` in the "
                                   "targets file, or upload a private evaluation)", checks)
            runs.append(_Run(where, meta, scorecard))
        return runs


def _text(value: Any, limit: int) -> str:
    return str(value if value is not None else "")[:limit]


def _listing(run: _Run) -> Listing:
    target, profile, card = run.meta.get("target") or {}, run.meta.get("profile") or {}, run.scorecard
    return Listing(run_path=run.path, supplier=_text(target.get("supplier") or target.get("name"), 200),
                   product=_text(target.get("product"), 200), product_version=_text(target.get("product_version"), 100),
                   profile_id=_text(profile.get("id"), 100), profile_version=_text(profile.get("version"), 50),
                   profile_digest=_text(profile.get("digest"), 100), verdict=_text(card.get("verdict"), 20),
                   score=float(card.get("score") or 0.0), tier=_text(run.meta.get("tier"), 20),
                   measured_at=_text(run.meta.get("finished_at") or run.meta.get("started_at"), 40), scorecard=card)
