"""The semiannual DAG run for real through Airflow (dag.test) on a SQLite warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from bizenv.ingest.survey_batch import load_survey
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import make_engine, migrate
from tests.builders import unit_sample, write_survey

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dag(airflow_db):  # noqa: ANN001
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags" / "semiannual_evaluation.py")).dags["semiannual_evaluation"]


@pytest.fixture
def warehouse(tmp_path, monkeypatch):  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("BIZENV_DATABASE_URL", url)
    monkeypatch.setenv("BIZENV_OUTPUT_DIR", str(tmp_path / "output"))
    engine = make_engine(url)
    migrate(engine)
    return engine


def test_scheduled_run_for_january_evaluates_the_first_half(dag, warehouse, tmp_path):
    rows = unit_sample("市发改委", 31, "满意") + unit_sample("公安局", 31, "一般", start=100)
    load_survey(warehouse, write_survey(tmp_path / "s.csv", rows), "2026H1")

    run = dag.test(logical_date=datetime(2026, 1, 1, tzinfo=UTC))

    assert run.state == "success"
    with warehouse.connect() as conn:
        periods = conn.execute(select(t.rankings.c.period, func.count()).group_by(t.rankings.c.period)).all()
    assert periods == [("2026H1", 35)]
    rankings = pd.read_csv(tmp_path / "output" / "2026H1" / "rankings.csv").set_index("unit_code")
    assert rankings.loc["ndrc", "rank"] == 1 and rankings.loc["public_security", "rank"] == 2


def test_a_period_without_data_fails_at_once_without_retrying(dag, warehouse):
    run = dag.test(logical_date=datetime(2027, 1, 1, tzinfo=UTC))

    assert run.state == "failed"
    states = {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}
    assert states["check_inputs"] == ("failed", 1)
    assert states["evaluate"][0] == "upstream_failed"


def test_survey_ingest_loads_good_files_and_fails_only_the_bad_ones(
    airflow_db, warehouse, tmp_path, monkeypatch
):
    from airflow.dag_processing.dagbag import DagBag

    from tests.builders import survey_row

    monkeypatch.setenv("BIZENV_LANDING_DIR", str(tmp_path / "landing"))
    inbox = tmp_path / "landing" / "inbox" / "2026H1"
    inbox.mkdir(parents=True)
    write_survey(inbox / "good.csv", unit_sample("市发改委", 5, "满意"))
    write_survey(inbox / "refused.csv", [survey_row(respondent=90 + i, unit="市教育局") for i in range(3)])
    dag = DagBag(dag_folder=str(ROOT / "dags" / "survey_ingest.py")).dags["survey_ingest"]

    run = dag.test(logical_date=datetime(2026, 7, 2, tzinfo=UTC), run_conf={"min_file_age_seconds": 0})

    assert run.state == "failed"
    states = sorted(ti.state for ti in run.get_task_instances() if ti.task_id == "load_file")
    assert states == ["failed", "success"]
    assert [p.name.split(".")[0] for p in (tmp_path / "landing" / "archive" / "2026H1").iterdir()] == ["good"]
    rejected = sorted(p.name for p in (tmp_path / "landing" / "rejected" / "2026H1").iterdir())
    assert len(rejected) == 2 and rejected[1].endswith(".errors.csv")
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.survey_responses)).scalar_one() == 5
