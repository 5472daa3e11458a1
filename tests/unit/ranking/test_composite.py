import numpy as np
import pandas as pd
import pytest

from bizenv.ranking.composite import composite, effective_shares, normalise
from bizenv.schemas import load_policy

POLICY = load_policy()
BY = ["group_code", "level"]


def with_normalisation(method: str, single_part: str = "rank_on_available"):
    return POLICY.model_copy(
        update={
            "composite": POLICY.composite.model_copy(
                update={"normalisation": method, "single_part": single_part}
            )
        }
    )


def group(satisfaction, indicators, name="g") -> pd.DataFrame:
    n = len(satisfaction)
    return pd.DataFrame(
        {
            "unit_code": [f"{name}{i:02d}" for i in range(n)],
            "group_code": name,
            "level": "department",
            "satisfaction_index": satisfaction,
            "indicator_score": indicators,
        }
    )


def independent_departments(seed: int = 7, n: int = 21) -> pd.DataFrame:
    """Satisfaction a few points apart, metrics spread over the frontier, drawn independently."""
    rng = np.random.default_rng(seed)
    return group(rng.normal(70, 5, n), rng.uniform(0, 100, n))


def test_zscore_composite_by_hand():
    # Both parts are −1.2247, 0, 1.2247 standard deviations: composite z = the same, shown 50 + 10 z.
    out = composite(group([60.0, 70.0, 80.0], [0.0, 50.0, 100.0]), POLICY, BY)
    z = np.sqrt(1.5)
    assert out["composite_score"].tolist() == pytest.approx([50 - 10 * z, 50, 50 + 10 * z])


def test_zscore_weights_are_the_policy_weights_when_parts_disagree():
    # Unit 0 best on satisfaction, worst on metrics: 0.6 × 1.2247 − 0.4 × 1.2247 > 0.
    out = composite(group([80.0, 70.0, 60.0], [0.0, 50.0, 100.0]), POLICY, BY)
    z = np.sqrt(1.5)
    assert out.loc[0, "composite_score"] == pytest.approx(50 + 10 * (0.6 * z - 0.4 * z))
    assert out["composite_score"].idxmax() == 0


def test_minmax_maps_each_part_to_the_groups_range():
    out = composite(group([60.0, 65.0, 80.0], [10.0, 90.0, 50.0]), with_normalisation("minmax"), BY)
    assert out["satisfaction_normalised"].tolist() == pytest.approx([0, 25, 100])
    assert out["indicators_normalised"].tolist() == pytest.approx([0, 100, 50])
    assert out["composite_score"].tolist() == pytest.approx([0, 0.6 * 25 + 40, 60 + 20])


def test_none_keeps_the_raw_weighted_sum():
    out = composite(group([75.0, 50.0], [100.0, 0.0]), with_normalisation("none"), BY)
    assert out["composite_score"].tolist() == pytest.approx([0.6 * 75 + 0.4 * 100, 0.6 * 50])


def test_a_unit_with_one_part_is_scored_on_it_on_the_groups_scale():
    frame = group([60.0, 70.0, 80.0, 50.0], [0.0, 50.0, 100.0, np.nan])
    out = composite(frame, POLICY, BY)
    sat = frame["satisfaction_index"]
    expected_z = (50.0 - sat.mean()) / sat.std(ddof=0)
    assert out.loc[3, "composite_basis"] == "satisfaction_only"
    assert out.loc[3, "composite_score"] == pytest.approx(50 + 10 * expected_z)
    assert out["composite_score"].idxmin() == 3


def test_normalisation_is_within_each_group():
    frame = pd.concat([group([60.0, 80.0], [0.0, 100.0], "a"), group([10.0, 20.0], [40.0, 50.0], "b")])
    out = composite(frame.reset_index(drop=True), POLICY, BY)
    assert out["composite_score"].tolist() == pytest.approx([40, 60, 40, 60])


def test_a_part_on_which_all_units_are_equal_does_not_order_them():
    out = composite(group([70.0, 70.0, 70.0], [0.0, 50.0, 100.0]), POLICY, BY)
    assert out["satisfaction_normalised"].tolist() == [0, 0, 0]
    assert out["composite_score"].is_monotonic_increasing


@pytest.mark.parametrize("method", ["zscore", "minmax"])
def test_independent_parts_get_shares_near_their_policy_weights(method):
    policy = with_normalisation(method)
    shares = effective_shares(composite(independent_departments(), policy, BY), policy, BY).iloc[0]
    assert shares["share_satisfaction"] + shares["share_indicators"] == pytest.approx(1)
    assert abs(shares["share_satisfaction"] - 0.6) <= 0.15
    assert abs(shares["share_indicators"] - 0.4) <= 0.15


def test_raw_weighting_leaves_satisfaction_a_small_share():
    policy = with_normalisation("none")
    shares = effective_shares(composite(independent_departments(), policy, BY), policy, BY).iloc[0]
    assert shares["share_satisfaction"] < 0.15


def test_shares_need_three_units_with_both_parts():
    frame = group([60.0, 70.0, 80.0], [0.0, np.nan, 100.0])
    shares = effective_shares(composite(frame, POLICY, BY), POLICY, BY).iloc[0]
    assert shares["n_units"] == 2 and np.isnan(shares["share_satisfaction"])


def test_normalise_leaves_missing_parts_missing():
    out = normalise(np.array([1.0, np.nan, 3.0]), "zscore")
    assert np.isnan(out[1]) and out[0] == pytest.approx(-1)
    assert np.isnan(normalise(np.array([np.nan, np.nan]), "minmax")).all()
