"""A plain-text digest of a rankings.csv: the top and bottom of each group."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def ranking_digest(rankings_csv: Path | str, show: int = 3) -> str:
    frame = pd.read_csv(rankings_csv, dtype={"ranked": "str"})
    ranked = frame[frame["ranked"] == "true"].sort_values(["group", "rank", "unit_code"])
    lines = [f"rankings: {rankings_csv}"]
    for group, units in ranked.groupby("group", sort=True):
        lines.append(f"[{group}] {len(units)} ranked")
        picks = units if len(units) <= 2 * show else pd.concat([units.head(show), units.tail(show)])
        for i, row in enumerate(picks.itertuples()):
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
            + ", ".join(f"{r.unit_name} (n={r.n_respondents})" for r in unranked.itertuples())
        )
    return "\n".join(lines)
