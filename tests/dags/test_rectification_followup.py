"""The rectification_followup DAG run for real through Airflow (dag.test): the day's supervision
steps, the report folder, one digest per unit with open problems; the same day again takes no
step twice and sends the same digests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from bizenv.rectification import create_problems, transition
from bizenv.rectification.register import read_problems
from bizenv.warehouse import tables as t

ROOT = Path(__file__).resolve().parents[2]
CREATED = datetime(2026, 7, 10, 2, tzinfo=UTC)  # 10 July in the city: ordinary deadline 9 August
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


def test_a_monday_supervises_the_overdue_problems_writes_the_report_and_a_digest_per_unit(
    airflow_db, warehouse, sent, tmp_path
):
    from airflow.dag_processing.dagbag import DagBag

    rows = [
        {
            "period": "2026H1",
            "unit_code": unit,
            "source": "comment",
            "theme": theme,
            "description": "企业反映",
        }
        for unit, theme in [
            ("ndrc", "审批时限"),
            ("ndrc", "服务态度"),
            ("tax", "跑动次数"),
            ("housing", "政策兑现"),
        ]
    ]
    with warehouse.begin() as conn:
        overdue, solved, other, settled = create_problems(
            conn, pd.DataFrame(rows), "office", "test", now=CREATED
        )
        transition(conn, solved, "resolved", "unit", "test", datetime(2026, 8, 1, 2, tzinfo=UTC))
        transition(conn, settled, "resolved", "unit", "test", datetime(2026, 8, 1, 2, tzinfo=UTC))
    dag = DagBag(dag_folder=str(ROOT / "dags" / "rectification_followup.py")).dags["rectification_followup"]

    # Monday 10 August, 09:00 in the city: the day after the deadline, the first supervision.
    run = dag.test(logical_date=datetime(2026, 8, 10, 1, tzinfo=UTC))

    assert run.state == "success"
    with warehouse.connect() as conn:
        problems = read_problems(conn).set_index("problem_id")
        h = t.problem_history
        via = set(conn.execute(select(h.c.via).where(h.c.field == "supervision")).scalars())
    assert problems.loc[[overdue, other], "supervision"].tolist() == ["first", "first"]
    assert problems.loc[[overdue, other], "supervised_on"].tolist() == [date(2026, 8, 10)] * 2
    assert problems.loc[[solved, settled], "supervision"].tolist() == ["none", "none"]
    assert len(via) == 1 and next(iter(via)).startswith("rectification_followup ")

    folder = tmp_path / "output" / "rectification"
    assert sorted(p.name for p in folder.iterdir()) == ["rectification.html", "rectification.xlsx"]
    assert [p.name for p in folder.parent.iterdir()] == ["rectification"]  # no staging left behind
    page = (folder / "rectification.html").read_text(encoding="utf-8")
    assert "共登记问题 4 个,已整改 2 个(按期 2 个,逾期整改 0 个),未整改 2 个,其中超期 2 个" in page
    assert overdue in page and other in page

    digests = dict(sent)
    assert sorted(digests) == [
        "bizenv: 整改台账 市发改委 (ndrc) 截至 2026-08-10: 未整改 1 个, 超期 1 个 / 1 open, 1 overdue",
        "bizenv: 整改台账 税务局 (tax) 截至 2026-08-10: 未整改 1 个, 超期 1 个 / 1 open, 1 overdue",
    ]
    ndrc = next(text for subject, text in sent if "(ndrc)" in subject)
    assert "本次督办 Supervision steps taken today: 1" in ndrc
    assert (
        f"- {overdue} 审批时限: 一次督办 first supervision, 整改时限 deadline 2026-08-09, 超期 1 天" in ndrc
    )

    # The same day again (a cleared run): no step taken twice, the same digests.
    first = list(sent)
    sent.clear()
    again = dag.test(logical_date=datetime(2026, 8, 10, 1, tzinfo=UTC), run_after=datetime.now(UTC))
    assert again.state == "success"
    with warehouse.connect() as conn:
        steps = conn.execute(select(h.c.id).where(h.c.field == "supervision")).all()
    assert len(steps) == 2
    assert sent == first
