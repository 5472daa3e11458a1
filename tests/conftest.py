"""Shared fixtures: a migrated warehouse on SQLite and on a real PostgreSQL, and data builders.

PostgreSQL tests use BIZENV_TEST_PG_URL (default: the local server, database `test`), each in a
schema of its own. Unreachable → skipped, unless BIZENV_REQUIRE_PG=1 (CI), where that fails.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("BIZENV_SALT", "test-salt-not-secret")
# Every evaluation would print report.pdf with Chromium (seconds each): only the tests about the
# PDF turn it back on (tests/reporting.py's demo, tests/unit/report/test_pdf.py).
os.environ["BIZENV_CHROMIUM"] = "off"

# Airflow reads its configuration once, at first import: point it at a session-wide home
# before anything imports it, so DAG tests never touch ~/airflow or the demo's var/airflow.
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="bizenv-test-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
)

PG_URL = os.environ.get("BIZENV_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("BIZENV_REQUIRE_PG") == "1"
_pg_state: dict[str, object] = {}


def _pg_reachable() -> str | None:
    """None when reachable, else why not (checked once per session)."""
    if "error" not in _pg_state:
        try:
            engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
            engine.dispose()
            _pg_state["error"] = None
        except Exception as exc:  # any failure to connect means: no server for these tests
            _pg_state["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return _pg_state["error"]  # type: ignore[return-value]


@contextmanager
def pg_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards (skipped, or failed
    under BIZENV_REQUIRE_PG=1, when no server answers)."""
    error = _pg_reachable()
    if error:
        message = f"PostgreSQL at {PG_URL} unreachable ({error})"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.pg)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def evaluated_demo(tmp_path_factory: pytest.TempPathFactory):
    """Two demo half-years loaded and evaluated on SQLite (about 8 s, once per session): its
    published folders and the `PeriodReport` of 2026H1. Tests read it; none may change it."""
    from tests.reporting import evaluate_demo

    return evaluate_demo(tmp_path_factory.mktemp("evaluated-demo"))


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[sa.Engine]:
    """A migrated, empty warehouse."""
    from bizenv.warehouse.engine import make_engine, migrate

    engine = make_engine(warehouse_url)
    migrate(engine)
    yield engine
    engine.dispose()


def on_postgres(report: pytest.TestReport) -> bool:
    """A test that ran on PostgreSQL: marked `pg` (the `warehouse_url` param carries the mark,
    whatever other params join its id into `postgres-...`)."""
    return "pg" in report.keywords or "postgres" in report.keywords


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    passed = [r for r in terminalreporter.stats.get("passed", []) if on_postgres(r)]
    failed = [r for r in terminalreporter.stats.get("failed", []) if on_postgres(r)]
    terminalreporter.write_line(f"PostgreSQL tests run: {len(passed) + len(failed)} ({len(passed)} passed)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not REQUIRE_PG or session.config.option.collectonly or hasattr(session.config, "workerinput"):
        return  # (an xdist worker: the controller, which gets every report, checks)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    ran = [
        r
        for outcome in ("passed", "failed")
        for r in (reporter.stats.get(outcome, []) if reporter else [])
        if on_postgres(r)
    ]
    if not ran:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line("BIZENV_REQUIRE_PG=1 but no PostgreSQL test ran", red=True)
