import numpy as np
import pandas as pd
import pytest

from bizenv.errors import BizenvError
from bizenv.schemas import load_questionnaire
from bizenv.scoring.raking import rake, read_margins

SIZES = ["大型", "中型", "小型", "微型"]
DISTRICTS = ["鄂城区", "华容区", "梁子湖区", "葛店开发区", "临空经济区"]


def sample(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "enterprise_size": rng.choice(SIZES, n, p=[0.15, 0.3, 0.35, 0.2]),
            "district": rng.choice(DISTRICTS, n, p=[0.4, 0.2, 0.1, 0.2, 0.1]),
        }
    )


def margins() -> pd.DataFrame:
    size = dict(zip(SIZES, [300, 1700, 9000, 14000], strict=True))
    district = dict(zip(DISTRICTS, [9000, 5000, 2000, 6000, 3000], strict=True))
    rows = [("enterprise_size", k, v) for k, v in size.items()] + [
        ("district", k, v) for k, v in district.items()
    ]
    return pd.DataFrame(rows, columns=["attribute", "category", "population"])


def calibrate_by_newton(respondents: pd.DataFrame, margins: pd.DataFrame) -> np.ndarray:
    """Independent formulation: raking is the exponential (KL) calibration w = exp(X λ); solve
    the calibration equations Xᵀw = totals for λ with a root finder."""
    columns = [(a, c) for a, c in margins[["attribute", "category"]].itertuples(index=False)]
    # One category per attribute after the first is implied by the totals: drop it (rank).
    first_attribute = margins["attribute"].iloc[0]
    keep = [
        i for i, (a, c) in enumerate(columns)
        if a == first_attribute or c != margins.loc[margins["attribute"] == a, "category"].iloc[-1]
    ]  # fmt: skip
    x = np.column_stack([(respondents[a] == c).to_numpy(float) for a, c in columns])[:, keep]
    totals = margins["population"].to_numpy(float)[keep]

    # The dual is convex: minimise Σ exp(xᵢλ) − λᵀt (gradient Xᵀw − t, Hessian XᵀWX), scaled by N.
    scale = totals[: (margins["attribute"] == first_attribute).sum()].sum()
    t = totals / scale

    def dual(lam: np.ndarray) -> float:
        return np.exp(x @ lam).sum() - lam @ t

    lam = np.zeros(x.shape[1])
    for _ in range(100):  # damped Newton on the convex dual
        w = np.exp(x @ lam)
        gradient = x.T @ w - t
        if np.abs(gradient / t).max() < 1e-13:
            break
        step = np.linalg.solve(x.T @ (x * w[:, None]), gradient)
        size = 1.0
        while dual(lam - size * step) > dual(lam) and size > 1e-8:
            size /= 2
        lam = lam - size * step
    else:
        raise AssertionError("Newton calibration did not converge")
    return np.exp(x @ lam) * scale


def test_raked_weights_meet_every_margin():
    respondents = sample()
    result = rake(respondents, margins())
    for attribute in ["enterprise_size", "district"]:
        got = result.weights.groupby(respondents[attribute]).sum()
        want = margins().query("attribute == @attribute").set_index("category")["population"]
        np.testing.assert_allclose(got[want.index], want, rtol=1e-6)
    assert result.max_relative_error < 1e-6


def test_raked_weights_match_an_independent_calibration_to_1e_6():
    respondents = sample()
    ours = rake(respondents, margins(), tolerance=1e-10).weights.to_numpy()
    np.testing.assert_allclose(ours, calibrate_by_newton(respondents, margins()), rtol=1e-6)


def test_weighted_unit_mean_matches_the_independent_weights():
    respondents = sample()
    scores = np.random.default_rng(2).uniform(0, 100, len(respondents))
    ours = rake(respondents, margins(), tolerance=1e-10).weights.to_numpy()
    theirs = calibrate_by_newton(respondents, margins())
    assert np.average(scores, weights=ours) == pytest.approx(np.average(scores, weights=theirs), rel=1e-9)


def test_a_category_without_respondents_is_named():
    respondents = sample()
    respondents = respondents[respondents["enterprise_size"] != "大型"]
    with pytest.raises(BizenvError, match="margin enterprise_size=大型 cannot be met: no respondent"):
        rake(respondents, margins())


def test_margins_with_different_totals_are_refused():
    bad = margins()
    bad.loc[0, "population"] += 1
    with pytest.raises(BizenvError, match="disagree on the population total"):
        rake(sample(), bad)


def test_margins_the_sample_cannot_meet_fail_with_the_margin_named():
    # Size and district coincide in the sample, but the population says they do not.
    respondents = pd.DataFrame(
        {"enterprise_size": ["大型", "大型", "小型"], "district": ["鄂城区", "鄂城区", "华容区"]}
    )
    impossible = pd.DataFrame(
        [
            ("enterprise_size", "大型", 10),
            ("enterprise_size", "小型", 90),
            ("district", "鄂城区", 50),
            ("district", "华容区", 50),
        ],
        columns=["attribute", "category", "population"],
    )
    with pytest.raises(
        BizenvError, match=r"raking did not converge in 50 iterations: margin \w+=\S+ is still"
    ):
        rake(respondents, impossible, max_iterations=50)


def test_margins_file_names_the_bad_row_and_column(tmp_path):
    path = tmp_path / "margins.csv"
    path.write_text("attribute,category,population\n企业规模,大型,300\n企业规模,巨型,10\n", encoding="utf-8")
    with pytest.raises(BizenvError) as info:
        read_margins(path, load_questionnaire())
    assert "margins.csv, row 3, column 'category': '巨型' is not a category of enterprise_size" in str(
        info.value
    )


def test_margins_file_accepts_codes_labels_and_thousands_separators(tmp_path):
    path = tmp_path / "margins.csv"
    path.write_text(
        'attribute,category,population\nenterprise_size,大型,300\n所在区,华容区,"5,000"\n', encoding="utf-8"
    )
    margins_read = read_margins(path, load_questionnaire())
    assert margins_read.to_dict("records") == [
        {"attribute": "enterprise_size", "category": "大型", "population": 300.0},
        {"attribute": "district", "category": "华容区", "population": 5000.0},
    ]
