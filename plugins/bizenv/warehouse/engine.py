"""Engine from configuration, and schema migration to the latest revision."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from bizenv.config import database_url
from bizenv.errors import BizenvError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS = Path(__file__).with_name("migrations")


SQLITE_BUSY_SECONDS = 120


def make_engine(url: str | None = None) -> Engine:
    url = database_url(url)
    try:
        # Row values never appear in error messages: they may hold comments or hashes. SQLite
        # writers queue: a load may wait behind another's whole transaction (the driver's 5 s
        # default would turn that wait into "database is locked").
        connect_args = {"timeout": SQLITE_BUSY_SECONDS} if url.startswith("sqlite") else {}
        engine = create_engine(url, hide_parameters=True, connect_args=connect_args)
    except (ArgumentError, ImportError) as exc:
        raise BizenvError(f"cannot use database URL {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        _sqlite_folder(engine.url.database)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def _sqlite_folder(path: str | None) -> None:
    """Create the folder of a SQLite file; a folder that cannot be created is the URL's fault."""
    # `file:` names are SQLite URIs (`?uri=true`), opened as they are: no folder to create.
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    folder = Path(path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror
        raise BizenvError(
            f"cannot create the SQLite warehouse's folder {str(folder)!r} ({reason or exc})", file=path
        ) from None


# What SQLite says when its file or folder cannot be used (not when a statement is wrong: a
# missing table or a syntax error is also an OperationalError there, and is a bug).
SQLITE_ENVIRONMENT = (
    "readonly database",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
    "database is locked",
    "file is not a database",
)


def database_fault(exc: DBAPIError, url: str) -> BizenvError | None:
    """The error to report for a driver error the warehouse's environment caused (a read-only,
    locked, full or unreachable database), naming the database; None for anything else."""
    orig = exc.orig
    if type(orig).__module__.startswith("sqlite3"):
        environmental = any(text in str(orig).lower() for text in SQLITE_ENVIRONMENT)
    else:  # other drivers (psycopg): an OperationalError is connection or server trouble
        environmental = isinstance(exc, OperationalError)
    if not environmental:
        return None
    try:
        parsed = make_url(url)
    except ArgumentError:
        return BizenvError(f"the warehouse cannot be used: {orig}")
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        shown = parsed.database  # the file, as the user wrote it
    return BizenvError(f"the warehouse cannot be used: {orig}", file=shown)


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
    name = engine.url.render_as_string(hide_password=True)
    if "alembic_version" not in tables:
        raise BizenvError(f"the warehouse {name} is not initialised: run `bizenv init-db` first")
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        raise BizenvError(
            f"the warehouse {name} is at revision {current}, this version of bizenv works on {head}: "
            "run `bizenv init-db` to migrate it"
            + (" (or use the bizenv version that migrated it)" if current and head and current > head else "")
        )


def head_revision(engine: Engine) -> str | None:
    """The latest revision of the migrations shipped with this code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
