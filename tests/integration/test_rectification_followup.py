"""The weekly follow-up over simulated weeks, on SQLite and PostgreSQL: problems registered,
some solved through a returned workbook or a transition, the others supervised first → second →
accountability on the policy's days by Monday runs; the digests name each step, and the report's
figures are `rates.unit_rates`' every week."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from bizenv.rectification import create_problems, transition
from bizenv.rectification.escalation import escalate
from bizenv.rectification.followup import followup_report, moves_on, unit_digests, write_followup
from bizenv.rectification.rates import city_total, unit_rates
from bizenv.rectification.register import city_day, read_problems
from bizenv.rectification.workbook import export_workbooks, import_workbook
from bizenv.schemas import load_policy, load_registry

POLICY = load_policy()
REGISTRY = load_registry()
# 10 July in the city (a Friday): ordinary problems are due 9 August, complex ones 8 September.
CREATED = datetime(2026, 7, 10, 2, tzinfo=UTC)
LATER = datetime(2026, 9, 1, 2, tzinfo=UTC)  # a problem registered on 1 September: due 1 October
MONDAYS = [date(2026, 8, 3) + timedelta(weeks=n) for n in range(11)]  # 3 August … 12 October


def at(day: date) -> datetime:
    """09:00 in the city (01:00 UTC) on `day`: when the Monday run takes its steps."""
    return datetime.combine(day, time(1, 0), UTC)


def register(engine) -> dict[str, str]:
    rows = [
        ("stays_open", "ndrc", "审批时限", "ordinary"),
        ("workbook_on_time", "ndrc", "服务态度", "ordinary"),
        ("solved_late", "tax", "跑动次数", "ordinary"),
        ("complex", "housing", "政策兑现", "complex"),
    ]
    frame = pd.DataFrame(
        [
            {
                "period": "2026H1",
                "unit_code": u,
                "source": "comment",
                "theme": th,
                "description": "企业反映",
                "kind": k,
            }
            for _, u, th, k in rows
        ]
    )
    with engine.begin() as conn:
        ids = create_problems(conn, frame, "office", "test", now=CREATED)
    return dict(zip([name for name, *_ in rows], ids, strict=True))


def return_workbook(engine, tmp_path: Path, problem_id: str) -> None:
    """ndrc's workbook, exported on 11 July and returned on 5 August with one problem done on 1 August."""
    with engine.begin() as conn:
        summary = export_workbooks(
            conn, "2026H1", tmp_path / "out", unit="ndrc", actor="office", now=CREATED + timedelta(days=1)
        )
    path = Path(summary["workbooks"][0]["file"])
    book = load_workbook(path)
    sheet = book["整改台账"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == problem_id)
    for column, value in (
        ("单位反馈", "已压缩办理时限"),
        ("申报状态", "已整改"),
        ("完成日期", date(2026, 8, 1)),
    ):
        sheet.cell(row, header.index(column) + 1).value = value
    book.save(path)
    result = import_workbook(engine, path, "ndrc-office", now=datetime(2026, 8, 5, 2, tzinfo=UTC))
    assert (result["accepted"], result["quarantined"], result["changed"]) == (2, 0, 1)


