import pandas as pd
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
    "questionnaire_items",
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


def test_migration_creates_every_core_table_and_view(engine):
    assert set(inspect(engine).get_table_names()) >= CORE_TABLES
    assert set(inspect(engine).get_view_names()) >= {"response_items", "unit_trend"}


def test_migrations_match_the_table_definitions(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diff == []


def test_migrate_is_idempotent(engine):
    before = current_revision(engine)
    migrate(engine)
    assert current_revision(engine) == before == "0008"
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


def test_item_answers_survive_the_move_into_arrays_and_back(engine, warehouse_url, tmp_path, capsys):
    """0007 moves `response_items` rows into `survey_responses.answers`/`scores`; its downgrade
    moves them back: the long rows and the scores evaluation reads are the same either way."""
    from alembic import command

    from bizenv.evaluation.inputs import read_period_responses
    from bizenv.periods import Period
    from bizenv.schemas import load_questionnaire
    from bizenv.warehouse.engine import alembic_config
    from tests.builders import LABELS, load_rows, survey_row, unit_sample

    rows = unit_sample("市发改委", 12, "满意") + [
        survey_row(respondent=50, **{LABELS[0]: "不了解", LABELS[1]: "", LABELS[2]: "5"}),
        survey_row(respondent=51, unit="税务局", comment='引号"和\\反斜杠'),
    ]
    assert load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)[0] == 0

    def long_rows():
        items = t.response_items
        with engine.connect() as conn:
            found = conn.execute(select(items).order_by(items.c.response_id, items.c.item_code)).all()
        return [
            (r.response_id, r.item_code, r.answer, None if r.score is None else float(r.score)) for r in found
        ]

    def wide_scores():
        with engine.connect() as conn:
            return read_period_responses(conn, Period.parse("2026H1"), load_questionnaire())

    before, scores = long_rows(), wide_scores()
    assert len(before) == 14 * 10 - 1  # the blank answer is no row
    assert ("不了解", None) in [(answer, score) for _, _, answer, score in before]
    command.downgrade(alembic_config(engine), "0006")
    assert long_rows() == before
    migrate(engine)
    assert long_rows() == before
    pd.testing.assert_frame_equal(wide_scores(), scores)


def test_a_warehouse_below_the_latest_revision_is_refused_with_the_command_that_migrates_it(
    engine, warehouse_url, capsys
):
    from alembic import command

    from bizenv.warehouse.engine import alembic_config
    from tests.builders import run_cli

    command.downgrade(alembic_config(engine), "0006")
    code, summary, err = run_cli(capsys, "evaluate", "--period", "2026H1", "--db", warehouse_url)
    assert code == 2
    assert "is at revision 0006, this version of bizenv works on 0008: run `bizenv init-db`" in err
    assert run_cli(capsys, "init-db", "--db", warehouse_url)[0] == 0
    assert current_revision(engine) == "0008"


def test_a_batch_written_in_blocks_stores_the_same_rows_as_in_one(
    engine, warehouse_url, tmp_path, capsys, monkeypatch
):
    """`write_responses` encodes and writes a batch block by block: with blocks of 4 rows the
    stored responses (ids, batch, period, answers, scores, comments) are those of one block."""
    from bizenv.ingest import survey_batch
    from tests.builders import LABELS, run_cli, survey_row, unit_sample, write_survey

    rows = unit_sample("市发改委", 9, "满意") + [
        survey_row(respondent=50, **{LABELS[0]: "不了解", LABELS[1]: "", LABELS[2]: "5"}),
        survey_row(respondent=51, unit="税务局", comment='引号"和\\反斜杠'),
    ]

    def stored(block: int, trailing_blank_lines: int) -> pd.DataFrame:
        monkeypatch.setattr(survey_batch, "WRITE_BLOCK", block)
        path = write_survey(tmp_path / f"s{block}.csv", rows)
        # Other bytes, the same rows: the second load is not taken for the first batch again.
        path.write_text(path.read_text(encoding="utf-8") + "\n" * trailing_blank_lines, encoding="utf-8")
        assert run_cli(capsys, "load-survey", str(path), "--period", "2026H1", "--db", warehouse_url)[0] == 0
        r = t.survey_responses
        with engine.begin() as conn:
            found = pd.DataFrame(conn.execute(select(r).order_by(r.c.response_id)).mappings().all())
            conn.execute(r.delete())
        return found.drop(columns=["batch_id"]).assign(
            response_id=lambda f: f["response_id"] - f["response_id"].min()
        )

    in_blocks, at_once = stored(4, 0), stored(1_000, 1)
    assert len(in_blocks) == 11
    assert in_blocks["answers"].iloc[-2].startswith('["不了解",null,"5"')
    pd.testing.assert_frame_equal(in_blocks, at_once)


def test_a_period_read_in_blocks_is_the_period_read_at_once(
    engine, warehouse_url, tmp_path, capsys, monkeypatch
):
    """`fetch_frame` turns the driver's rows into columns block by block: blocks of 2 rows give
    the same responses frame as one block."""
    from bizenv.evaluation.inputs import read_period_responses
    from bizenv.periods import Period
    from bizenv.schemas import load_questionnaire
    from bizenv.warehouse import reads
    from tests.builders import LABELS, load_rows, survey_row, unit_sample

    rows = unit_sample("市发改委", 6, "满意") + [survey_row(respondent=50, **{LABELS[0]: "", LABELS[2]: "5"})]
    assert load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)[0] == 0

    def read() -> pd.DataFrame:
        with engine.connect() as conn:
            return read_period_responses(conn, Period.parse("2026H1"), load_questionnaire())

    at_once = read()
    monkeypatch.setattr(reads, "FETCH_BLOCK", 2)
    in_blocks = read()
    assert len(in_blocks) == 7
    pd.testing.assert_frame_equal(in_blocks, at_once)
