"""Warehouse URL, period and output folder as seen from inside a task."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bizenv.config import PROJECT_ROOT, default_database_url
from bizenv.errors import BizenvError
from bizenv.periods import Period

CONNECTION_ID = "bizenv_warehouse"
CITY_TIMEZONE = ZoneInfo("Asia/Shanghai")
log = logging.getLogger(__name__)


def sqlalchemy_url_from_connection(
    conn_type: str,
    host: str | None,
    login: str | None,
    password: str | None,
    port: int | None,
    schema: str | None,
    extra: dict,
) -> str:
    """An Airflow connection's fields as a SQLAlchemy URL (postgres via psycopg 3, or sqlite)."""
    from sqlalchemy import URL

    if extra.get("sqlalchemy_url"):
        return extra["sqlalchemy_url"]
    if conn_type in {"postgres", "postgresql"}:
        url = URL.create(
            "postgresql+psycopg",
            username=login or None,
            password=password or None,
            host=host or None,
            port=port or None,
            database=schema or None,
        )
        return url.render_as_string(hide_password=False)
    if conn_type == "sqlite":
        return f"sqlite:///{host}"
    raise ValueError(f"connection {CONNECTION_ID!r} has type {conn_type!r}; use postgres or sqlite")


def warehouse_url() -> str:
    """BIZENV_DATABASE_URL, else the `bizenv_warehouse` connection, else the SQLite default."""
    if os.environ.get("BIZENV_DATABASE_URL"):
        return os.environ["BIZENV_DATABASE_URL"]
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(CONNECTION_ID)
    except AirflowNotFoundException:
        log.info("no %s connection: using %s", CONNECTION_ID, default_database_url())
        return default_database_url()
    return sqlalchemy_url_from_connection(
        conn.conn_type, conn.host, conn.login, conn.password, conn.port, conn.schema, conn.extra_dejson
    )


def period_for_run(logical_date: datetime | None, override: str | None) -> Period:
    """The half-year a run evaluates: the `period` param if given, else the one its logical date
    (the start of its data interval) falls in, read in the city's time zone."""
    if override:
        return Period.parse(override)
    if logical_date is None:
        raise ValueError("a run without a logical date needs the `period` param (e.g. 2026H1)")
    return Period.containing(logical_date.astimezone(CITY_TIMEZONE))


def output_root() -> Path:
    """`$BIZENV_OUTPUT_DIR`, else `var/output` in the project: the folder the DAGs publish into."""
    return Path(os.environ.get("BIZENV_OUTPUT_DIR", PROJECT_ROOT / "var" / "output"))


def output_dir(period: Period) -> Path:
    return output_root() / period.label


@contextmanager
def fail_fast_on_bad_data() -> Iterator[None]:
    """Bad or missing data will not fix itself on retry: fail the task at once, with the one-line
    message as the reason (retries stay for infrastructure errors such as a lost connection)."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except BizenvError as exc:
        raise AirflowFailException(str(exc)) from None


def inbox_files(landing_root: Path, min_age_seconds: float, kind: str = "survey") -> list[dict]:
    """The inbox files the ingest run loads, oldest first; every entry it leaves in place
    (hidden and temporary files, folders inside a period folder) is logged as a warning with
    why, so a file that is not loaded is seen in the task log rather than ignored."""
    from bizenv.ingest.inbox import Landing, scan_inbox

    scan = scan_inbox(Landing(landing_root, kind), min_age_seconds)
    for item in scan.skipped:
        log.warning("left in the inbox, not loaded: %s: %s", item["path"], item["why"])
    log.info("%d file(s) to load, %d left in place", len(scan.ready), len(scan.skipped))
    return scan.ready


def ingest_inbox_file(kind: str, item: dict) -> dict:
    """One mapped ingest task: load the file, move it to archive/ or rejected/, and fail the task
    (no retry: the file will not fix itself) when it was rejected or refused, naming its errors
    file. A lost warehouse connection raises as itself, and is retried."""
    from airflow.sdk.exceptions import AirflowFailException

    from bizenv.config import landing_dir
    from bizenv.ingest.inbox import Landing, process_file
    from bizenv.warehouse.engine import make_engine, migrate

    if kind == "survey":
        with fail_fast_on_bad_data():
            require_salt()
    engine = make_engine(warehouse_url())
    migrate(engine)
    summary = process_file(engine, Landing(landing_dir(), kind), item["path"], item["period"])
    log.info("%s: %s", item["path"], summary)
    if summary["status"] in {"rejected", "refused"}:
        name = Path(item["path"]).name
        raise AirflowFailException(
            f"{name} {summary['status']}: {summary['message']} (see {summary['errors']})"
        )
    return summary


SALT_VARIABLE = "bizenv_salt"


def require_salt() -> None:
    """Inside Airflow the salt must be configuration shared by every worker: BIZENV_SALT or the
    `bizenv_salt` Variable. (The CLI's fallback, a salt file under var/, would differ per worker
    and break duplicate detection across batches.)"""
    if os.environ.get("BIZENV_SALT"):
        return
    from airflow.sdk import Variable

    salt = Variable.get(SALT_VARIABLE, default=None)
    if not salt:
        raise BizenvError(
            f"no salt for respondent identities: set the {SALT_VARIABLE} Variable or BIZENV_SALT on every worker"
        )
    os.environ["BIZENV_SALT"] = salt
