"""The survey_ingest DAG run for real through Airflow (dag.test): each inbox file its own task."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bizenv.warehouse import tables as t
from tests.builders import survey_row, unit_sample, write_survey

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def test_survey_ingest_loads_good_files_and_fails_only_the_bad_ones(
    airflow_db, warehouse, tmp_path, monkeypatch
):
    from airflow.dag_processing.dagbag import DagBag

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
