"""The covariance between a unit's index in two periods, from the enterprises that rated it in both.

Many enterprises answer every half year. Their two answers are correlated, so the change in a
unit's index is estimated more precisely than two independent samples would allow:

    Var(Δ) = SE_now² + SE_before² − 2 Cov,   Cov = m / (m − 1) × Σ_i z_i,now × z_i,before

over the enterprises i (by salted key) in the unit's domain in both periods, where
z_i = w_i (y_i − ȳ) / Σw is enterprise i's linearised influence on the unit's weighted mean in
that period (Lumley 2010, ch. 2) and m the number of enterprises in either period. Treating the
enterprise as the sampling unit of both periods, this is the linearisation variance of the
difference; with the same enterprises in both periods and equal weights it is the paired t
statistic's s_d² / n, and with no enterprise in common it is the independent-samples variance.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["unit_code", "n_paired", "covariance"]


def influence(scored: pd.DataFrame) -> pd.DataFrame:
    """`unit_code`, `respondent_hash`, `z` for the complete rows of `respondent_scores` output."""
    rows = scored.loc[
        scored["complete"] & scored["score"].notna(), ["unit_code", "respondent_hash", "weight", "score"]
    ]
    by_unit = rows.groupby("unit_code")
    total = by_unit["weight"].transform("sum")
    mean = (rows["weight"] * rows["score"]).groupby(rows["unit_code"]).transform("sum") / total
    return rows.assign(z=rows["weight"] * (rows["score"] - mean) / total)[
        ["unit_code", "respondent_hash", "z"]
    ]


def overlap_covariance(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Per unit rated by at least one enterprise in both periods: `n_paired` and `covariance`.

    `now`, `before`: each period's `respondent_scores` output with `respondent_hash`."""
    a, b = influence(now), influence(before)
    m = pd.concat([now["respondent_hash"], before["respondent_hash"]]).nunique()
    both = a.merge(b, on=["unit_code", "respondent_hash"], suffixes=("_now", "_before"))
    if both.empty or m < 2:
        return pd.DataFrame(columns=COLUMNS)
    product = both["z_now"] * both["z_before"] * m / (m - 1)
    out = product.groupby(both["unit_code"]).agg(["size", "sum"]).reset_index()
    return out.set_axis(COLUMNS, axis=1)
