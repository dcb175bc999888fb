"""The registry's tables (SQLAlchemy 2.x declarative). Changed only through a new Alembic migration in
`migrations/versions/` (tests/component/test_registry_api.py holds the two to the same schema).

    organisation   who uploads: a supplier (publishes its own results), a buyer (private evaluations) or an
                   inspector (revokes listings); its name is unique
    signing_key    an organisation's registered Ed25519 public keys (PEM; key id = sha256 of the raw key)
    api_token      an organisation's API tokens, stored only as their SHA-256 (a token is 32 random bytes)
    bundle         one accepted bundle: its bytes, their SHA-256 (unique: the same bundle twice is one listing),
                   who uploaded it, public or private, who signed it
    listing        one run of an accepted bundle: who and what was measured, against which profile version, the
                   verdict, score and scorecard; a revocation (when, why, by whom) stays on the row
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["ApiToken", "Base", "Bundle", "Listing", "Organisation", "SigningKey"]


class Base(DeclarativeBase):
    pass


class Organisation(Base):
    __tablename__ = "organisation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # supplier | buyer | inspector
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    keys: Mapped[list[SigningKey]] = relationship(back_populates="organisation")


class SigningKey(Base):
    __tablename__ = "signing_key"
    __table_args__ = (UniqueConstraint("organisation_id", "key_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    key_id: Mapped[str] = mapped_column(String(64))
    public_pem: Mapped[str] = mapped_column(Text)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    organisation: Mapped[Organisation] = relationship(back_populates="keys")


class ApiToken(Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Bundle(Base):
    __tablename__ = "bundle"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    visibility: Mapped[str] = mapped_column(String(10))  # public | private
    kind: Mapped[str] = mapped_column(String(20))  # run | evaluation
    size: Mapped[int] = mapped_column(Integer)
    signers: Mapped[list[str]] = mapped_column(JSON)  # key ids of the valid signatures
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # loaded only for a download
    listings: Mapped[list[Listing]] = relationship(back_populates="bundle", order_by="Listing.id")
    organisation: Mapped[Organisation] = relationship()


class Listing(Base):
    __tablename__ = "listing"
    __table_args__ = (UniqueConstraint("bundle_id", "run_path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundle.id"), index=True)
    run_path: Mapped[str] = mapped_column(String(1024))
    supplier: Mapped[str] = mapped_column(String(200), index=True)
    product: Mapped[str] = mapped_column(String(200))
    product_version: Mapped[str] = mapped_column(String(100))
    profile_id: Mapped[str] = mapped_column(String(100), index=True)
    profile_version: Mapped[str] = mapped_column(String(50))
    profile_digest: Mapped[str] = mapped_column(String(100))
    verdict: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(20))
    measured_at: Mapped[str] = mapped_column(String(40))  # the run's finished_at (ISO 8601, from the bundle)
    scorecard: Mapped[dict[str, object]] = mapped_column(JSON, deferred=True)  # loaded where a page needs it
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bundle: Mapped[Bundle] = relationship(back_populates="listings")
