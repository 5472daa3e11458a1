"""Earlier periods as the flag rules need them, read from the warehouse."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, and_, select

from bizenv.periods import Period
from bizenv.warehouse import tables as t
from bizenv.warehouse.reads import fetch_frame

HISTORY_COLUMNS = [
    "period", "unit_code", "group_code", "level", "ranked", "rank", "group_ranked",
    "composite_score", "n_respondents", "satisfaction_index", "satisfaction_se", "satisfaction_ci_low",
    "satisfaction_ci_high", "rank_ci_low", "rank_ci_high", "p_bottom_n", "flags",
]  # fmt: skip


def stored_rankings(conn: Connection, periods: list[str]) -> pd.DataFrame:
    """Rankings of `periods` with the satisfaction SE, ranked-group sizes and each unit's flags."""
    r, s, f = t.rankings, t.unit_scores, t.flags
    rankings = fetch_frame(
        conn,
        select(
            r.c.period, r.c.unit_code, r.c.group_code, r.c.level, r.c.ranked, r.c.rank, r.c.composite_score,
            r.c.n_respondents, r.c.satisfaction_index, r.c.satisfaction_ci_low, r.c.satisfaction_ci_high,
            r.c.rank_ci_low, r.c.rank_ci_high, r.c.p_bottom_n, s.c.std_error.label("satisfaction_se"),
        )
        .outerjoin(s, and_(s.c.period == r.c.period, s.c.unit_code == r.c.unit_code, s.c.dimension == "overall"))
        .where(r.c.period.in_(periods)),
    )  # fmt: skip
    if rankings.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    rankings["ranked"] = rankings["ranked"].astype(bool)
    rankings["group_ranked"] = rankings.groupby(["period", "group_code", "level"])["ranked"].transform("sum")
    flags = fetch_frame(conn, select(f.c.period, f.c.unit_code, f.c.flag).where(f.c.period.in_(periods)))
    by_unit = flags.groupby(["period", "unit_code"])["flag"].agg(frozenset)
    rankings["flags"] = [
        by_unit.get((p, u), frozenset())
        for p, u in zip(rankings["period"], rankings["unit_code"], strict=True)
    ]
    return rankings[HISTORY_COLUMNS]


def read_history(conn: Connection, period: Period, depth: int) -> pd.DataFrame:
    """The `depth` periods before `period`, most recent first in meaning (order not relied on)."""
    labels, current = [], period
    for _ in range(depth):
        current = current.previous()
        labels.append(current.label)
    return stored_rankings(conn, labels)


def later_periods(conn: Connection, period: Period) -> list[Period]:
    """Evaluated periods after `period`, in order: their look-back flags depend on it."""
    labels = conn.execute(select(t.rankings.c.period).distinct()).scalars().all()
    return sorted(p for p in map(Period.parse, labels) if p > period)
