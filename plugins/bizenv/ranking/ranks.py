"""Ranks within comparison groups; 1 is best, ties share the best rank.

The published rank is the point rank of the composite (the seed rule: the bottom five by rank).
How sure that rank is comes from `ranking.uncertainty`.
"""

from __future__ import annotations

import pandas as pd


def rank_in_groups(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """Rank of `composite_score` among `ranked` rows of each group (min method: ties share)."""
    # Rounded so that equal scores summed in a different order still tie.
    ranked = frame["composite_score"].where(frame["ranked"]).round(9)
    ranks = ranked.groupby([frame[c] for c in by]).rank(method="min", ascending=False)
    return ranks.astype("Int64")
