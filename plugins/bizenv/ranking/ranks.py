"""Ranks within comparison groups; 1 is best, ties share the best rank.

Rank intervals: each ranked unit's composite is drawn from its sampling distribution (normal,
satisfaction part with its standard error, indicator part fixed), every draw is ranked within
the group, and the 2.5% and 97.5% quantiles of a unit's ranks form its interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from bizenv.schemas.models import Policy


def composite(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Adds `composite_score`, `composite_se` and `composite_basis` from the two parts.

    In: `satisfaction_index`, `satisfaction_se`, `indicator_score`. A unit missing one part is
    scored on the other alone (basis `satisfaction_only` / `indicators_only`).
    """
    w_sat = policy.composite_weights.satisfaction
    w_ind = policy.composite_weights.indicators
    has_sat = frame["satisfaction_index"].notna()
    has_ind = frame["indicator_score"].notna()
    both = has_sat & has_ind
    score = np.select(
        [both, has_sat, has_ind],
        [
            w_sat * frame["satisfaction_index"] + w_ind * frame["indicator_score"],
            frame["satisfaction_index"],
            frame["indicator_score"],
        ],
        default=np.nan,
    )
    se = np.select(
        [both, has_sat],
        [w_sat * frame["satisfaction_se"], frame["satisfaction_se"]],
        default=0.0,
    )
    basis = np.select(
        [both, has_sat, has_ind], ["both", "satisfaction_only", "indicators_only"], default="none"
    )
    return frame.assign(composite_score=score, composite_se=se, composite_basis=basis)


def rank_in_groups(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """Rank of `composite_score` among `ranked` rows of each group (min method: ties share)."""
    # Rounded so that equal scores summed in a different order still tie.
    ranked = frame["composite_score"].where(frame["ranked"]).round(9)
    ranks = ranked.groupby([frame[c] for c in by]).rank(method="min", ascending=False)
    return ranks.astype("Int64")


def rank_intervals(frame: pd.DataFrame, by: list[str], draws: int, seed: int) -> pd.DataFrame:
    """`rank_ci_low` / `rank_ci_high` for ranked rows, by simulation (same inputs → same output)."""
    low = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    high = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    rng = np.random.default_rng(seed)
    ranked = frame[frame["ranked"]].sort_values([*by, "unit_code"])
    for _, group in ranked.groupby(by, sort=True):
        mean = group["composite_score"].to_numpy(dtype=float)
        se = np.nan_to_num(group["composite_se"].to_numpy(dtype=float), nan=0.0)
        simulated = mean + rng.standard_normal((draws, len(group))) * se
        ranks = stats.rankdata(-simulated, method="min", axis=1)
        low[group.index] = np.quantile(ranks, 0.025, axis=0, method="inverted_cdf").astype(int)
        high[group.index] = np.quantile(ranks, 0.975, axis=0, method="inverted_cdf").astype(int)
    return pd.DataFrame({"rank_ci_low": low, "rank_ci_high": high}, index=frame.index)
