"""The problem register counts in the next evaluation, on SQLite and PostgreSQL: the rectification
rate of the problems raised in the period before is an indicator in the composite, and a problem
unresolved after its second supervision raises RECTIFICATION_OVERDUE."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from sqlalchemy import select

from bizenv.cli import main
from bizenv.rectification import create_problems, transition
from bizenv.rectification.escalation import escalate
from bizenv.warehouse import tables as t
from tests.builders import load_rows, unit_sample

CREATED = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)  # 10 January in the city: deadline 9 February


def problems(engine, *rows: tuple[str, str]) -> list[str]:
    frame = pd.DataFrame(
        [
            {
                "period": "2025H2",
                "unit_code": unit,
                "source": "comment",
                "theme": theme,
                "description": "企业反映",
            }
            for unit, theme in rows
        ]
    )
    with engine.begin() as conn:
        return create_problems(conn, frame, "office", "test", now=CREATED)


def resolve(engine, problem_id: str, completed: date) -> None:
    with engine.begin() as conn:
        conn.execute(
            t.problems.update().where(t.problems.c.problem_id == problem_id).values(completed_on=completed)
        )
        transition(conn, problem_id, "resolved", "unit", "test", CREATED)


def evaluate(engine, warehouse_url, tmp_path, capsys) -> None:
    rows = unit_sample("市发改委", 30, "满意") + unit_sample("税务局", 30, "一般", start=100)
    rows += unit_sample("住建局", 30, "满意", start=200)
    load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)
    assert (
        main(["evaluate", "--period", "2026H1", "--out", str(tmp_path / "out"), "--db", warehouse_url]) == 0
    )
    capsys.readouterr()


@pytest.fixture
def register(engine):
    on_time, still_open, late, overdue = problems(
        engine, ("ndrc", "审批时限"), ("ndrc", "跑动次数"), ("tax", "政策兑现"), ("housing", "吃拿卡要")
    )
    resolve(engine, on_time, date(2026, 2, 9))  # on its deadline
    resolve(engine, late, date(2026, 3, 1))
    for day in (date(2026, 2, 10), date(2026, 2, 24)):  # first, then second supervision
        with engine.begin() as conn:
            escalate(conn, day, now=datetime.combine(day, datetime.min.time(), UTC))
    return {"on_time": on_time, "open": still_open, "late": late, "overdue": overdue}


def test_the_rectification_rate_of_the_period_before_enters_the_composite(
    engine, warehouse_url, tmp_path, capsys, register
):
    evaluate(engine, warehouse_url, tmp_path, capsys)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                t.indicator_scores.c.unit_code,
                t.indicator_scores.c.value,
                t.indicator_scores.c.frontier_score,
            )
            .where(t.indicator_scores.c.period == "2026H1")
            .where(t.indicator_scores.c.indicator == "rectification_rate")
        ).all()
        ranked = dict(
            conn.execute(
                select(t.rankings.c.unit_code, t.rankings.c.indicator_score).where(
                    t.rankings.c.period == "2026H1"
                )
            ).all()
        )
    by_unit = {unit: (value, score) for unit, value, score in rows}
    # ndrc: one of two on time (1 + 0) / 2 → 50; tax: solved late → ½ → 50; housing: open → 0.
    assert by_unit == {
        "ndrc": (pytest.approx(50.0), pytest.approx(50.0)),
        "tax": (pytest.approx(50.0), pytest.approx(50.0)),
        "housing": (pytest.approx(0.0), pytest.approx(0.0)),
    }
    # No other metrics were loaded: the units' indicator score is this indicator's score.
    assert ranked["ndrc"] == pytest.approx(50.0) and ranked["housing"] == pytest.approx(0.0)


def test_a_problem_unresolved_after_second_supervision_flags_its_unit_with_its_dates(
    engine, warehouse_url, tmp_path, capsys, register
):
    evaluate(engine, warehouse_url, tmp_path, capsys)
    flags = pd.read_csv(tmp_path / "out" / "flags.csv")
    overdue = flags[flags["flag"] == "RECTIFICATION_OVERDUE"]
    # Both open problems were past their deadline and supervised twice; tax's was resolved late.
    assert sorted(overdue["unit_code"]) == ["housing", "ndrc"]
    reason = overdue.set_index("unit_code").loc["housing", "reason"]
    assert register["overdue"] in reason and "吃拿卡要" in reason
    assert "2026-02-09" in reason and "2026-02-10" in reason and "2026-02-24" in reason


def test_a_metrics_file_cannot_carry_the_computed_indicator(engine, warehouse_url, tmp_path, capsys):
    path = tmp_path / "m.csv"
    pd.DataFrame(
        [("市发改委", "rectification_rate", "99", "x")], columns=["unit", "indicator", "value", "source"]
    ).to_csv(path, index=False)
    main(["load-metrics", str(path), "--period", "2026H1", "--db", warehouse_url])
    out = capsys.readouterr().out
    assert '"computed_indicator": 1' in out
