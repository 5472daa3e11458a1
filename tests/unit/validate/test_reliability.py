import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bizenv.schemas.models import Dimension, Item, Questionnaire
from bizenv.validate.reliability import cronbach_alpha, questionnaire_reliability


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


# --- per enterprise ------------------------------------------------------------------------


def questionnaire(**dimensions: list[str]) -> Questionnaire:
    """Only what reliability reads: the dimensions and their items."""
    return Questionnaire.model_construct(
        dimensions=[
            Dimension(
                code=code, label=code, label_en=code, weight=1.0, items=[Item(code=i, label=i) for i in items]
            )
            for code, items in dimensions.items()
        ]
    )


def responses(rows: list[tuple]) -> pd.DataFrame:
    """(enterprise, unit, answers...) → the wide response rows evaluate reads."""
    frame = pd.DataFrame(rows, columns=["respondent_hash", "unit_code", "a", "b", "c"])
    return frame.astype({"a": float, "b": float, "c": float})


NAN = np.nan


def test_alpha_is_computed_on_one_row_per_enterprise_by_hand():
    rows = [
        ("e1", "tax", 4, 5, 3), ("e1", "customs", 2, 3, NAN),  # means a 3, b 4, c 3
        ("e2", "tax", 2, 2, NAN),                                # a 2, b 2, c -
        ("e3", "tax", 5, NAN, 4), ("e3", "customs", 5, 4, NAN),  # a 5, b 4 (NaN ignored), c 4
        ("e4", "tax", 2, 2, 2),                                  # a 2, b 2, c 2
    ]  # fmt: skip
    got = questionnaire_reliability(responses(rows), questionnaire(d1=["a", "b"], d2=["c"]), 0.9, 0.7)
    got = got.set_index("scope")
    # d1 over the 4 enterprises: a = 3, 2, 5, 2 (mean 3, squares 0+1+4+1 = 6, var 6/3 = 2);
    # b = 4, 2, 4, 2 (mean 3, squares 1+1+1+1 = 4, var 4/3); total a+b = 7, 4, 9, 4 (mean 6,
    # squares 1+4+9+4 = 18, var 6). alpha = 2/1 × (1 − (2 + 4/3) / 6) = 2 × 8/18 = 8/9.
    d1 = got.loc["d1"]
    assert d1["n"] == 4 and d1["k"] == 2  # 4 enterprises, not the 5 complete response rows
    assert d1["alpha"] == pytest.approx(8 / 9)
    f = stats.f.ppf  # Feldt with n = 4, k = 2: F(3, 3)
    assert d1["ci_low"] == pytest.approx(1 - (1 / 9) * f(0.95, 3, 3))
    assert d1["ci_high"] == pytest.approx(1 - (1 / 9) * f(0.05, 3, 3))
    assert not d1["warning"]
    # overall (a, b, c), listwise: e2 answered c for no unit, so 3 enterprises remain.
    assert got.loc["overall", "n"] == 3 and got.loc["overall", "k"] == 3
    # a single-item dimension has no alpha, but still counts its enterprises.
    assert got.loc["d2", "n"] == 3 and np.isnan(got.loc["d2", "alpha"])


def test_n_is_the_number_of_enterprises_however_many_units_each_rated():
    rng = np.random.default_rng(5)
    per_enterprise = correlated_items(n=300, k=3).set_axis(["a", "b", "c"], axis=1)
    units = rng.integers(1, 6, size=300)  # 1 to 5 units each: about 900 rows
    rows = [(f"e{e}", f"u{u}", *per_enterprise.iloc[e]) for e in range(300) for u in range(units[e])]
    got = questionnaire_reliability(responses(rows), questionnaire(d1=["a", "b", "c"]), 0.95, 0.7)
    assert len(rows) == units.sum() > 600
    assert got["n"].tolist() == [300, 300]


