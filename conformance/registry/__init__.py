"""The registry: a web service that lists only results it has verified (docs/how-to/run-a-registry.md).

    tables.py      the schema (SQLAlchemy); migrations/ its Alembic revisions, the only way it changes
    database.py    engine for a URL (an SQLite file by default, PostgreSQL by URL), migrate, read/write sessions
    accounts.py    organisations (supplier, buyer, inspector), their registered keys, API tokens stored hashed
    catalogue.py   the profile versions the registry knows: digests, lifecycle (validity), changelog
    uploads.py     a bundle streamed to a capped file, verified by audit/verify.py, stored whole or not at all
    views.py       what may be seen by whom; listings, history with regressions, diffs, comparisons, revocation
    web.py         the FastAPI application and its JSON API; pages.py + templates/: the server-rendered pages
    server.py      `conformance registry serve`: uvicorn on a socket, announcing its URL

Sits above audit/, procurement/ and supplier/ (it verifies with audit, compares with procurement, diffs with
supplier) and below cli/.
"""
