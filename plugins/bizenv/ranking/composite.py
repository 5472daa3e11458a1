"""The composite of satisfaction and department metrics, on a common scale.

Satisfaction indices of real departments lie a few points apart (SD ≈ 5), metric scores spread
over the whole 0-100 frontier range (SD ≈ 25). Weighted raw, 0.6 / 0.4 would leave satisfaction
a few percent of the composite's variance and let the metrics alone decide the bottom five. So
each part is normalised within the comparison group and level, over the units ranked there,
before the policy's weights apply (OECD/JRC Handbook on Constructing Composite Indicators, 2008,
section 5):

    zscore:  z = (x − mean) / sd          composite shown as 50 + 10 × Σ w z (50 = group average)
    minmax:  m = 100 (x − min) / (max − min)   composite Σ w m (0 = the group's worst, 100 its best)
    none:    the raw 0-100 parts            composite Σ w x

A unit with one part is scored on that part alone, normalised like everyone's, so it stands on
the same scale as the units with both. Each part's effective share of the composite's variance
in a group is w_k cov(X_k, C) / var(C) over the units with both parts (the shares sum to 1; for
independent standardised parts they are w_k² / Σ w²). Parts that are negatively correlated
cancel each other, and a share can then exceed 1: the parts' correlation is reported beside the
shares so the reader can tell.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bizenv.schemas.models import Policy

PARTS = {"satisfaction": "satisfaction_index", "indicators": "indicator_score"}
SHARE_COLUMNS = [
    "group_code",
    "level",
    "normalisation",
    "n_units",
    "weight_satisfaction",
    "weight_indicators",
    "share_satisfaction",
    "share_indicators",
    "correlation",
]


def normalise(values: np.ndarray, method: str, axis: int = -1) -> np.ndarray:
    """Normalise along `axis` (the units of one group), ignoring NaN. A part on which every unit
    is equal carries no information about their order: it becomes 0 (zscore) or 50 (minmax)."""
    if method == "none":
        return values
    # A unit without the part is NaN; a group where nobody has it is all-NaN, and stays so.
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "zscore":
            centre = np.nanmean(values, axis=axis, keepdims=True)
            spread = np.nanstd(values, axis=axis, keepdims=True)
            return np.where(spread > 0, (values - centre) / spread, np.where(np.isnan(values), np.nan, 0.0))
        low = np.nanmin(values, axis=axis, keepdims=True)
        high = np.nanmax(values, axis=axis, keepdims=True)
        span = high - low
        return np.where(span > 0, (values - low) / span * 100.0, np.where(np.isnan(values), np.nan, 50.0))


def combine(
    satisfaction: np.ndarray, indicators: np.ndarray, w_satisfaction: np.ndarray | float
) -> np.ndarray:
    """Σ w × part over the parts a unit has; a unit with one part gets that part."""
    both = w_satisfaction * satisfaction + (1 - w_satisfaction) * indicators
    return np.where(np.isnan(satisfaction), indicators, np.where(np.isnan(indicators), satisfaction, both))


def display_scale(values: np.ndarray, method: str) -> np.ndarray:
    """z-based composites are shown as 50 + 10 z (the T-score convention), clipped to 0-100."""
    return np.clip(50.0 + 10.0 * values, 0.0, 100.0) if method == "zscore" else values


def composite(frame: pd.DataFrame, policy: Policy, by: list[str]) -> pd.DataFrame:
    """Adds `composite_score`, `composite_basis`, `satisfaction_normalised` and
    `indicators_normalised`.

    In: `satisfaction_index`, `indicator_score` (NaN where the unit has not that part, or must not
    use it), and the `by` columns. Every row with a part takes part in its group's normalisation:
    pass only the rows that are to be ranked.
    """
    method = policy.composite.normalisation
    w_sat = policy.composite_weights.satisfaction
    out = frame.copy()
    for part, column in PARTS.items():
        out[f"{part}_normalised"] = np.nan
        for _, group in out.groupby(by, sort=False):
            values = group[column].to_numpy(dtype=float)
            out.loc[group.index, f"{part}_normalised"] = normalise(values, method)
    score = combine(
        out["satisfaction_normalised"].to_numpy(dtype=float),
        out["indicators_normalised"].to_numpy(dtype=float),
        w_sat,
    )
    has_sat, has_ind = out["satisfaction_index"].notna(), out["indicator_score"].notna()
    out["composite_score"] = display_scale(score, method)
    out["composite_basis"] = np.select(
        [has_sat & has_ind, has_sat, has_ind],
        ["both", "satisfaction_only", "indicators_only"],
        default="none",
    )
    return out


def effective_shares(scored: pd.DataFrame, policy: Policy, by: list[str]) -> pd.DataFrame:
    """Per group: each part's share of the composite's variance over the units with both parts
    (NaN with fewer than 3 such units, where a variance says nothing)."""
    w_sat = policy.composite_weights.satisfaction
    rows = []
    for key, group in scored.groupby(by, sort=True):
        both = group[group["composite_basis"] == "both"]
        row = dict(zip(by, key, strict=True)) | {
            "normalisation": policy.composite.normalisation,
            "n_units": len(both),
            "weight_satisfaction": w_sat,
            "weight_indicators": 1 - w_sat,
            "share_satisfaction": np.nan,
            "share_indicators": np.nan,
            "correlation": np.nan,
        }
        if len(both) >= 3:
            s = both["satisfaction_normalised"].to_numpy(dtype=float)
            i = both["indicators_normalised"].to_numpy(dtype=float)
            c = w_sat * s + (1 - w_sat) * i
            total = np.var(c)
            if np.std(s) > 0 and np.std(i) > 0:
                row["correlation"] = float(np.corrcoef(s, i)[0, 1])
            if total > 0:
                row["share_satisfaction"] = float(w_sat * np.cov(s, c, bias=True)[0, 1] / total)
                row["share_indicators"] = float((1 - w_sat) * np.cov(i, c, bias=True)[0, 1] / total)
        rows.append(row)
    return pd.DataFrame(rows, columns=SHARE_COLUMNS)