def test_weekly_follow_up_supervises_on_the_policys_days_and_reports_unit_rates(engine, tmp_path):
    # The dates below are worked by hand from the policy's supervision days.
    days = POLICY.rectification.supervision.model_dump()
    assert list(days.values()) == [1, 14, 14]
    p = register(engine)
    events = {
        date(2026, 8, 5): lambda: return_workbook(engine, tmp_path, p["workbook_on_time"]),
        date(2026, 8, 20): lambda: resolve(engine, p["solved_late"], datetime(2026, 8, 20, 2, tzinfo=UTC)),
        date(2026, 9, 1): lambda: p.update(later=register_later(engine)),
    }
    moves_by_week: dict[date, list[tuple[str, str]]] = {}
    digests_by_week: dict[date, dict[str, tuple[str, str]]] = {}
    for monday in MONDAYS:
        for day in sorted(d for d in events if monday - timedelta(days=7) < d <= monday):
            events[day]()
        with engine.begin() as conn:
            taken = escalate(
                conn, monday, POLICY, "airflow", via="rectification_followup test", now=at(monday)
            )
        with engine.connect() as conn:
            report = followup_report(conn, monday, POLICY, REGISTRY)
            registered = read_problems(conn)
        moves = moves_on(report.problems, monday)
        assert sorted(moves["problem_id"]) == sorted(taken["problem_id"])  # what escalate just did
        moves_by_week[monday] = sorted(zip(moves["problem_id"], moves["supervision_to"], strict=True))
        digests_by_week[monday] = unit_digests(report, moves)

        # The report's figures are unit_rates' of the problems registered by that day.
        known = registered[registered["created_at"].map(city_day) <= monday]
        expected = unit_rates(known, monday, POLICY)
        pd.testing.assert_frame_equal(report.units.drop(columns="unit_name"), expected)
        pd.testing.assert_series_equal(report.total, city_total(expected))

    # Deadlines: ordinary 9 August (a Sunday), complex 8 September (a Tuesday), the later one
    # 1 October (a Thursday). First supervision the day after, on the next Monday run; each later
    # step 14 days after the step before, counted from the day it was taken.
    assert {day: moved for day, moved in moves_by_week.items() if moved} == {
        date(2026, 8, 10): sorted([(p["stays_open"], "first"), (p["solved_late"], "first")]),
        date(2026, 8, 24): [(p["stays_open"], "second")],
        date(2026, 9, 7): [(p["stays_open"], "accountability")],
        date(2026, 9, 14): [(p["complex"], "first")],  # due 9 September, a Wednesday
        date(2026, 9, 28): [(p["complex"], "second")],
        date(2026, 10, 5): [(p["later"], "first")],  # due 2 October, a Friday
        date(2026, 10, 12): [(p["complex"], "accountability")],
    }

    # The digests: one per unit with open problems, naming the steps just taken.
    first_week = digests_by_week[date(2026, 8, 10)]
    assert sorted(first_week) == ["housing", "ndrc", "tax"]
    assert (
        f"- {p['stays_open']} 审批时限: 一次督办 first supervision, 整改时限 deadline 2026-08-09"
        in first_week["ndrc"][1]
    )
    assert f"- {p['solved_late']} 跑动次数: 一次督办 first supervision" in first_week["tax"][1]
    assert "超期问题 Overdue: 0" in first_week["housing"][1]
    assert sorted(digests_by_week[date(2026, 8, 24)]) == [
        "housing",
        "ndrc",
    ]  # tax solved its problem on 20 August
    accountability = digests_by_week[date(2026, 9, 7)]["ndrc"][1]
    assert (
        f"- {p['stays_open']} 审批时限: 问责 accountability, 整改时限 deadline 2026-08-09, 超期 29 天"
        in accountability
    )
    assert (
        f"- {p['stays_open']} 审批时限: 整改时限 deadline 2026-08-09, 超期 29 天 days overdue, 问责 accountability "
        "(一次督办 2026-08-10, 二次督办 2026-08-24, 问责 2026-09-07)"
    ) in accountability
    due_soon = digests_by_week[date(2026, 9, 28)]["ndrc"][1]
    assert f"- {p['later']} 信息公开: 整改时限 deadline 2026-10-01 (还有 3 天 days left)" in due_soon
    assert "本次督办 Supervision steps taken today: 0" in due_soon

    # The last week's figures, worked by hand.
    with engine.connect() as conn:
        report = followup_report(conn, MONDAYS[-1], POLICY, REGISTRY)
    units = report.units.set_index("unit_code")
    counts = ["raised", "solved", "solved_on_time", "solved_late", "open", "overdue"]
    assert units.loc["ndrc", counts].tolist() == [3, 1, 1, 0, 2, 2]
    assert units.loc["tax", counts].tolist() == [1, 1, 0, 1, 0, 0]
    assert units.loc["housing", counts].tolist() == [1, 0, 0, 0, 1, 1]
    assert (
        report.line_zh() == "共登记问题 5 个,已整改 2 个(按期 1 个,逾期整改 1 个),未整改 3 个,其中超期 3 个"
    )
    levels = report.supervision.set_index("problem_id")
    assert levels["supervision"].to_dict() == {
        p["stays_open"]: "accountability",
        p["complex"]: "accountability",
        p["later"]: "first",
    }
    assert levels.loc[p["complex"], ["first_on", "second_on", "accountability_on"]].tolist() == [
        date(2026, 9, 14), date(2026, 9, 28), date(2026, 10, 12),
    ]  # fmt: skip

    write_followup(tmp_path / "report", report)
    page = (tmp_path / "report" / "rectification.html").read_text(encoding="utf-8")
    assert report.line_zh() in page
    assert page.index(p["stays_open"]) < page.index('id="level-first"') < page.index(p["later"])


def resolve(engine, problem_id: str, at_: datetime) -> None:
    with engine.begin() as conn:
        transition(conn, problem_id, "resolved", "tax-office", "test", at_)


def register_later(engine) -> str:
    frame = pd.DataFrame(
        [
            {
                "period": "2026H1",
                "unit_code": "ndrc",
                "source": "comment",
                "theme": "信息公开",
                "description": "企业反映",
            }
        ]
    )
    with engine.begin() as conn:
        [problem_id] = create_problems(conn, frame, "office", "test", now=LATER)
    return problem_id


def test_a_problem_registered_after_the_day_is_not_counted(engine):
    register(engine)
    later = register_later(engine)
    with engine.connect() as conn:
        before = followup_report(conn, date(2026, 8, 31), POLICY, REGISTRY)
        on_the_day = followup_report(conn, date(2026, 9, 1), POLICY, REGISTRY)
    assert later not in set(before.problems["problem_id"]) and before.counts()["raised"] == 4
    assert later in set(on_the_day.problems["problem_id"]) and on_the_day.counts()["raised"] == 5
