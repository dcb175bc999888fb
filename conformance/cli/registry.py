"""`conformance registry ...`: run the registry and administer it (docs/how-to/run-a-registry.md).

    registry migrate --db URL                         create or upgrade the schema (Alembic); serve does it too
    registry serve --db URL [--profiles DIR]          the web application (prints "registry listening on URL")
    registry org add NAME --kind supplier|buyer|inspector [--key PUB]...   register; prints its first API token
    registry org key NAME PUB                         register another public key
    registry org token NAME                           a new API token (shown once; stored hashed)
    registry upload BUNDLE --url URL [--private]      upload from CI; the token comes from $CONFORMANCE_REGISTRY_TOKEN

--db takes an SQLite file path or a postgresql:// URL (default: $CONFORMANCE_REGISTRY_DB, else registry.sqlite).
Exit codes: 0 done / accepted, 1 the registry refused the bundle, 2 usage.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["COMMANDS"]

console = Console(highlight=False, emoji=False)
TOKEN_ENV = "CONFORMANCE_REGISTRY_TOKEN"
DB_OPTION = click.option("--db", envvar="CONFORMANCE_REGISTRY_DB", default="registry.sqlite", show_default=True,
                         help="An SQLite file, or postgresql://USER[:PASSWORD]@HOST/DATABASE "
                              "(env CONFORMANCE_REGISTRY_DB).")


@click.group()
def registry() -> None:
    """The registry of verified results: serve it, register organisations, upload bundles."""


@registry.command("migrate")
@DB_OPTION
def migrate_command(db: str) -> None:
    """Create the registry's tables, or bring them to the newest revision."""
    from conformance.registry.database import migrate, open_engine

    engine = open_engine(db)
    migrate(engine)
    engine.dispose()
    console.print("the registry's database is at the newest revision")


@registry.command("serve")
@DB_OPTION
@click.option("--profiles", "profiles", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="A folder of profiles (<id>/<version>/) the registry lists (repeatable; default: the harness's).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--max-upload-mb", default=64, show_default=True, type=click.IntRange(1, 4096),
              help="The largest bundle accepted.")
def serve_command(db: str, profiles: tuple[Path, ...], host: str, port: int, max_upload_mb: int) -> None:
    """Serve the registry until stopped (SIGINT or SIGTERM)."""
    from conformance.audit.archive import Limits
    from conformance.registry.server import serve
    from conformance.registry.uploads import MIB, UploadLimits

    size = max_upload_mb * MIB
    limits = UploadLimits(max_bytes=size, archive=Limits(entries=20_000, file_bytes=size, total_bytes=4 * size))
    serve(db, profiles=list(profiles) or None, host=host, port=port, limits=limits)


@registry.group("org")
def org() -> None:
    """Organisations: suppliers publish, buyers keep private evaluations, inspectors revoke."""


@org.command("add")
@DB_OPTION
@click.argument("name")
@click.option("--kind", type=click.Choice(["supplier", "buyer", "inspector"]), required=True)
@click.option("--key", "keys", multiple=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A public key (.pub from `conformance keys new`) its bundles are signed with (repeatable).")
def org_add(db: str, name: str, kind: str, keys: tuple[Path, ...]) -> None:
    """Register organisation NAME (a supplier's name as its targets file spells `supplier`); print its token."""
    from conformance.registry.accounts import OrgKind, add_key, add_organisation, new_token

    with _session(db) as session, session.begin():
        created = add_organisation(session, name, OrgKind(kind))
        key_ids = [add_key(session, created, path.read_bytes(), source=str(path)) for path in keys]
        token = new_token(session, created, "first token")
    console.print(f"organisation {escape(name)} ({kind}) registered; keys: {', '.join(key_ids) or 'none yet'}")
    _show_token(token)


@org.command("key")
@DB_OPTION
@click.argument("name")
@click.argument("public_key", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def org_key(db: str, name: str, public_key: Path) -> None:
    """Register another public key for organisation NAME."""
    from conformance.registry.accounts import add_key, organisation_named

    with _session(db) as session, session.begin():
        key_id = add_key(session, organisation_named(session, name), public_key.read_bytes(), source=str(public_key))
    console.print(f"key {key_id} registered for {escape(name)}")


@org.command("token")
@DB_OPTION
@click.argument("name")
@click.option("--label", default="token", help="What the token is for (e.g. the CI pipeline's name).")
def org_token(db: str, name: str, label: str) -> None:
    """Make a new API token for organisation NAME (shown once)."""
    from conformance.registry.accounts import new_token, organisation_named

    with _session(db) as session, session.begin():
        token = new_token(session, organisation_named(session, name), label)
    _show_token(token)


def _show_token(token: str) -> None:
    console.print("API token (shown once; the registry keeps only its hash):")
    click.echo(token)


def _session(db: str) -> Session:
    from conformance.registry.database import migrate, open_engine, writer

    engine = open_engine(db)
    migrate(engine)
    return writer(engine)()


@registry.command("upload")
@click.argument("bundle_file", metavar="BUNDLE", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--url", required=True, help="The registry's base URL.")
@click.option("--private", is_flag=True, help="A private evaluation: visible only to your organisation.")
@click.option("--timeout", default=300.0, show_default=True, type=click.FloatRange(1, 3600))
def upload(bundle_file: Path, url: str, private: bool, timeout: float) -> None:
    """Upload BUNDLE with the token in $CONFORMANCE_REGISTRY_TOKEN; exit 1 if the registry refuses it."""
    import httpx

    from conformance.errors import UsageError

    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(f"${TOKEN_ENV} is not set: give the organisation's API token in it (never on the "
                         "command line)")
    endpoint = url.rstrip("/") + "/api/bundles" + ("?visibility=private" if private else "")
    try:
        with bundle_file.open("rb") as fh:
            answer = httpx.post(endpoint, content=fh, timeout=timeout, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/gzip",
                "Content-Length": str(bundle_file.stat().st_size)})
    except httpx.HTTPError as exc:
        raise UsageError(f"{endpoint}: the registry could not be reached ({type(exc).__name__}: {exc})") from None
    try:
        data = answer.json()
    except ValueError:
        data = {"accepted": False, "reason": f"HTTP {answer.status_code} without a JSON answer"}
    if data.get("accepted"):
        what = "already listed as" if data.get("duplicate") else "accepted:"
        console.print(f"{escape(str(bundle_file))}: {what} listing(s) {', '.join(map(str, data['listings']))}")
        sys.exit(0)
    console.print(f"[red]refused[/] (HTTP {answer.status_code}): {escape(str(data.get('reason')))}")
    for check in data.get("checks") or []:
        if not check.get("holds"):
            console.print(f"  [red]FAILS[/]  {escape(str(check.get('name')))}: {escape(str(check.get('detail')))}")
    sys.exit(1)


COMMANDS = (registry,)
