"""The metrics_ingest DAG run for real through Airflow (dag.test): each metrics file its own task."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from bizenv.warehouse import tables as t

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def test_metrics_ingest_loads_good_files_and_fails_only_the_bad_ones(
    airflow_db, warehouse, tmp_path, monkeypatch
):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("BIZENV_LANDING_DIR", str(tmp_path / "landing"))
    inbox = tmp_path / "landing" / "metrics" / "inbox" / "2026H1"
    inbox.mkdir(parents=True)
    columns = ["unit", "indicator", "value", "source"]
    pd.DataFrame([("供电公司", "electricity_connection_days", "12", "国网统计")], columns=columns).to_csv(
        inbox / "good.csv", index=False
    )
    (inbox / "notes.txt").write_text("not a metrics file", encoding="utf-8")
    dag = DagBag(dag_folder=str(ROOT / "dags" / "metrics_ingest.py")).dags["metrics_ingest"]

    run = dag.test(logical_date=datetime(2026, 7, 2, tzinfo=UTC), run_conf={"min_file_age_seconds": 0})

    assert run.state == "failed"
    states = sorted(ti.state for ti in run.get_task_instances() if ti.task_id == "load_file")
    assert states == ["failed", "success"]
    landing = tmp_path / "landing" / "metrics"
    assert [p.name.split(".")[0] for p in (landing / "archive" / "2026H1").iterdir()] == ["good"]
    rejected = sorted(p.name for p in (landing / "rejected" / "2026H1").iterdir())
    assert len(rejected) == 2 and rejected[1].endswith(".errors.txt")
    with warehouse.connect() as conn:
        assert conn.execute(select(t.department_metrics.c.value)).scalars().all() == [12.0]