def test_repeating_an_enterprises_answers_over_more_units_does_not_narrow_the_interval():
    per_enterprise = correlated_items(n=120, k=3).set_axis(["a", "b", "c"], axis=1)
    once = [(f"e{e}", "tax", *per_enterprise.iloc[e]) for e in range(120)]
    thrice = [
        (f"e{e}", unit, *per_enterprise.iloc[e]) for e in range(120) for unit in ("tax", "customs", "power")
    ]
    q = questionnaire(d1=["a", "b", "c"])
    one = questionnaire_reliability(responses(once), q, 0.95, 0.7).set_index("scope")
    three = questionnaire_reliability(responses(thrice), q, 0.95, 0.7).set_index("scope")
    pd.testing.assert_frame_equal(one, three)
    assert three.loc["d1", "n"] == 120
    # Counted per row, as before, the same answers would claim 360 observations and a narrower interval:
    per_row = cronbach_alpha(responses(thrice)[["a", "b", "c"]])
    assert per_row["ci_high"] - per_row["ci_low"] < 0.6 * (
        three.loc["d1", "ci_high"] - three.loc["d1", "ci_low"]
    )


def test_pairwise_alpha_by_hand_with_the_smallest_pairwise_count_as_n():
    rows = [
        ("e1", "tax", 2, 1, 1),
        ("e2", "tax", 6, 4, NAN), ("e2", "customs", 4, NAN, NAN),  # means a 5, b 4, c -
        ("e3", "tax", 3, 2, 3),
        ("e4", "tax", 1, NAN, 2),
        ("e5", "tax", NAN, 2, 2),
        ("e6", "tax", 4, 1, NAN),
    ]  # fmt: skip
    # Per enterprise (a, b, c): e1 (2, 1, 1), e2 (5, 4, -), e3 (3, 2, 3), e4 (1, -, 2), e5 (-, 2, 2),
    # e6 (4, 1, -). Each entry from the enterprises that answered it (ddof 1):
    #   var a over e1 e2 e3 e4 e6 = 2 5 3 1 4: mean 3, squares 1+4+0+4+1 = 10, 10/4 = 5/2
    #   var b over e1 e2 e3 e5 e6 = 1 4 2 2 1: mean 2, squares 1+4+0+0+1 = 6, 6/4 = 3/2
    #   var c over e1 e3 e4 e5 = 1 3 2 2: mean 2, squares 1+1+0+0 = 2, 2/3
    #   cov ab over e1 e2 e3 e6: a 2 5 3 4 (mean 7/2), b 1 4 2 1 (mean 2):
    #       (−3/2)(−1) + (3/2)(2) + (−1/2)(0) + (1/2)(−1) = 4, 4/3
    #   cov ac over e1 e3 e4: a 2 3 1 (mean 2), c 1 3 2 (mean 2): 0 + 1 + 0 = 1, 1/2
    #   cov bc over e1 e3 e5: b 1 2 2 (mean 5/3), c 1 3 2 (mean 2): 2/3 + 1/3 + 0 = 1, 1/2
    # Σ var = 5/2 + 3/2 + 2/3 = 14/3; Σ cov = 14/3 + 2 × (4/3 + 1/2 + 1/2) = 28/3
    # alpha = 3/2 × (1 − (14/3) / (28/3)) = 3/4; smallest pairwise count: 3 (ac and bc).
    q = questionnaire(d1=["a", "b", "c"])
    got = questionnaire_reliability(responses(rows), q, 0.9, 0.8, missing="pairwise").set_index("scope")
    d1 = got.loc["d1"]
    assert d1["alpha"] == pytest.approx(0.75)
    assert d1["n"] == 3 and d1["k"] == 3
    assert d1["ci_low"] == pytest.approx(1 - 0.25 * stats.f.ppf(0.95, 2, 4))  # F(n − 1, (n − 1)(k − 1))
    assert d1["ci_high"] == pytest.approx(1 - 0.25 * stats.f.ppf(0.05, 2, 4))
    assert d1["warning"]  # 0.75 < 0.8
    # Listwise keeps only e1 and e3: too few for an alpha.
    listwise = questionnaire_reliability(responses(rows), q, 0.9, 0.8).set_index("scope").loc["d1"]
    assert listwise["n"] == 2 and np.isnan(listwise["alpha"])


def test_pairwise_equals_listwise_without_gaps_and_unknown_handling_is_refused():
    items = correlated_items(n=80, k=4)
    assert cronbach_alpha(items, missing="pairwise") == pytest.approx(cronbach_alpha(items))
    with pytest.raises(ValueError, match="listwise"):
        cronbach_alpha(items, missing="available")
