"""Alembic environment: the engine is handed over by bizenv.warehouse.engine.migrate."""

from alembic import context

from bizenv.warehouse.tables import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
