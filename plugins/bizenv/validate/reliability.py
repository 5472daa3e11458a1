"""Questionnaire reliability: Cronbach's alpha with Feldt's interval.

alpha = k / (k − 1) × (1 − Σ var(item) / var(total)), over respondents who answered all k items
(listwise). Feldt (1965): with n respondents, (1 − alpha) / (1 − α) follows an F distribution
with (n − 1, (n − 1)(k − 1)) degrees of freedom, giving the interval
[1 − (1 − α̂)·F(1 − γ/2), 1 − (1 − α̂)·F(γ/2)] for confidence 1 − γ.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from bizenv.schemas.models import Questionnaire


def cronbach_alpha(items: pd.DataFrame, confidence: float = 0.95) -> dict:
    complete = items.dropna().to_numpy(dtype=float)
    n, k = complete.shape
    if k < 2 or n < 3:
        return {"n": n, "k": k, "alpha": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    item_variance = complete.var(axis=0, ddof=1).sum()
    total_variance = complete.sum(axis=1).var(ddof=1)
    if total_variance == 0:
        return {"n": n, "k": k, "alpha": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    alpha = k / (k - 1) * (1 - item_variance / total_variance)
    gamma = 1 - confidence
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * stats.f.ppf(1 - gamma / 2, df1, df2)
    high = 1 - (1 - alpha) * stats.f.ppf(gamma / 2, df1, df2)
    return {"n": n, "k": k, "alpha": float(alpha), "ci_low": float(low), "ci_high": float(high)}


def questionnaire_reliability(
    responses: pd.DataFrame, questionnaire: Questionnaire, confidence: float, warning_below: float
) -> pd.DataFrame:
    """Alpha overall and per dimension: `scope`, `n`, `k`, `alpha`, `ci_low`, `ci_high`, `warning`."""
    scopes = {"overall": [i.code for i in questionnaire.items()]}
    scopes |= {d.code: [i.code for i in d.items] for d in questionnaire.dimensions}
    rows = [
        {"scope": scope, **cronbach_alpha(responses[codes], confidence)} for scope, codes in scopes.items()
    ]
    frame = pd.DataFrame(rows)
    frame["warning"] = frame["alpha"] < warning_below
    return frame
