"""The problem register on SQLite and PostgreSQL: creation, dedup across periods, transitions,
and one history row per change with its actor and via."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from bizenv.rectification import Refused, create_problems, transition
from bizenv.rectification.register import read_problems
from bizenv.warehouse import tables as t

NOW = datetime(2026, 7, 10, 2, 0, tzinfo=UTC)  # 10 July 2026, 10:00 in the city


def proposal(**overrides) -> dict:
    row = {
        "period": "2026H1",
        "unit_code": "ndrc",
        "source": "comment",
        "theme": "审批时限",
        "description": "项目审批超过承诺时限",
        "evidence": {"comments": 7, "quotes": ["审批拖了两个月,联系人张三 13812345678"]},
        "co_units": ["housing", "ndrc"],
    }
    return row | overrides


def create(engine, rows, at=NOW, actor="tester", via="test"):
    with engine.begin() as conn:
        return create_problems(conn, pd.DataFrame(rows), actor, via, now=at)


def history(engine, problem_id=None) -> pd.DataFrame:
    h = t.problem_history
    statement = select(h).order_by(h.c.id)
    if problem_id:
        statement = statement.where(h.c.problem_id == problem_id)
    with engine.connect() as conn:
        return pd.DataFrame([dict(r) for r in conn.execute(statement).mappings()])


def problems(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_problems(conn).set_index("problem_id")


def test_created_problems_get_period_numbered_ids_deadlines_by_kind_and_masked_evidence(engine):
    ids = create(
        engine,
        [proposal(), proposal(unit_code="tax", theme="服务态度", kind="complex", co_units="ndrc, tax")],
    )
    assert ids == ["P2026H1-0001", "P2026H1-0002"]
    found = problems(engine)
    first, second = found.loc["P2026H1-0001"], found.loc["P2026H1-0002"]
    assert (first["status"], first["supervision"], first["recurrence_count"]) == ("open", "none", 0)
    assert first["deadline"] == date(2026, 7, 10) + timedelta(days=30)
    assert second["deadline"] == date(2026, 7, 10) + timedelta(days=60)
    assert json.loads(first["co_units"]) == ["housing"]  # the lead unit is not its own co-unit
    assert json.loads(second["co_units"]) == ["ndrc"]
    evidence = json.loads(first["evidence"])
    assert evidence["comments"] == 7
    assert "13812345678" not in first["evidence"] and "张三" not in first["evidence"]
    created = history(engine)
    assert list(created["field"]) == ["created", "created"]
    assert set(created["actor"]) == {"tester"} and set(created["via"]) == {"test"}


def test_a_problem_raised_again_in_a_later_period_recurs_instead_of_being_created_again(engine):
    [first] = create(engine, [proposal()])
    assert create(engine, [proposal()]) == [first]  # the same period again changes nothing
    assert len(history(engine)) == 1
    [again] = create(engine, [proposal(period="2026H2")], at=NOW + timedelta(days=180))
    assert again == first
    found = problems(engine)
    assert len(found) == 1
    assert found.loc[first, "recurrence_count"] == 1
    assert found.loc[first, "last_seen_period"] == "2026H2"
    changes = history(engine, first)
    assert list(zip(changes["field"], changes["old_value"], changes["new_value"], strict=True))[1:] == [
        ("recurrence_count", "0", "1"),
        ("last_seen_period", "2026H1", "2026H2"),
    ]
    # another source or theme of the same unit is another problem
    other = create(engine, [proposal(source="low_score"), proposal(theme="服务态度")])
    assert len(set(other) | {first}) == 3


def test_a_problem_raised_again_after_verification_is_a_new_problem_linked_to_it(engine):
    [first] = create(engine, [proposal()])
    with engine.begin() as conn:
        transition(conn, first, "resolved", "unit", "test", NOW)
        transition(conn, first, "verified", "office", "test", NOW)
    assert create(engine, [proposal()]) == [first]  # its own period: already accounted for
    [second] = create(engine, [proposal(period="2026H2")], at=NOW + timedelta(days=180))
    assert second == "P2026H2-0001"
    found = problems(engine)
    assert found.loc[second, "previous_problem_id"] == first
    assert found.loc[second, "recurrence_count"] == 1
    assert found.loc[second, "status"] == "open"
    assert json.loads(history(engine, second)["new_value"].iloc[0])["previous_problem_id"] == first


def test_proposals_of_one_key_over_several_periods_in_one_frame_are_one_problem(engine):
    ids = create(engine, [proposal(period="2026H2"), proposal(period="2026H1"), proposal(theme="其他")])
    assert ids[0] == ids[1] != ids[2]
    found = problems(engine).loc[ids[0]]
    assert (found["period"], found["last_seen_period"], found["recurrence_count"]) == ("2026H1", "2026H2", 1)


@pytest.mark.parametrize(
    "bad",
    [
        {"unit_code": "nowhere"},
        {"source": "rumour"},
        {"kind": "eternal"},
        {"theme": " "},
        {"period": "2026Q1"},
    ],
)
def test_a_proposal_the_register_cannot_hold_is_refused_with_its_row_and_nothing_written(engine, bad):
    from bizenv.errors import BizenvError

    with pytest.raises(BizenvError, match="row 1|period"):
        create(engine, [proposal(), proposal(**bad)])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.problems)).scalar_one() == 0


def test_transitions_follow_the_policy_and_write_one_history_row_per_changed_field(engine):
    [pid] = create(engine, [proposal()])
    with engine.begin() as conn:
        transition(conn, pid, "in_progress", "unit", "test", NOW)
    with engine.begin() as conn, pytest.raises(Refused, match="in_progress: it cannot become verified"):
        transition(conn, pid, "verified", "office", "test", NOW)
    later = NOW + timedelta(days=3)
    with engine.begin() as conn:
        transition(conn, pid, "resolved", "unit", "test", later)
        transition(conn, pid, "reopened", "office", "bizenv problems verify", later, note="没有真正解决")
    found = problems(engine).loc[pid]
    assert found["status"] == "reopened"
    assert pd.isna(found["resolved_at"])
    assert found["deadline"] == date(2026, 7, 13) + timedelta(days=30)
    changes = history(engine, pid)
    assert list(changes["field"]) == [
        "created", "status", "status", "resolved_at", "status", "resolved_at", "deadline", "note",
    ]  # fmt: skip
    assert changes["actor"].tolist()[-4:] == ["office"] * 4
    assert changes["new_value"].iloc[-1] == "没有真正解决"
    with engine.begin() as conn:
        transition(conn, pid, "resolved", "unit", "test", later)
        transition(conn, pid, "verified", "office", "test", later)
    with engine.begin() as conn, pytest.raises(Refused, match="none: it is final"):
        transition(conn, pid, "reopened", "office", "test", later)
