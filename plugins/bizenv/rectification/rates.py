"""How each unit has dealt with its problems: raised, solved on time, solved late, open and
overdue, and the rates the programme reports ("431 problems, 239 solved") and the next
evaluation counts (`rectification_rate` in indicators.yaml).

One definition for every use: the follow-up report, the indicator and `bizenv problems list`
all read their figures from `unit_rates`.

- A problem is **solved** when its status is one the policy calls settled (`rectification.
  settled`: the unit reported it done, or the office verified it) and it was solved by `as_of`.
  A reopened problem is not. (Statuses are the register's current ones; only the day a problem
  was solved is compared with `as_of`, so a period's figures do not grow with later work.)
- It was solved **on time** when the day it was solved is on or before its deadline. That day is
  the completion date the unit gave (`completed_on`), else the city day it was marked resolved
  (`resolved_at`); a solved problem with neither counts as late, never silently as on time.
- An unsolved problem is **overdue** when its deadline is before `as_of`.
- `closure_rate` = solved / raised, `on_time_rate` = solved on time / raised, and
  `rectification_rate` = 100 × their mean: a problem solved on time counts in full, one solved
  late half, one still open nothing.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from bizenv.schemas.models import Policy

RATE_COLUMNS = [
    "unit_code",
    "raised",
    "solved",
    "solved_on_time",
    "solved_late",
    "open",
    "overdue",
    "closure_rate",
    "on_time_rate",
    "rectification_rate",
]
COUNTS = ["raised", "solved", "solved_on_time", "solved_late", "open", "overdue"]
RATES = ["closure_rate", "on_time_rate", "rectification_rate"]


def solved_day(problems: pd.DataFrame) -> pd.Series:
    """The day each problem was solved (NaT when it is not): the unit's completion date, else
    the city day of `resolved_at`."""
    from bizenv.rectification.register import CITY_TIMEZONE

    # A naive time (SQLite's) is UTC, as `register.city_day` reads it.
    resolved = pd.to_datetime(problems["resolved_at"], utc=True).dt.tz_convert(CITY_TIMEZONE)
    resolved_day = resolved.dt.tz_localize(None).dt.normalize()
    return pd.to_datetime(problems["completed_on"]).fillna(resolved_day)


def problem_outcomes(problems: pd.DataFrame, as_of: date, policy: Policy) -> pd.DataFrame:
    """`problems` (the register's columns) with boolean columns `solved`, `solved_on_time`,
    `solved_late`, `open`, `overdue` and the `solved_on` day."""
    day = solved_day(problems)
    settled = (
        problems["status"].isin(policy.rectification.settled) & ~(day > pd.Timestamp(as_of))
    ).to_numpy()
    deadline = pd.to_datetime(problems["deadline"])
    on_time = settled & (day <= deadline).to_numpy()
    return problems.assign(
        solved=settled,
        solved_on_time=on_time,
        solved_late=settled & ~on_time,
        open=~settled,
        overdue=~settled & (deadline < pd.Timestamp(as_of)).to_numpy(),
        solved_on=day.where(settled),
    )


def unit_rates(problems: pd.DataFrame, as_of: date, policy: Policy) -> pd.DataFrame:
    """One row per lead unit with problems (`RATE_COLUMNS`), by unit code. Rates are shares
    (0-1); `rectification_rate` is on the 0-100 scale the indicator uses."""
    if problems.empty:
        return pd.DataFrame(columns=RATE_COLUMNS)
    outcomes = problem_outcomes(problems, as_of, policy)
    counts = (
        outcomes.assign(raised=True)[["unit_code", *COUNTS]]
        .groupby("unit_code", sort=True)
        .sum()
        .astype(np.int64)
        .reset_index()
    )
    return with_rates(counts)[RATE_COLUMNS]


def with_rates(counts: pd.DataFrame) -> pd.DataFrame:
    """`counts` (the `COUNTS` columns) with the three rates."""
    raised = counts["raised"].where(counts["raised"] > 0)
    closure = counts["solved"] / raised
    on_time = counts["solved_on_time"] / raised
    return counts.assign(
        closure_rate=closure, on_time_rate=on_time, rectification_rate=100 * (closure + on_time) / 2
    )


def city_total(rates: pd.DataFrame) -> pd.Series:
    """The city's figures: every unit's counts added up, and the rates of the sums."""
    counts = rates[COUNTS].sum().astype(np.int64).to_frame().T
    return with_rates(counts).iloc[0]
