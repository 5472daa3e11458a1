"""Questionnaire reliability: Cronbach's alpha with Feldt's interval, one row per enterprise.

The unit of observation is the enterprise, not the response. An enterprise rates several units
(3,000 enterprises give some 12,000 response rows), and its answers about different units are
not independent observations of the questionnaire: they share the same respondent, the same
reading of the items and the same habits of answering. Counting rows as n would make Feldt's
interval several times too narrow. So each enterprise (`respondent_hash`) contributes one row:
its mean answer to each item over the units it rated, NaN ignored (an item it skipped for one
unit but answered for another still has a value). n is the number of enterprises.

Missing items (`missing`):
    listwise (default): only enterprises with a value for every item of the scope.
        alpha = k / (k − 1) × (1 − Σ var(item) / var(total)), n = those enterprises.
    pairwise: every variance and covariance from the enterprises that answered the item(s)
        concerned, alpha = k / (k − 1) × (1 − Σ_i var_i / Σ_ij cov_ij). Keeps enterprises that
        skipped an item, at a price: the matrix is not one sample's, so it need not be positive
        semi-definite (alpha can come out above 1; a non-positive total variance gives NaN),
        and there is no single n. Feldt's interval uses the smallest pairwise
        count, the fewest enterprises behind any entry: conservative (the interval is at least as
        wide as with any other choice of n), never narrower than the data support.

Feldt (1965): with n enterprises, (1 − alpha) / (1 − α) follows an F distribution with
(n − 1, (n − 1)(k − 1)) degrees of freedom, giving the interval
[1 − (1 − α̂)·F(1 − γ/2), 1 − (1 − α̂)·F(γ/2)] for confidence 1 − γ.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from bizenv.schemas.models import Questionnaire

ENTERPRISE = "respondent_hash"
Missing = Literal["listwise", "pairwise"]


def _result(n: int, k: int, alpha: float, confidence: float) -> dict:
    if k < 2 or n < 3 or not np.isfinite(alpha):
        return {"n": n, "k": k, "alpha": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    gamma = 1 - confidence
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * stats.f.ppf(1 - gamma / 2, df1, df2)
    high = 1 - (1 - alpha) * stats.f.ppf(gamma / 2, df1, df2)
    return {"n": n, "k": k, "alpha": float(alpha), "ci_low": float(low), "ci_high": float(high)}


def _listwise(items: pd.DataFrame) -> tuple[int, float]:
    complete = items.dropna().to_numpy(dtype=float)
    n, k = complete.shape
    if k < 2 or n < 3:
        return n, np.nan
    item_variance = complete.var(axis=0, ddof=1).sum()
    total_variance = complete.sum(axis=1).var(ddof=1)
    if total_variance == 0:
        return n, np.nan
    return n, k / (k - 1) * (1 - item_variance / total_variance)


def _pairwise(items: pd.DataFrame) -> tuple[int, float]:
    k = items.shape[1]
    answered = items.notna().astype(int)
    counts = answered.T @ answered  # enterprises behind each variance and covariance
    n = int(counts.to_numpy().min()) if k else 0
    if k < 2 or n < 3:
        return n, np.nan
    cov = items.astype(float).cov().to_numpy()  # each entry from the pairs present, ddof 1
    total = cov.sum()
    if not total > 0:
        return n, np.nan
    return n, k / (k - 1) * (1 - np.trace(cov) / total)


def cronbach_alpha(items: pd.DataFrame, confidence: float = 0.95, missing: Missing = "listwise") -> dict:
    """Alpha and Feldt's interval over the rows of `items` (one row per observation, one column
    per item): `n`, `k`, `alpha`, `ci_low`, `ci_high`; NaN alpha with fewer than 3 rows or 2 items.
    The rows must already be independent observations (see `enterprise_items`)."""
    if missing == "listwise":
        n, alpha = _listwise(items)
    elif missing == "pairwise":
        n, alpha = _pairwise(items)
    else:
        raise ValueError(f"missing must be 'listwise' or 'pairwise', not {missing!r}")
    return _result(n, items.shape[1], alpha, confidence)


def enterprise_items(responses: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    """One row per enterprise: its mean answer to each item over the units it rated, NaN ignored
    (NaN only where it answered the item for none of them)."""
    return responses.groupby(ENTERPRISE, sort=False)[codes].mean()


def questionnaire_reliability(
    responses: pd.DataFrame,
    questionnaire: Questionnaire,
    confidence: float,
    warning_below: float,
    missing: Missing = "listwise",
) -> pd.DataFrame:
    """Alpha overall and per dimension: `scope`, `n` (enterprises), `k`, `alpha`, `ci_low`,
    `ci_high`, `warning`. `responses` has one row per (enterprise, unit) with `respondent_hash`
    and the items wide; they are reduced to one row per enterprise first, because the response
    rows of one enterprise are not independent and would narrow the interval (module docstring)."""
    scopes = {"overall": [i.code for i in questionnaire.items()]}
    scopes |= {d.code: [i.code for i in d.items] for d in questionnaire.dimensions}
    per_enterprise = enterprise_items(responses, scopes["overall"])
    rows = [
        {"scope": scope, **cronbach_alpha(per_enterprise[codes], confidence, missing)}
        for scope, codes in scopes.items()
    ]
    frame = pd.DataFrame(rows)
    frame["warning"] = frame["alpha"] < warning_below
    return frame
