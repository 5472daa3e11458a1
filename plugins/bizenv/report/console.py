"""A plain-text digest of a rankings.csv: the top and bottom of each group."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, cast

import pandas as pd


class _Row(Protocol):
    """A rankings.csv row as the digest reads it (cast from `itertuples()`, whose attributes
    pandas-stubs types as the union of all pandas scalars)."""

    unit_name: str
    n_respondents: int
    rank: float
    rank_ci_low: float
    rank_ci_high: float
    composite_score: float
    satisfaction_index: float
    satisfaction_ci_low: float
    satisfaction_ci_high: float
    indicator_score: float


def ranking_digest(rankings_csv: Path | str, show: int = 3) -> str:
    frame = pd.read_csv(rankings_csv, dtype={"ranked": "str"})
    ranked = frame[frame["ranked"] == "true"].sort_values(["group", "rank", "unit_code"])
    lines = [f"rankings: {rankings_csv}"]
    for group, units in ranked.groupby("group", sort=True):
        lines.append(f"[{group}] {len(units)} ranked")
        picks = units if len(units) <= 2 * show else pd.concat([units.head(show), units.tail(show)])
        for i, row in enumerate(cast(Iterator[_Row], picks.itertuples())):
            if len(units) > 2 * show and i == show:
                lines.append("   ...")
            satisfaction = (
                f"satisfaction {row.satisfaction_index:.1f} [{row.satisfaction_ci_low:.1f}-{row.satisfaction_ci_high:.1f}]"
                if pd.notna(row.satisfaction_index)
                else "satisfaction -"
            )
            indicators = (
                f"indicators {row.indicator_score:.1f}" if pd.notna(row.indicator_score) else "indicators -"
            )
            lines.append(
                f"  {int(row.rank):>3}  {row.unit_name}  composite {row.composite_score:.2f}  "
                f"({satisfaction}, n={row.n_respondents}; {indicators}; rank {int(row.rank_ci_low)}-{int(row.rank_ci_high)})"
            )
    unranked = frame[frame["ranked"] != "true"]
    if not unranked.empty:
        lines.append(
            "not ranked (sample below minimum): "
            + ", ".join(
                f"{r.unit_name} (n={r.n_respondents})" for r in cast(Iterator[_Row], unranked.itertuples())
            )
        )
    return "\n".join(lines)
