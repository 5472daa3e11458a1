"""The fieldwork_monitor DAG run for real through Airflow (dag.test): the open periods of the
logical date, each one's files, and the alerts it sends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import update

from bizenv.ingest.survey_batch import load_survey
from bizenv.warehouse import tables as t
from tests.builders import survey_row, write_survey

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.airflow, pytest.mark.slow]


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str]]:
    """What the DAG asked the alert connections to deliver."""
    messages: list[tuple[str, str]] = []

    def notify(subject: str, text: str) -> list[str]:
        messages.append((subject, text))
        return ["recorded"]

    monkeypatch.setattr("bizenv.airflow_support.alerts.notify", notify)
    return messages


def test_a_day_in_the_grace_days_monitors_both_open_periods_and_alerts(airflow_db, warehouse, sent, tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    rows = [survey_row(respondent=i, submitted_at="2026-04-15T10:00:00") for i in range(31)]
    load_survey(warehouse, write_survey(tmp_path / "s.csv", rows), "2026H1")
    with warehouse.begin() as conn:
        conn.execute(update(t.survey_batches).values(loaded_at=datetime(2026, 7, 6, 2, tzinfo=UTC)))
    dag = DagBag(dag_folder=str(ROOT / "dags" / "fieldwork_monitor.py")).dags["fieldwork_monitor"]

    # 07:00 on 10 July in the city: 2026H1 is in its grace days (until 14 August), 2026H2 has begun.
    run = dag.test(logical_date=datetime(2026, 7, 9, 23, tzinfo=UTC))

    assert run.state == "success"
    monitored = sorted(ti.map_index for ti in run.get_task_instances() if ti.task_id == "monitor")
    assert monitored == [0, 1]
    first = pd.read_csv(tmp_path / "output" / "2026H1" / "fieldwork" / "fieldwork.csv", encoding="utf-8-sig")
    ndrc = first.set_index("unit_code").loc["ndrc"]
    # Day 191 of 226: 31 × 226 / 191 = 36.7, over the minimum of 30, under the target of 60.
    assert (ndrc["as_of"], ndrc["days_elapsed"], ndrc["days_left"]) == ("2026-07-10", 191, 35)
    assert (ndrc["respondents"], ndrc["projected"], ndrc["status"]) == (31, 36.7, "at_risk")
    assert (tmp_path / "output" / "2026H2" / "fieldwork" / "fieldwork.html").exists()

    subjects = sorted(subject for subject, _ in sent)
    assert subjects == [
        "bizenv: 2026H1 fieldwork: 34 unit(s) will miss the minimum, 1 at risk",
        "bizenv: 2026H2 fieldwork quiet for 10 day(s)",
        "bizenv: 2026H2 fieldwork: 35 unit(s) will miss the minimum, 0 at risk",
    ]
    texts = dict(sent)
    assert "- 市发改委 (ndrc) at risk: 31 so far, projected 36.7" in texts[subjects[0]]
    assert (
        "No survey batch for 2026H2 has been accepted since fieldwork began on 2026-07-01"
        in texts[subjects[1]]
    )
