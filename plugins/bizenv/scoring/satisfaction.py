"""The satisfaction method of the design, step by step.

1. A k-point answer x becomes (x - 1) / (k - 1) * 100; missing answers stay missing.
2. A respondent's dimension score for a unit is the mean of their answered items in it.
3. Their unit score is the weight-renormalised mean over the dimensions they answered.
4. A respondent who answered fewer than `min_answered_share` of the items does not count
   for that unit (`excluded_incomplete`).
5. The unit index is the weighted mean of respondent scores; its interval is
   mean ± t(1 - α/2, n_eff - 1) × SE, with Kish's n_eff = (Σw)² / Σw² and
   SE = s_w / √n_eff, s_w² = Σw(y - ȳ)² / Σw × n_eff / (n_eff - 1).
   With equal weights this is the ordinary t interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from bizenv.schemas.models import Questionnaire

OVERALL = "overall"


def items_to_percent(points: pd.DataFrame, scale_points: int) -> pd.DataFrame:
    return (points - 1.0) / (scale_points - 1) * 100.0


def respondent_scores(responses: pd.DataFrame, questionnaire: Questionnaire) -> pd.DataFrame:
    """Per response row (respondent × unit): dimension scores, unit score and completeness.

    In:  `unit_code`, `weight` and one column per item code holding scale points (NaN = missing).
    Out: the input's `unit_code` and `weight`, a 0-100 column per dimension code, `score`
         (0-100), `answered_share` and `complete`.
    """
    codes = [item.code for item in questionnaire.items()]
    percent = items_to_percent(responses[codes], questionnaire.scale.points)
    dimension_of = questionnaire.item_dimension()
    dimensions = pd.DataFrame(
        {
            d.code: percent[[i.code for i in d.items]].mean(axis=1, skipna=True)
            for d in questionnaire.dimensions
        },
        index=responses.index,
    )
    weights = pd.Series(questionnaire.dimension_weights())
    answered_weight = dimensions.notna().mul(weights, axis=1).sum(axis=1)
    weighted_sum = dimensions.mul(weights, axis=1).sum(axis=1, skipna=True)
    score = (weighted_sum / answered_weight).where(answered_weight > 0)
    answered_share = percent.notna().sum(axis=1) / len(dimension_of)
    return pd.concat(
        [
            responses[["unit_code", "weight"]],
            dimensions,
            pd.DataFrame(
                {
                    "score": score,
                    "answered_share": answered_share,
                    "complete": answered_share >= questionnaire.min_answered_share,
                },
                index=responses.index,
            ),
        ],
        axis=1,
    )


def weighted_summary(values: pd.Series, weights: pd.Series, confidence: float) -> dict[str, float]:
    """Weighted mean, SE, Kish n_eff and t interval of one set of scores (NaNs ignored)."""
    keep = values.notna() & weights.notna() & (weights > 0)
    y = values[keep].to_numpy(dtype=float)
    w = weights[keep].to_numpy(dtype=float)
    n = len(y)
    if n == 0:
        return {"n": 0, "mean": np.nan, "se": np.nan, "n_eff": 0.0, "low": np.nan, "high": np.nan}
    # A weighted mean lies between the smallest and largest value; clip away float noise there.
    mean = float(np.clip(np.average(y, weights=w), y.min(), y.max()))
    n_eff = float(w.sum() ** 2 / (w**2).sum())
    if n < 2 or n_eff <= 1:
        return {"n": n, "mean": mean, "se": np.nan, "n_eff": n_eff, "low": np.nan, "high": np.nan}
    variance = float(np.average((y - mean) ** 2, weights=w)) * n_eff / (n_eff - 1)
    se = float(np.sqrt(variance / n_eff))
    half = float(stats.t.ppf(0.5 + confidence / 2, n_eff - 1)) * se
    return {"n": n, "mean": mean, "se": se, "n_eff": n_eff, "low": mean - half, "high": mean + half}


def unit_scores(scored: pd.DataFrame, questionnaire: Questionnaire, confidence: float) -> pd.DataFrame:
    """Per unit and dimension (`overall` = the satisfaction index) from `respondent_scores` output.

    Out columns: `unit_code`, `dimension`, `n_respondents`, `excluded_incomplete`, `score`,
    `std_error`, `n_effective`, `ci_low`, `ci_high`.
    """
    complete = scored[scored["complete"]]
    excluded = (~scored["complete"]).groupby(scored["unit_code"]).sum()
    targets = [(OVERALL, "score")] + [(d.code, d.code) for d in questionnaire.dimensions]
    rows = []
    for unit, group in complete.groupby("unit_code", sort=True):
        for dimension, column in targets:
            summary = weighted_summary(group[column], group["weight"], confidence)
            rows.append(
                {
                    "unit_code": unit,
                    "dimension": dimension,
                    "n_respondents": summary["n"],
                    "score": summary["mean"],
                    "std_error": summary["se"],
                    "n_effective": summary["n_eff"],
                    "ci_low": summary["low"],
                    "ci_high": summary["high"],
                }
            )
    result = pd.DataFrame(
        rows,
        columns=[
            "unit_code",
            "dimension",
            "n_respondents",
            "score",
            "std_error",
            "n_effective",
            "ci_low",
            "ci_high",
        ],
    )
    # Units whose every respondent was incomplete still appear, with no score.
    only_excluded = sorted(set(excluded[excluded > 0].index) - set(result["unit_code"]))
    if only_excluded:
        filler = pd.DataFrame(
            [
                {"unit_code": u, "dimension": d, "n_respondents": 0, "n_effective": 0.0}
                for u in only_excluded
                for d, _ in targets
            ]
        )
        result = pd.concat([result, filler], ignore_index=True)
    result.insert(3, "excluded_incomplete", result["unit_code"].map(excluded).fillna(0).astype(int))
    return result.sort_values(["unit_code", "dimension"], ignore_index=True)
