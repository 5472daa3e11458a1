import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bizenv.validate.reliability import cronbach_alpha


def correlated_items(n: int = 300, k: int = 4, noise: float = 1.0, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    trait = rng.normal(size=(n, 1))
    return pd.DataFrame(trait + rng.normal(scale=noise, size=(n, k)))


def test_alpha_matches_the_covariance_matrix_formulation():
    items = correlated_items()
    cov = np.cov(items.to_numpy(), rowvar=False)
    k = cov.shape[0]
    expected = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
    assert cronbach_alpha(items)["alpha"] == pytest.approx(expected, rel=1e-12)


def test_feldt_interval_by_hand_and_contains_alpha():
    items = correlated_items(n=50, k=3)
    got = cronbach_alpha(items, 0.9)
    n, k, a = 50, 3, got["alpha"]
    assert got["ci_low"] == pytest.approx(1 - (1 - a) * stats.f.ppf(0.95, n - 1, (n - 1) * (k - 1)))
    assert got["ci_high"] == pytest.approx(1 - (1 - a) * stats.f.ppf(0.05, n - 1, (n - 1) * (k - 1)))
    assert got["ci_low"] < a < got["ci_high"]


def test_unrelated_items_have_low_alpha_and_respondents_with_gaps_are_left_out():
    rng = np.random.default_rng(3)
    items = pd.DataFrame(rng.normal(size=(400, 4)))
    items.iloc[:100, 0] = np.nan
    got = cronbach_alpha(items)
    assert got["n"] == 300
    assert got["alpha"] < 0.3
