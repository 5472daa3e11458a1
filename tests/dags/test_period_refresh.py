"""The period_refresh DAG run for real through Airflow (dag.test): a late batch gets its period
evaluated again, where it was published."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bizenv.evaluate import evaluate_period
from bizenv.warehouse import tables as t
from tests.builders import load_rows, unit_sample

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def test_a_batch_accepted_after_the_evaluation_gets_its_period_evaluated_again(
    airflow_db, warehouse, tmp_path, capsys
):
    from airflow.dag_processing.dagbag import DagBag

    url = warehouse.url.render_as_string(hide_password=False)
    rows = unit_sample("市发改委", 30, "满意") + unit_sample("税务局", 30, "一般", start=100)
    assert load_rows(capsys, tmp_path / "s1.csv", rows, url)[0] == 0
    published = tmp_path / "published"
    evaluate_period(warehouse, "2026H1", published)
    assert (
        load_rows(capsys, tmp_path / "late.csv", unit_sample("税务局", 5, "非常满意", start=500), url)[0] == 0
    )
    dag = DagBag(dag_folder=str(ROOT / "dags" / "period_refresh.py")).dags["period_refresh"]

    run = dag.test(logical_date=datetime(2026, 7, 20, tzinfo=UTC))

    assert run.state == "success"
    r = t.pipeline_runs
    with warehouse.connect() as conn:
        runs = conn.execute(
            select(r.c.status, r.c.out_dir).where(r.c.command == "evaluate").order_by(r.c.id)
        ).all()
    assert [status for status, _ in runs] == ["done", "done"]
    assert runs[1].out_dir == str(published.resolve())
    assert "税务局" in (published / "rankings.csv").read_text(encoding="utf-8")
