from datetime import UTC, datetime

import pytest

from bizenv.airflow_support.runtime import period_for_run, sqlalchemy_url_from_connection, warehouse_url


def test_scheduled_run_evaluates_the_half_year_its_interval_starts_in():
    # 02:00 on 1 January in Shanghai is still 31 December in UTC.
    assert period_for_run(datetime(2025, 12, 31, 18, 0, tzinfo=UTC), None).label == "2026H1"
    assert period_for_run(datetime(2026, 7, 1, 0, 0, tzinfo=UTC), None).label == "2026H2"


def test_period_param_overrides_the_logical_date():
    assert period_for_run(datetime(2026, 7, 1, tzinfo=UTC), "2025H1").label == "2025H1"


def test_postgres_connection_becomes_a_psycopg_url():
    url = sqlalchemy_url_from_connection("postgres", "db.internal", "bizenv", "p@ss", 5432, "warehouse", {})
    assert url == "postgresql+psycopg://bizenv:p%40ss@db.internal:5432/warehouse"


def test_unsupported_connection_type_is_refused():
    with pytest.raises(ValueError, match="use postgres or sqlite"):
        sqlalchemy_url_from_connection("mysql", "h", None, None, None, None, {})


def test_environment_url_wins(monkeypatch):
    monkeypatch.setenv("BIZENV_DATABASE_URL", "sqlite:////tmp/x.sqlite")
    assert warehouse_url() == "sqlite:////tmp/x.sqlite"
