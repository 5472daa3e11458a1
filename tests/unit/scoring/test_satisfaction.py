import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from bizenv.schemas import load_questionnaire
from bizenv.scoring.satisfaction import OVERALL, respondent_scores, unit_scores, weighted_summary

Q = load_questionnaire()
CODES = [item.code for item in Q.items()]


def responses(rows: list[list[float]], unit: str = "ndrc", weights=None) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=CODES, dtype=float)
    frame.insert(0, "unit_code", unit)
    frame.insert(1, "weight", 1.0 if weights is None else weights)
    return frame


def test_all_top_answers_score_100_and_all_bottom_answers_score_0():
    scored = respondent_scores(responses([[5] * 10, [1] * 10]), Q)
    assert scored["score"].tolist() == [100.0, 0.0]


def test_respondent_score_is_weight_renormalised_mean_of_answered_dimensions():
    # attitude: (5, 4) → 100, 75 → 87.5; efficiency: (3, missing) → 50; policy: both missing;
    # integrity: (2, 2) → 25; transparency: (4, 5) → 87.5. Four dimensions of weight 0.2 answered.
    nan = math.nan
    scored = respondent_scores(responses([[5, 4, 3, nan, nan, nan, 2, 2, 4, 5]]), Q)
    row = scored.iloc[0]
    assert row["attitude"] == pytest.approx(87.5)
    assert row["efficiency"] == pytest.approx(50.0)
    assert math.isnan(row["policy"])
    assert row["score"] == pytest.approx((87.5 + 50 + 25 + 87.5) / 4)
    assert row["answered_share"] == pytest.approx(0.7)
    assert bool(row["complete"])


def test_respondent_with_fewer_than_half_the_items_does_not_count():
    nan = math.nan
    four_answers = [5, 5, 5, 5] + [nan] * 6
    five_answers = [5, 5, 5, 5, 5] + [nan] * 5
    scored = respondent_scores(responses([four_answers, five_answers]), Q)
    assert scored["complete"].tolist() == [False, True]
    units = unit_scores(scored, Q, 0.95)
    overall = units[units["dimension"] == OVERALL].iloc[0]
    assert overall["n_respondents"] == 1
    assert overall["excluded_incomplete"] == 1


def test_unweighted_interval_is_the_ordinary_t_interval():
    rng = np.random.default_rng(3)
    rows = rng.integers(1, 6, size=(40, 10)).astype(float).tolist()
    scored = respondent_scores(responses(rows), Q)
    overall = unit_scores(scored, Q, 0.95).query("dimension == @OVERALL").iloc[0]
    y = scored["score"].to_numpy()
    low, high = stats.t.interval(0.95, len(y) - 1, loc=y.mean(), scale=stats.sem(y))
    assert overall["score"] == pytest.approx(y.mean(), abs=1e-12)
    assert overall["std_error"] == pytest.approx(stats.sem(y), abs=1e-12)
    assert overall["ci_low"] == pytest.approx(low, abs=1e-9)
    assert overall["ci_high"] == pytest.approx(high, abs=1e-9)


def test_weighted_summary_matches_an_independent_formulation():
    # Since the linearization SE (see test_variance.py): the sample is the whole design, so the
    # SE is the with-replacement SE of a ratio mean, V = n/(n − 1) Σ (w(y − ȳ))² / (Σw)², and
    # the interval has n − 1 degrees of freedom (Kish's n_eff is reported only).
    rng = np.random.default_rng(11)
    y = pd.Series(rng.uniform(0, 100, 200))
    w = pd.Series(rng.uniform(0.2, 5, 200))
    got = weighted_summary(y, w, 0.9)
    n = len(y)
    n_eff = w.sum() ** 2 / (w**2).sum()
    mean = (w * y).sum() / w.sum()
    # Independent: the ratio estimator's residuals uᵢ = wᵢ(yᵢ − ȳ) / Σw are mean-zero, and
    # V is n/(n − 1) times their sum of squares, i.e. n × their sample variance.
    u = w * (y - mean) / w.sum()
    se = math.sqrt(n * u.var(ddof=1))
    t = stats.t.ppf(0.95, n - 1)
    assert got["n_eff"] == pytest.approx(n_eff, rel=1e-12)
    assert got["mean"] == pytest.approx(mean, rel=1e-12)
    assert got["se"] == pytest.approx(se, rel=1e-10)
    assert got["low"] == pytest.approx(mean - t * se, rel=1e-10)


def test_scaling_all_weights_changes_nothing():
    rng = np.random.default_rng(5)
    y = pd.Series(rng.uniform(0, 100, 50))
    w = pd.Series(rng.uniform(0.5, 2, 50))
    a, b = weighted_summary(y, w, 0.95), weighted_summary(y, w * 37.5, 0.95)
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-12)


def test_dimension_scores_per_unit_are_kept():
    scored = respondent_scores(responses([[5, 5, 1, 1, 3, 3, 5, 5, 5, 5]] * 3), Q)
    units = unit_scores(scored, Q, 0.95).set_index("dimension")["score"]
    assert units["attitude"] == 100.0
    assert units["efficiency"] == 0.0
    assert units["policy"] == 50.0
    assert units[OVERALL] == pytest.approx((100 + 0 + 50 + 100 + 100) / 5)


def test_missing_answers_are_missing_not_the_lowest_score():
    nan = math.nan
    scored = respondent_scores(responses([[5] * 9 + [nan]]), Q)
    assert scored["score"].iloc[0] == 100.0


@settings(max_examples=60, deadline=None)
@given(
    answers=st.lists(
        st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=10, max_size=10), min_size=1, max_size=30
    ),
    weights=st.lists(st.floats(0.01, 100), min_size=30, max_size=30),
    scale=st.floats(0.001, 1000),
)
def test_scores_stay_within_0_and_100_and_scaling_weights_changes_nothing(answers, weights, scale):
    rows = [[math.nan if a is None else float(a) for a in row] for row in answers]
    w = pd.Series(weights[: len(rows)])
    scored = respondent_scores(responses(rows, weights=w.to_numpy()), Q)
    valid = scored["score"].dropna()
    assert ((valid >= 0) & (valid <= 100)).all()
    a = unit_scores(scored, Q, 0.95)
    b = unit_scores(respondent_scores(responses(rows, weights=(w * scale).to_numpy()), Q), Q, 0.95)
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)
    assert a["score"].dropna().between(0, 100).all()
