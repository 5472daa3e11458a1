"""The semiannual DAG run for real through Airflow (dag.test) on a SQLite warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from bizenv.ingest.survey_batch import load_survey
from bizenv.warehouse import tables as t
from tests.builders import unit_sample, write_survey

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.airflow, pytest.mark.slow]


@pytest.fixture
def dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags" / "semiannual_evaluation.py")).dags["semiannual_evaluation"]


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
