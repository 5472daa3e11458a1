"""The satisfaction method of the design, step by step.

1. A k-point answer x becomes (x - 1) / (k - 1) * 100; missing answers stay missing.
2. A respondent's dimension score for a unit is the mean of their answered items in it.
3. Their unit score is the weight-renormalised mean over the dimensions they answered.
4. A respondent who answered fewer than `min_answered_share` of the items does not count
   for that unit (`excluded_incomplete`).
5. The unit index is the weighted mean of the scores of the unit's complete respondents; its
   interval is mean ± t(1 - α/2, n - 1) × SE, n the unit's respondents, clipped to [0, 100].

Why the SE is a domain linearization (bizenv.scoring.variance) and no longer s_w / √n_eff with
Kish's n_eff: a unit's respondents are a domain of the period's sample, and when the weights
are raked they are estimated from the whole sample. The SE is therefore R's
`svymean(~score, subset(design, in_unit))` on the design of all respondents of the period
(Lumley, Complex Surveys, 2010), with raking's calibration residuals (Deville & Särndal 1992)
when the weights were raked. Kish's n_eff stays in the output as information only. With equal
weights and every respondent rating the unit it is the ordinary t interval; a unit rated by m
of the period's n respondents has SE² = s²/m × (m − 1)/m × n/(n − 1), a little below s²/m.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from bizenv.errors import BizenvError
from bizenv.schemas.models import Questionnaire
from bizenv.scoring.variance import Design, domain_means

OVERALL = "overall"


def items_to_percent(points: pd.DataFrame, scale_points: int) -> pd.DataFrame:
    return (points - 1.0) / (scale_points - 1) * 100.0


def respondent_scores(responses: pd.DataFrame, questionnaire: Questionnaire) -> pd.DataFrame:
    """Per response row (respondent × unit): dimension scores, unit score and completeness.

    In:  `unit_code`, `weight`, optionally `respondent_hash`, and one column per item code
         holding scale points (NaN = missing).
    Out: the input's `respondent_hash` (when given), `unit_code` and `weight`, a 0-100 column
         per dimension code, `score` (0-100), `answered_share` and `complete`.
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
            responses[[c for c in ("respondent_hash", "unit_code", "weight") if c in responses.columns]],
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


COLUMNS = [
    "unit_code",
    "dimension",
    "n_respondents",
    "excluded_incomplete",
    "score",
    "std_error",
    "n_effective",
    "ci_low",
    "ci_high",
]


def t_interval(
    mean: np.ndarray, se: np.ndarray, n: np.ndarray | int, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """mean ± t(1 − α/2, n − 1) · SE; NaN where the SE is."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        half = stats.t.ppf(0.5 + confidence / 2, np.where(n >= 2, n - 1, np.nan)) * se
    return mean - half, mean + half


def weighted_summary(values: pd.Series, weights: pd.Series, confidence: float) -> dict[str, float]:
    """Weighted mean, linearization SE, Kish n_eff and t interval of one sample of scores.

    The scores (NaNs and non-positive weights left out) are the whole design, one respondent
    each: SE² = n / (n − 1) · Σ w²(y − ȳ)² / (Σw)², the interval uses n − 1 degrees of freedom.
    """
    keep = values.notna() & weights.notna() & (weights > 0)
    y = values[keep].to_numpy(dtype=float)
    w = weights[keep].to_numpy(dtype=float)
    n = len(y)
    if n == 0:
        return {"n": 0, "mean": np.nan, "se": np.nan, "n_eff": 0.0, "low": np.nan, "high": np.nan}
    design = Design(pd.RangeIndex(n), w)
    est = domain_means(design, np.arange(n), np.zeros(n, dtype=np.int64), y, 1).iloc[0]
    low, high = t_interval(est["mean"], est["se"], n, confidence)
    return {
        "n": n,
        "mean": float(est["mean"]),
        "se": float(est["se"]),
        "n_eff": float(est["n_effective"]),
        "low": float(low),
        "high": float(high),
    }


def unit_scores(
    scored: pd.DataFrame,
    questionnaire: Questionnaire,
    confidence: float,
    calibration: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per unit and dimension (`overall` = the satisfaction index) from `respondent_scores` output.

    The design is every respondent in `scored` (`respondent_hash`; without it every row is a
    respondent of its own), weighted by `weight` (one weight per respondent). A unit's domain is
    its rows with `complete` and a value. `calibration`: None when the weights were not raked;
    else a frame indexed by respondent_hash with one column per raked attribute (categories) for
    every respondent of the period, whose raked weights are in `weight`.

    Out columns: `unit_code`, `dimension`, `n_respondents`, `excluded_incomplete`, `score`,
    `std_error` (NaN under 2 respondents), `n_effective` (Kish), `ci_low`, `ci_high` (within
    [0, 100]).
    """
    if scored.empty:
        return pd.DataFrame(columns=COLUMNS)
    targets = [(OVERALL, "score")] + [(d.code, d.code) for d in questionnaire.dimensions]
    # Factorised, not np.unique over a fixed-width text array (100 bytes a row at a million rows).
    unit_index, distinct_units = pd.factorize(scored["unit_code"], sort=True)
    units = np.asarray(distinct_units, dtype=object)
    design, respondent = _design(scored, calibration)
    complete = scored["complete"].to_numpy(dtype=bool)
    n_targets = len(targets)
    domain = np.concatenate([np.where(complete, unit_index * n_targets + t, -1) for t in range(n_targets)])
    values = np.concatenate([scored[column].to_numpy(dtype=float) for _, column in targets])
    est = domain_means(design, np.tile(respondent, n_targets), domain, values, len(units) * n_targets)
    excluded = np.bincount(unit_index[~complete], minlength=len(units))
    mean, se, n = est["mean"].to_numpy(), est["se"].to_numpy(), est["n"].to_numpy()
    low, high = t_interval(mean, se, n, confidence)
    result = pd.DataFrame(
        {
            "unit_code": np.repeat(units, n_targets),
            "dimension": np.tile([d for d, _ in targets], len(units)),
            "excluded_incomplete": np.repeat(excluded, n_targets).astype(int),
            "n_respondents": n.astype(int),
            "score": mean,
            "std_error": se,
            "n_effective": est["n_effective"].to_numpy(),
            "ci_low": np.clip(low, 0.0, 100.0),
            "ci_high": np.clip(high, 0.0, 100.0),
        },
        columns=COLUMNS,
    )
    return result.sort_values(["unit_code", "dimension"], ignore_index=True)


def _design(scored: pd.DataFrame, calibration: pd.DataFrame | None) -> tuple[Design, np.ndarray]:
    """The period's design and each row's respondent position in it."""
    weight = scored["weight"].astype(float)
    if "respondent_hash" not in scored.columns:
        if calibration is not None:
            raise BizenvError("raked scores need `respondent_hash` to find each row's respondent")
        return Design(pd.RangeIndex(len(scored)), np.nan_to_num(weight.to_numpy(), nan=0.0)), np.arange(
            len(scored)
        )
    per_respondent = weight.groupby(scored["respondent_hash"], sort=False)
    low, high = per_respondent.min(), per_respondent.max()
    differ = (low.notna() | high.notna()) & ~np.isclose(low, high, rtol=1e-12, atol=0)
    if differ.any():
        raise BizenvError(
            f"{int(differ.sum())} respondent(s) have different weights on different rows "
            f"(e.g. {differ[differ].index[0]!r}); a respondent has one weight for every unit"
        )
    design = Design.build(per_respondent.first(), calibration)
    return design, design.respondents.get_indexer(pd.Index(scored["respondent_hash"]))
