from datetime import UTC, date, datetime

import pandas as pd
import pytest

from bizenv.rectification.rates import RATE_COLUMNS, city_total, unit_rates
from bizenv.schemas import load_policy

POLICY = load_policy()
AS_OF = date(2026, 3, 1)


def problem(unit: str, status: str, deadline: str, completed_on=None, resolved_at=None) -> dict:
    return {
        "problem_id": f"P-{unit}-{status}-{deadline}",
        "unit_code": unit,
        "status": status,
        "deadline": date.fromisoformat(deadline),
        "completed_on": date.fromisoformat(completed_on) if completed_on else None,
        "resolved_at": resolved_at,
    }


def rates(*rows: dict) -> pd.DataFrame:
    return unit_rates(pd.DataFrame(rows), AS_OF, POLICY).set_index("unit_code")


def test_on_time_late_open_and_overdue_by_hand():
    r = rates(
        problem("a", "verified", "2026-01-31", completed_on="2026-01-31"),  # on time (the day itself)
        problem("a", "resolved", "2026-01-31", completed_on="2026-02-01"),  # late
        problem("a", "in_progress", "2026-02-28"),  # open, overdue on 2026-03-01
        problem("a", "assigned", "2026-03-01"),  # open, due today: not overdue
    ).loc["a"]
    assert r[["raised", "solved", "solved_on_time", "solved_late", "open", "overdue"]].tolist() == [
        4,
        2,
        1,
        1,
        2,
        1,
    ]
    assert r["closure_rate"] == 0.5 and r["on_time_rate"] == 0.25
    assert r["rectification_rate"] == pytest.approx(37.5)  # (1 + 0.5 + 0 + 0) / 4


def test_a_problem_solved_after_as_of_is_still_open_then():
    r = rates(problem("a", "verified", "2026-04-30", completed_on="2026-03-02")).loc["a"]
    assert (r["solved"], r["open"], r["overdue"]) == (0, 1, 0)


def test_a_reopened_problem_is_not_solved():
    r = rates(problem("a", "reopened", "2026-04-01", completed_on="2026-01-10")).loc["a"]
    assert (r["solved"], r["open"], r["rectification_rate"]) == (0, 1, 0)


def test_without_a_completion_date_the_city_day_of_resolution_counts():
    # 2026-01-31 17:00 UTC is 2026-02-01 01:00 in the city: one day late.
    late = datetime(2026, 1, 31, 17, 0, tzinfo=UTC)
    early = datetime(2026, 1, 31, 15, 0, tzinfo=UTC)
    r = rates(
        problem("a", "resolved", "2026-01-31", resolved_at=late),
        problem("b", "resolved", "2026-01-31", resolved_at=early),
    )
    assert r.loc["a", "solved_late"] == 1 and r.loc["b", "solved_on_time"] == 1


def test_a_solved_problem_without_any_date_counts_as_late():
    r = rates(problem("a", "verified", "2026-01-31")).loc["a"]
    assert (r["solved_on_time"], r["solved_late"]) == (0, 1)


def test_city_total_is_the_sum_with_rates_of_the_sums():
    r = unit_rates(
        pd.DataFrame(
            [
                problem("a", "verified", "2026-01-31", completed_on="2026-01-02"),
                problem("b", "open", "2026-01-31"),
                problem("b", "open", "2026-05-31"),
            ]
        ),
        AS_OF,
        POLICY,
    )
    total = city_total(r)
    assert total[["raised", "solved", "overdue"]].tolist() == [3, 1, 1]
    assert total["closure_rate"] == pytest.approx(1 / 3)


def test_no_problems_no_rows():
    assert (
        unit_rates(pd.DataFrame(columns=["unit_code", "status"]), AS_OF, POLICY).columns.tolist()
        == RATE_COLUMNS
    )
