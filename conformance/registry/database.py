"""The registry's database: an engine for a URL (an SQLite file by default, PostgreSQL by URL), the schema brought
to the newest Alembic revision, and sessions that read or write.

SQLite is set up for a server that is killed at any moment and written by many threads: write-ahead log,
`synchronous=FULL` (a committed upload is on disk), foreign keys on, and a write transaction that takes the
database's write lock when it begins (`BEGIN IMMEDIATE`, waiting up to 30 s for it), so two uploads never fail
on a lock upgrade. A transaction either commits whole or leaves nothing (no half-stored listing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from conformance.errors import UsageError

__all__ = ["MIGRATIONS", "database_url", "migrate", "open_engine", "reader", "writer"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_WRITE = "registry_write"


def database_url(text: str) -> str:
    """A database URL from what a user typed: a file path means an SQLite file; `postgresql://` uses psycopg 3."""
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    try:
        url = make_url(text)
    except ArgumentError:
        raise UsageError(f"--db {text!r}: not a database URL; give a file path (SQLite) or "
                         "postgresql://USER@HOST/DATABASE") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise UsageError(f"--db: {url.get_backend_name()} is not supported; use an SQLite file or PostgreSQL")
    return url.render_as_string(hide_password=False)


def open_engine(text: str) -> Engine:
    url = database_url(text)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin, not by the driver
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(_WRITE) else "BEGIN")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision in `migrations/versions/` (a no-op when it is there)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:  # the first connection: a wrong URL, a server that is down, no such folder
        shown = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise UsageError(f"--db {shown}: cannot open the database ({reason}); check the URL, that the server runs "
                         "and accepts this user, or that the SQLite file's folder exists") from None


def reader(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def writer(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose transaction holds the write lock from its start (SQLite); plain sessions elsewhere."""
    return sessionmaker(engine.execution_options(**{_WRITE: True}), expire_on_commit=False)
