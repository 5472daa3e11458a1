"""Engine from configuration, and schema migration to the latest revision."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import ArgumentError, OperationalError

from bizenv.config import database_url
from bizenv.errors import BizenvError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str | None = None) -> Engine:
    url = database_url(url)
    try:
        # Row values never appear in error messages: they may hold comments or hashes.
        engine = create_engine(url, hide_parameters=True)
    except (ArgumentError, ImportError) as exc:
        raise BizenvError(f"cannot use database URL {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the warehouse to `revision` (idempotent)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as exc:
        raise BizenvError(f"cannot reach the warehouse {engine.url!r}: {exc.orig}") from None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_migrated(engine: Engine) -> None:
    """Refuse to work on a warehouse that `bizenv init-db` has not created."""
    try:
        tables = set(inspect(engine).get_table_names())
    except OperationalError as exc:
        raise BizenvError(f"cannot reach the warehouse {engine.url!r}: {exc.orig}") from None
    if "alembic_version" not in tables:
        raise BizenvError(
            f"the warehouse {engine.url.render_as_string(hide_password=True)} is not initialised: "
            "run `bizenv init-db` first"
        )
