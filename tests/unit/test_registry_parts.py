"""The registry's pure parts: what a --db value means, the upload cap, token hashing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from conformance.errors import UsageError
from conformance.registry.accounts import TOKEN_PREFIX, hash_token
from conformance.registry.database import database_url, migrate, open_engine
from conformance.registry.uploads import Receiver, Refused


def test_a_db_value_is_a_file_or_a_supported_url(tmp_path: Path) -> None:
    assert database_url(str(tmp_path / "r.sqlite")) == f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert database_url("postgresql://u:p@db.example/reg") == "postgresql+psycopg://u:p@db.example/reg"
    assert database_url("postgres://u@/reg?host=/run/pg").startswith("postgresql+psycopg://u@/reg?host=")
    with pytest.raises(UsageError, match="not supported"):
        database_url("mysql://u@h/db")
    with pytest.raises(UsageError, match="not a database URL"):
        database_url("://nonsense")


def test_the_receiver_refuses_past_its_cap_and_hashes_what_it_kept() -> None:
    out = io.BytesIO()
    receiver = Receiver(out, max_bytes=10)
    receiver.feed(b"0123456789")
    assert receiver.size == 10 and out.getvalue() == b"0123456789"
    with pytest.raises(Refused) as refused:
        receiver.feed(b"x")
    assert refused.value.status == 413 and out.getvalue() == b"0123456789"
    assert receiver.sha256 == "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882"


def test_tokens_are_stored_as_their_hash() -> None:
    token = TOKEN_PREFIX + "abc"
    assert hash_token(token) != token and len(hash_token(token)) == 64 and hash_token(token) == hash_token(token)


def test_a_database_that_cannot_be_opened_is_a_located_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--db sqlite:///.*/missing/r.sqlite: cannot open the database"):
        migrate(open_engine(str(tmp_path / "missing" / "r.sqlite")))
