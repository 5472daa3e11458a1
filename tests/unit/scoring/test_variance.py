"""Unit-index SEs against R's survey package (fixtures from scripts/r/survey_se_fixture.R).

R: svymean(~y, subset(design, in_unit), na.rm = TRUE) with design = svydesign(ids = ~1,
weights = ~w) over all 900 respondents, unraked, or raked with rake(design, list(~size,
~district), population margins).
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bizenv.errors import BizenvError
from bizenv.schemas import load_questionnaire
from bizenv.scoring import variance
from bizenv.scoring.raking import rake
from bizenv.scoring.satisfaction import OVERALL, respondent_scores, unit_scores
from bizenv.scoring.variance import Design, domain_means

Q = load_questionnaire()
DIMENSIONS = [d.code for d in Q.dimensions]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "r_survey"
ATTRIBUTES = ["size", "district"]


def read(name: str, **kwargs) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / name, **kwargs)


RESPONDENTS = read("respondents.csv", index_col="respondent_hash")
RESPONSES = read("responses.csv")
MARGINS = read("margins.csv")
R_RESULTS = read("results.csv")
R_WEIGHTS = read("raked_weights.csv", index_col="respondent_hash")


def scored_frame(weights: pd.Series) -> pd.DataFrame:
    """The fixture as `respondent_scores` output: `score` is the index, `attitude` a dimension
    (with missing values), the other dimensions unanswered."""
    frame = RESPONSES.assign(weight=RESPONSES["respondent_hash"].map(weights))
    for code in DIMENSIONS:
        if code != "attitude":
            frame[code] = np.nan
    return frame


def compare(ours: pd.DataFrame, scenario: str, mean_rtol: float = 1e-12) -> float:
    """Max relative SE difference to R over units × (index, attitude); means and n must agree."""
    want = R_RESULTS[R_RESULTS["scenario"] == scenario].assign(
        dimension=lambda f: f["variable"].replace({"score": OVERALL})
    )
    got = want[["unit_code", "dimension"]].merge(ours, on=["unit_code", "dimension"], how="left")
    assert got["n_respondents"].tolist() == want["n_respondents"].tolist()
    np.testing.assert_allclose(got["score"], want["mean"], rtol=mean_rtol)
    return float((got["std_error"].to_numpy() / want["se"].to_numpy() - 1).__abs__().max())


def raked(scenario: str) -> pd.Series:
    base = RESPONDENTS["base_weight"] if scenario == "raked_weighted" else None
    return rake(RESPONDENTS[ATTRIBUTES], MARGINS, tolerance=1e-13, base_weights=base).weights


def test_fixture_records_the_r_and_survey_versions():
    assert R_RESULTS["r_version"].str.startswith("R version 4").all()
    assert R_RESULTS["survey_version"].notna().all()
    assert (R_RESULTS["n_design"] == len(RESPONDENTS)).all()


@pytest.mark.parametrize(
    ("scenario", "weights"),
    [
        ("unweighted", pd.Series(1.0, index=RESPONDENTS.index)),
        ("weighted", RESPONDENTS["base_weight"]),
    ],
)
def test_unraked_se_agrees_with_r(scenario, weights):
    ours = unit_scores(scored_frame(weights), Q, 0.95)
    assert compare(ours, scenario) < 1e-9


@pytest.mark.parametrize("scenario", ["raked", "raked_weighted"])
def test_raked_weights_match_r(scenario):
    ours = raked(scenario)
    np.testing.assert_allclose(ours[R_WEIGHTS.index], R_WEIGHTS[scenario], rtol=1e-9)


@pytest.mark.parametrize("scenario", ["raked", "raked_weighted"])
def test_raked_se_agrees_with_r(scenario):
    ours = unit_scores(scored_frame(raked(scenario)), Q, 0.95, calibration=RESPONDENTS[ATTRIBUTES])
    assert compare(ours, scenario) < 1e-9


def test_raked_se_agrees_with_r_at_the_default_raking_tolerance():
    weights = rake(RESPONDENTS[ATTRIBUTES], MARGINS).weights  # tolerance 1e-6
    ours = unit_scores(scored_frame(weights), Q, 0.95, calibration=RESPONDENTS[ATTRIBUTES])
    assert compare(ours, "raked", mean_rtol=1e-7) < 1e-5


def test_raking_changes_the_se_so_the_calibration_frame_matters():
    weights = raked("raked")
    calibrated = unit_scores(scored_frame(weights), Q, 0.95, calibration=RESPONDENTS[ATTRIBUTES])
    fixed_weights = unit_scores(scored_frame(weights), Q, 0.95)
    assert compare(calibrated, "raked") < 1e-9
    assert compare(fixed_weights, "raked") > 0.01


def test_interval_is_t_with_the_domains_n_minus_1():
    ours = unit_scores(scored_frame(raked("raked")), Q, 0.9, calibration=RESPONDENTS[ATTRIBUTES])
    ours = ours.dropna(subset=["std_error"])
    t = stats.t.ppf(0.95, ours["n_respondents"] - 1)
    np.testing.assert_allclose(ours["ci_low"], ours["score"] - t * ours["std_error"], rtol=1e-12)
    np.testing.assert_allclose(ours["ci_high"], ours["score"] + t * ours["std_error"], rtol=1e-12)


def test_hand_worked_unweighted_domain():
    # Five respondents; unit X rated by three (40, 60, 80), unit Y by the other two.
    # ȳ = 60, zᵢ = (yᵢ − ȳ)/3 = −20/3, 0, 20/3 inside X and 0 for the two outside.
    # V = n/(n − 1) Σ z² = 5/4 × 800/9 = 1000/9, so SE = √1000 / 3 (the t-interval SE is 20/√3).
    scored = pd.DataFrame(
        {
            "respondent_hash": ["a", "b", "c", "d", "e"],
            "unit_code": ["X", "X", "X", "Y", "Y"],
            "weight": 1.0,
            "score": [40.0, 60.0, 80.0, 10.0, 30.0],
            "complete": True,
        }
    ).assign(**{code: np.nan for code in DIMENSIONS})
    x = unit_scores(scored, Q, 0.8).set_index(["unit_code", "dimension"]).loc[("X", OVERALL)]
    se = math.sqrt(1000) / 3
    assert x["score"] == pytest.approx(60.0)
    assert x["std_error"] == pytest.approx(se, rel=1e-12)
    assert x["n_respondents"] == 3
    assert x["n_effective"] == pytest.approx(3.0)
    half = stats.t.ppf(0.9, 2) * se
    assert x["ci_low"] == pytest.approx(60 - half, rel=1e-12)
    assert x["ci_high"] == pytest.approx(60 + half, rel=1e-12)


def test_hand_worked_post_stratified_domain():
    # One raked attribute = post-stratification; one sweep already gives the projection.
    # Categories p = {a, b, c}, q = {d}; domain X = {a, c} with y = 10, 30; all weights 1.
    # ȳ = 20, z = (−10/2, 0, 10/2, 0) = (−5, 0, 5, 0); category means of z: p 0, q 0, so the
    # residual is z itself and V = 4/3 × 50, SE = √(200/3).
    # Now y = 10 (a), 40 (d): z = (−15/2, 0, 0, 15/2); the means are p −2.5, q 7.5, residual
    # (−5, 2.5, 2.5, 0), Σ = 0, V = 4/3 × 37.5 = 50.
    calibration = pd.DataFrame({"group": ["p", "p", "p", "q"]}, index=["a", "b", "c", "d"])
    scored = pd.DataFrame(
        {
            "respondent_hash": ["a", "b", "c", "d"],
            "unit_code": ["X", "Y", "X", "Z"],
            "weight": 1.0,
            "score": [10.0, 50.0, 30.0, 90.0],
            "complete": True,
        }
    ).assign(**{code: np.nan for code in DIMENSIONS})
    x = unit_scores(scored, Q, 0.95, calibration=calibration).set_index(["unit_code", "dimension"])
    assert x.loc[("X", OVERALL), "std_error"] == pytest.approx(math.sqrt(200 / 3), rel=1e-12)
    scored.loc[:, "unit_code"] = ["X", "Y", "Y", "X"]
    scored.loc[:, "score"] = [10.0, 50.0, 30.0, 40.0]
    x = unit_scores(scored, Q, 0.95, calibration=calibration).set_index(["unit_code", "dimension"])
    assert x.loc[("X", OVERALL), "std_error"] == pytest.approx(math.sqrt(50), rel=1e-12)


def test_intervals_are_clipped_to_0_and_100_for_the_index_and_dimensions():
    top = [100.0] * 5 + [20.0]
    scored = pd.DataFrame(
        {
            "respondent_hash": [f"r{i}" for i in range(12)],
            "unit_code": ["X"] * 6 + ["Y"] * 6,
            "weight": 1.0,
            "score": top + [0.0] * 5 + [80.0],
            "complete": True,
        }
    ).assign(**{code: np.nan for code in DIMENSIONS})
    scored["attitude"] = scored["score"]
    out = unit_scores(scored, Q, 0.95).set_index(["unit_code", "dimension"])
    for dimension in [OVERALL, "attitude"]:
        x, y = out.loc[("X", dimension)], out.loc[("Y", dimension)]
        assert x["score"] + stats.t.ppf(0.975, 5) * x["std_error"] > 100
        assert x["ci_high"] == 100.0
        assert 0 < x["ci_low"] < x["score"]
        assert y["ci_low"] == 0.0
        assert y["score"] < y["ci_high"] < 100
    assert out["ci_low"].dropna().between(0, 100).all()
    assert out["ci_high"].dropna().between(0, 100).all()


def test_units_under_two_respondents_have_no_se():
    scored = pd.DataFrame(
        {
            "respondent_hash": ["a", "b", "c"],
            "unit_code": ["X", "X", "Y"],
            "weight": 1.0,
            "score": [50.0, 70.0, 90.0],
            "complete": True,
        }
    ).assign(**{code: np.nan for code in DIMENSIONS})
    out = unit_scores(scored, Q, 0.95).set_index(["unit_code", "dimension"])
    y = out.loc[("Y", OVERALL)]
    assert y["score"] == 90.0
    assert y["n_respondents"] == 1
    assert math.isnan(y["std_error"]) and math.isnan(y["ci_low"]) and math.isnan(y["ci_high"])
    assert out.loc[("X", "policy"), "n_respondents"] == 0


def row_level_r(
    weights: np.ndarray, codes: list[np.ndarray], respondent: np.ndarray, y: np.ndarray
) -> tuple[float, float]:
    """survey:::svymean + svyrecvar transcribed row by row for one domain (rows given = domain)."""
    n = len(weights)
    w_dom = np.zeros(n)
    np.add.at(w_dom, respondent, weights[respondent])
    y_sum = np.zeros(n)
    np.add.at(y_sum, respondent, weights[respondent] * y)
    total = w_dom.sum()
    mean = y_sum.sum() / total
    x = np.zeros(n)
    np.add.at(x, respondent, weights[respondent] * (y - mean) / total)
    for _ in range(10):
        for code in codes:
            ratio = pd.Series(x / weights)
            x = x - weights * ratio.groupby(code).transform("mean").to_numpy()
    x = x - x.mean()
    return mean, math.sqrt(n / (n - 1) * (x**2).sum())


def test_aggregate_formulation_equals_the_row_level_transcription_of_r():
    # Three correlated attributes, so backfitting has not converged after R's ten sweeps, and
    # respondents with two rows in the same domain (their rows form one cluster).
    rng = np.random.default_rng(7)
    n = 400
    a = rng.integers(0, 3, n)
    b = (a + rng.integers(0, 2, n)) % 4
    c = rng.integers(0, 5, n)
    c[a == 0] = 0
    weights = rng.uniform(0.3, 4, n)
    rows = rng.integers(0, n, 700)
    domain = rng.integers(-1, 4, 700)
    values = rng.uniform(0, 100, 700)
    design = Design(pd.RangeIndex(n), weights, (a, b, c))
    got = domain_means(design, rows, domain, values, 4)
    for d in range(4):
        inside = domain == d
        mean, se = row_level_r(weights, [a, b, c], rows[inside], values[inside])
        assert got.loc[d, "mean"] == pytest.approx(mean, rel=1e-12)
        assert got.loc[d, "se"] == pytest.approx(se, rel=1e-9)
        assert got.loc[d, "n"] == len(np.unique(rows[inside]))


def test_sweeps_are_rs_ten_not_the_converged_projection(monkeypatch):
    # With correlated attributes the two differ (slightly); we mirror R.
    rng = np.random.default_rng(8)
    n = 300
    a = rng.integers(0, 3, n)
    b = np.where(rng.uniform(size=n) < 0.9, a, rng.integers(0, 3, n))
    design = Design(pd.RangeIndex(n), rng.uniform(0.5, 2, n), (a, b))
    rows, values = np.arange(n), rng.uniform(0, 100, n) + 30 * a
    domain = (rng.uniform(size=n) < 0.4).astype(int) - 1
    ten = domain_means(design, rows, domain, values, 1).loc[0, "se"]
    monkeypatch.setattr(variance, "RAKING_SWEEPS", 2000)
    converged = domain_means(design, rows, domain, values, 1).loc[0, "se"]
    assert ten != pytest.approx(converged, rel=1e-9)
    assert ten == pytest.approx(converged, rel=0.05)


def test_bounded_weights_hold_the_bounds_and_still_meet_the_margins():
    free = rake(RESPONDENTS[ATTRIBUTES], MARGINS)
    mean = MARGINS.groupby("attribute")["population"].sum().iloc[0] / len(RESPONDENTS)
    assert free.at_bounds == 0
    low, high = 0.07, 2.5
    assert free.weights.min() < low * mean or free.weights.max() > high * mean  # the bounds bite
    result = rake(RESPONDENTS[ATTRIBUTES], MARGINS, bounds=(low, high))
    w = result.weights
    assert w.min() >= low * mean * (1 - 1e-12)
    assert w.max() <= high * mean * (1 + 1e-12)
    assert result.at_bounds > 0
    at = np.isclose(w, low * mean, rtol=1e-9) | np.isclose(w, high * mean, rtol=1e-9)
    assert result.at_bounds == int(at.sum())
    for attribute in ATTRIBUTES:
        got = w.groupby(RESPONDENTS[attribute]).sum()
        want = MARGINS[MARGINS["attribute"] == attribute].set_index("category")["population"]
        np.testing.assert_allclose(got[want.index], want, rtol=1e-6)
    assert result.max_relative_error < 1e-6


def test_bounds_that_cannot_hold_name_the_margin():
    # large: 300 of 25,000 firms but 15% of the sample needs weights near 0.1 × the mean.
    with pytest.raises(
        BizenvError,
        match=r"raking with weight bounds \[0\.5, 5\] × the mean weight cannot meet margin size=large",
    ):
        rake(RESPONDENTS[ATTRIBUTES], MARGINS, bounds=(0.5, 5.0), max_iterations=200)


def test_bounds_must_straddle_one():
    with pytest.raises(BizenvError, match="weight bounds must be"):
        rake(RESPONDENTS[ATTRIBUTES], MARGINS, bounds=(1.2, 5.0))


def test_respondent_scores_pass_the_respondent_through():
    codes = [item.code for item in Q.items()]
    responses = pd.DataFrame([[5.0] * 10, [3.0] * 10], columns=codes)
    responses.insert(0, "respondent_hash", ["h1", "h2"])
    responses.insert(1, "unit_code", "X")
    responses.insert(2, "weight", 1.0)
    scored = respondent_scores(responses, Q)
    assert scored["respondent_hash"].tolist() == ["h1", "h2"]
    assert "respondent_hash" not in respondent_scores(responses.drop(columns="respondent_hash"), Q)


def test_a_respondent_missing_from_the_calibration_frame_is_an_error():
    scored = scored_frame(raked("raked"))
    with pytest.raises(BizenvError, match="1 respondent.* not in the calibration frame"):
        unit_scores(scored, Q, 0.95, calibration=RESPONDENTS[ATTRIBUTES].iloc[1:])


def test_a_respondent_with_two_weights_is_an_error():
    scored = scored_frame(pd.Series(1.0, index=RESPONDENTS.index))
    twice = scored["respondent_hash"].duplicated(keep=False)
    scored.loc[twice.idxmax(), "weight"] = 2.0
    with pytest.raises(BizenvError, match="different weights on different rows"):
        unit_scores(scored, Q, 0.95)
