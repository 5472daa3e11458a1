"""Supervision of overdue problems over simulated weeks, on SQLite and PostgreSQL: first,
second and accountability on the policy's days, idempotent per day, settled problems left."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import select

from bizenv.rectification import create_problems, transition
from bizenv.rectification.escalation import escalate
from bizenv.rectification.register import read_problems
from bizenv.schemas import load_policy
from bizenv.warehouse import tables as t

CREATED = datetime(2026, 7, 10, 2, 0, tzinfo=UTC)  # 10 July in the city


def register(engine, *units_and_kinds):
    frame = pd.DataFrame(
        [
            {
                "period": "2026H1",
                "unit_code": unit,
                "source": "comment",
                "theme": "审批时限",
                "description": "慢",
                "kind": kind,
            }
            for unit, kind in units_and_kinds
        ]
    )
    with engine.begin() as conn:
        return create_problems(conn, frame, "tester", "test", now=CREATED)


def run(engine, day: date) -> pd.DataFrame:
    with engine.begin() as conn:
        return escalate(conn, day, actor="scheduler", now=datetime.combine(day, datetime.min.time(), UTC))


def test_overdue_problems_are_supervised_on_the_policys_days_one_step_at_a_time(engine):
    steps = load_policy().rectification.supervision
    ordinary, complex_, resolved = register(
        engine, ("ndrc", "ordinary"), ("tax", "complex"), ("housing", "ordinary")
    )
    deadline = date(2026, 7, 10) + timedelta(days=30)
    with engine.begin() as conn:
        transition(conn, resolved, "resolved", "unit", "test", CREATED)

    moves: dict[tuple[str, str], date] = {}
    day = date(2026, 7, 10)
    while day <= date(2026, 12, 31):  # every day of the half-year, as a daily run would
        for move in run(engine, day).to_dict("records"):
            moves[(move["problem_id"], move["supervision_to"])] = day
        day += timedelta(days=1)

    first = deadline + timedelta(days=steps.first_after_deadline_days)
    second = first + timedelta(days=steps.second_after_first_days)
    accountability = second + timedelta(days=steps.accountability_after_second_days)
    assert {k: v for k, v in moves.items() if k[0] == ordinary} == {
        (ordinary, "first"): first,
        (ordinary, "second"): second,
        (ordinary, "accountability"): accountability,
    }
    assert moves[(complex_, "first")] == date(2026, 7, 10) + timedelta(
        days=60 + steps.first_after_deadline_days
    )
    assert not any(k[0] == resolved for k in moves)

    with engine.connect() as conn:
        found = read_problems(conn).set_index("problem_id")
        h = t.problem_history
        history = pd.DataFrame(
            [
                dict(r)
                for r in conn.execute(select(h).where(h.c.problem_id == ordinary).order_by(h.c.id)).mappings()
            ]
        )
    assert found.loc[ordinary, "supervision"] == "accountability"
    assert found.loc[ordinary, "supervised_on"] == accountability
    assert found.loc[resolved, "supervision"] == "none"
    steps_taken = history[history["field"] == "supervision"]
    assert list(zip(steps_taken["old_value"], steps_taken["new_value"], strict=True)) == [
        ("none", "first"), ("first", "second"), ("second", "accountability"),
    ]  # fmt: skip
    assert set(history.loc[history["field"] != "created", "actor"]) == {"scheduler"}
    assert set(history.loc[history["field"] != "created", "via"]) == {"bizenv problems escalate"}


def test_escalation_is_idempotent_for_a_day_and_a_weekly_run_takes_one_step_per_run(engine):
    [pid] = register(engine, ("ndrc", "ordinary"))
    late = date(2026, 12, 1)  # far past every step: still one step per run
    assert run(engine, late)["supervision_to"].tolist() == ["first"]
    assert run(engine, late).empty
    with engine.connect() as conn:
        count = len(conn.execute(select(t.problem_history.c.id)).all())
    assert count == 1 + 2  # created; supervision and supervised_on
    assert run(engine, late + timedelta(days=7)).empty  # the second step waits its 14 days
    assert run(engine, late + timedelta(days=14))["supervision_to"].tolist() == ["second"]


def test_a_reopened_problem_waits_for_its_new_deadline_before_the_next_step(engine):
    [pid] = register(engine, ("ndrc", "ordinary"))
    first_day = date(2026, 8, 10)
    assert run(engine, first_day)["supervision_to"].tolist() == ["first"]
    reopened_at = datetime(2026, 8, 12, 2, tzinfo=UTC)
    with engine.begin() as conn:
        transition(conn, pid, "resolved", "unit", "test", reopened_at)
        transition(conn, pid, "reopened", "office", "test", reopened_at)
    new_deadline = date(2026, 8, 12) + timedelta(days=30)
    assert run(engine, new_deadline).empty
    assert run(engine, new_deadline + timedelta(days=1))["supervision_to"].tolist() == ["second"]
