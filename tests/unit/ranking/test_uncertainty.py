import numpy as np
import pandas as pd
import pytest

from bizenv.ranking.composite import composite
from bizenv.ranking.uncertainty import rank_uncertainty
from bizenv.schemas import load_policy

POLICY = load_policy()
BY = ["group_code", "level"]


def group(name: str, satisfaction, se, indicators=None) -> pd.DataFrame:
    n = len(satisfaction)
    frame = pd.DataFrame(
        {
            "unit_code": [f"{name}{i:02d}" for i in range(n)],
            "group_code": name,
            "level": "department",
            "satisfaction_index": satisfaction,
            "satisfaction_se": se,
            "indicator_score": np.nan if indicators is None else indicators,
            "ranked": True,
        }
    )
    return frame


def indicator_rows(units: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"unit_code": u, "indicator": f"i{k}", "frontier_score": s, "indicator_weight": 1.0}
        for u, scores in units.items()
        for k, s in enumerate(scores)
    ]
    return pd.DataFrame(rows, columns=["unit_code", "indicator", "frontier_score", "indicator_weight"])


def twelve(name: str = "g") -> pd.DataFrame:
    return group(name, np.linspace(60, 82, 12), 1.5)


def test_same_inputs_give_the_same_figures():
    frame = twelve()
    a = rank_uncertainty(frame, indicator_rows({}), POLICY, BY)
    b = rank_uncertainty(frame, indicator_rows({}), POLICY, BY)
    pd.testing.assert_frame_equal(a, b)


def test_adding_or_reordering_other_groups_changes_nothing_in_a_group():
    alone = rank_uncertainty(twelve("a"), indicator_rows({}), POLICY, BY)
    others = pd.concat([group("b", [70.0, 71.0, 50.0], 2.0), twelve("a"), group("c", [1.0, 2.0], 5.0)])
    together = rank_uncertainty(others.iloc[::-1].reset_index(drop=True), indicator_rows({}), POLICY, BY)
    mine = together.loc[together.index[::-1][3:15]].reset_index(drop=True)  # group a's rows, original order
    pd.testing.assert_frame_equal(mine, alone.reset_index(drop=True))


def test_units_tied_without_uncertainty_share_the_ties_range():
    frame = group("g", [80.0, 80.0, 70.0], 0.0)
    out = rank_uncertainty(frame, indicator_rows({}), POLICY, BY)
    assert out.loc[0, ["rank_ci_low", "rank_ci_high"]].tolist() == [1, 2]
    assert out.loc[2, ["rank_ci_low", "rank_ci_high"]].tolist() == [3, 3]


def test_bottom_probabilities_add_up_to_n_in_every_group():
    out = rank_uncertainty(twelve(), indicator_rows({}), POLICY, BY)
    assert out["p_bottom_n"].sum() == pytest.approx(POLICY.flags.bottom_n)
    assert out["p_top_n"].sum() == pytest.approx(POLICY.flags.top_n)


def test_a_clearly_worst_unit_is_almost_surely_in_the_bottom_n():
    frame = twelve()
    frame.loc[0, "satisfaction_index"] = 30.0
    out = rank_uncertainty(frame, indicator_rows({}), POLICY, BY)
    assert out.loc[0, "p_bottom_n"] == 1.0 and out.loc[0, "rank_median"] == 12
    assert out.loc[11, "p_bottom_n"] == 0.0


def test_interval_is_the_central_level_of_the_ranks_and_holds_the_median():
    out = rank_uncertainty(twelve(), indicator_rows({}), POLICY, BY)
    assert (out["rank_ci_low"] <= out["rank_median"]).all() and (
        out["rank_median"] <= out["rank_ci_high"]
    ).all()
    assert out["rank_ci_high"].max() == 12 and out["rank_ci_low"].min() == 1


def test_indicator_sets_are_a_source_of_uncertainty():
    # No sampling error at all: only the bootstrap of unit 0's very uneven indicators moves it.
    frame = group("g", [70.0, 70.0, 70.0], 0.0, indicators=[50.0, 45.0, 55.0])
    scores = indicator_rows({"g00": [0.0, 100.0, 50.0], "g01": [45.0, 45.0], "g02": [55.0, 55.0]})
    out = rank_uncertainty(frame, scores, POLICY, BY)
    assert out.loc[0, "rank_ci_low"] == 1 and out.loc[0, "rank_ci_high"] == 3
    fixed = POLICY.model_copy(
        update={"rank_intervals": POLICY.rank_intervals.model_copy(update={"bootstrap_indicators": False})}
    )
    out = rank_uncertainty(frame, scores, fixed, BY)
    assert out.loc[0, ["rank_ci_low", "rank_ci_high"]].tolist() == [2, 2]


def test_weights_are_a_source_of_uncertainty():
    # Unit 0 leads on satisfaction, unit 1 on metrics. In z-scores unit 0 wins from a
    # satisfaction weight of 0.559 up, in min-max from 0.567; from 0.645 (z) unit 3 passes unit 1
    # too. All inside the range 0.5-0.7, so each of these ranks is reached.
    frame = group("g", [80.0, 60.0, 50.0, 70.0], 0.0, indicators=[20.0, 90.0, 10.0, 40.0])
    scores = indicator_rows({"g00": [20.0], "g01": [90.0], "g02": [10.0], "g03": [40.0]})
    out = rank_uncertainty(frame, scores, POLICY, BY)
    assert out.loc[0, ["rank_ci_low", "rank_ci_high"]].tolist() == [1, 2]
    assert out.loc[1, ["rank_ci_low", "rank_ci_high"]].tolist() == [1, 3]
    assert out.loc[2, ["rank_ci_low", "rank_ci_high"]].tolist() == [4, 4]
    at_the_policy_weight = composite(frame, POLICY, BY)["composite_score"]
    assert at_the_policy_weight[0] > at_the_policy_weight[1]


def test_unranked_rows_get_nothing():
    frame = twelve()
    frame.loc[3, "ranked"] = False
    out = rank_uncertainty(frame, indicator_rows({}), POLICY, BY)
    assert out.loc[3].isna().all()
    assert out["p_bottom_n"].sum() == pytest.approx(POLICY.flags.bottom_n)
