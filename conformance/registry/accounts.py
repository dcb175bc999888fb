"""Organisations, their signing keys and their API tokens (written by `conformance registry org ...`).

A token is 32 random bytes (URL-safe base64, prefixed `crg_`), shown once when it is made and stored only as its
SHA-256: a token has as much entropy as a key, so a fast hash suffices (a slow password hash protects guessable
secrets). Looking a token up compares hashes in the database, never the token itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from conformance.audit.signing import PublicKey, public_key_from_pem
from conformance.errors import UsageError
from conformance.registry.tables import ApiToken, Organisation, SigningKey

__all__ = ["OrgKind", "add_key", "add_organisation", "hash_token", "new_token", "organisation_for_token",
           "organisation_named", "trusted_keys"]

TOKEN_PREFIX = "crg_"


class OrgKind(StrEnum):
    SUPPLIER = "supplier"  # publishes its own products' results
    BUYER = "buyer"  # uploads private tender evaluations
    INSPECTOR = "inspector"  # revokes listings


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_organisation(session: Session, name: str, kind: OrgKind) -> Organisation:
    name = name.strip()
    if not name or len(name) > 200:
        raise UsageError("an organisation needs a name of 1 to 200 characters")
    org = Organisation(name=name, kind=kind.value, created_at=now())
    session.add(org)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise UsageError(f"an organisation named {name!r} is already registered; add keys or tokens to it "
                         "with `conformance registry org key|token`") from None
    return org


def organisation_named(session: Session, name: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        raise UsageError(f"no organisation named {name!r}; register it with `conformance registry org add`")
    return org


def add_key(session: Session, org: Organisation, pem: bytes, *, source: str) -> str:
    key = public_key_from_pem(pem)
    if key is None:
        raise UsageError(f"{source}: not an Ed25519 public key in PEM; give the .pub file `conformance keys new` "
                         "wrote")
    exists = session.scalar(select(SigningKey).where(SigningKey.organisation_id == org.id,
                                                     SigningKey.key_id == key.key_id))
    if exists is None:
        session.add(SigningKey(organisation_id=org.id, key_id=key.key_id, public_pem=key.pem().decode(),
                               added_at=now()))
        session.flush()
    return key.key_id


def new_token(session: Session, org: Organisation, label: str) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(organisation_id=org.id, token_sha256=hash_token(token), label=label[:200],
                         created_at=now()))
    session.flush()
    return token


def organisation_for_token(session: Session, token: str | None) -> Organisation | None:
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == hash_token(token),
                                                ApiToken.revoked_at.is_(None)))
    return session.get(Organisation, row.organisation_id) if row is not None else None


def trusted_keys(session: Session) -> dict[str, tuple[PublicKey, int]]:
    """Every registered key: key id -> (the key, its organisation's id)."""
    found: dict[str, tuple[PublicKey, int]] = {}
    for row in session.scalars(select(SigningKey)):
        key = public_key_from_pem(row.public_pem.encode())
        if key is not None:
            found[row.key_id] = (key, row.organisation_id)
    return found
