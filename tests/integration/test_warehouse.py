from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import current_revision, migrate

CORE_TABLES = {
    "units",
    "periods",
    "survey_batches",
    "survey_responses",
    "response_items",
    "quarantined_rows",
    "validation_results",
    "metric_batches",
    "department_metrics",
    "unit_scores",
    "rankings",
    "flags",
    "pipeline_runs",
    "indicator_scores",
    "city_indicators",
    "reliability",
}


def test_migration_creates_every_core_table(engine):
    assert set(inspect(engine).get_table_names()) >= CORE_TABLES


def test_migrations_match_the_table_definitions(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diff == []


def test_migrate_is_idempotent(engine):
    before = current_revision(engine)
    migrate(engine)
    assert current_revision(engine) == before == "0006"
    with engine.connect() as conn:
        assert conn.execute(select(t.units)).all() == []


def test_every_migration_downgrades_and_upgrades_again(engine):
    from alembic import command

    from bizenv.warehouse.engine import alembic_config

    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert set(inspect(engine).get_table_names()) >= CORE_TABLES
    assert "unit_trend" in inspect(engine).get_view_names()
