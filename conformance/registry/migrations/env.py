"""Alembic environment of the registry: migrations run on the connection `database.migrate` hands over
(`config.attributes["connection"]`); there is no alembic.ini and no offline (SQL script) mode."""

from alembic import context

from conformance.registry.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the registry's migrations with `conformance registry migrate --db URL`")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
