"""build_rankings: which units are ranked on what, and that no unit escapes the bottom five by
having no metrics."""

import numpy as np
import pandas as pd
import pytest

from bizenv.evaluation.compute import build_rankings
from bizenv.periods import Period
from bizenv.schemas import load_policy

POLICY = load_policy()
P = Period.parse("2026H1")


def policy_with(single_part: str):
    return POLICY.model_copy(
        update={"composite": POLICY.composite.model_copy(update={"single_part": single_part})}
    )


def twelve_departments() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """u00..u09 with both parts; u10 surveyed without metrics and rated worst of all; u11 with
    metrics only; u12 surveyed below the minimum sample."""
    codes = [f"u{i:02d}" for i in range(13)]
    units = pd.DataFrame(
        {"unit_code": codes, "unit_name": codes, "group_code": "government", "level": "department"}
    )
    surveyed = codes[:11] + ["u12"]
    overall = pd.DataFrame(
        {
            "unit_code": surveyed,
            "n_respondents": [100] * 11 + [12],
            "score": [80.0 - i for i in range(10)] + [50.0, 60.0],
            "std_error": 1.0,
            "ci_low": 0.0,
            "ci_high": 100.0,
        }
    )
    rows = [
        {"unit_code": u, "indicator": "business_startup_days", "frontier_score": s, "indicator_weight": 1.0}
        for u, s in zip(codes[:10] + ["u11"], np.linspace(20, 80, 11), strict=True)
    ]
    indicator_rows = pd.DataFrame(rows)
    per_unit = indicator_rows.rename(columns={"frontier_score": "indicator_score"})[
        ["unit_code", "indicator_score"]
    ]
    return units, overall, per_unit.assign(n_indicators=1), indicator_rows


@pytest.mark.parametrize("single_part", ["rank_on_available", "not_ranked"])
def test_a_unit_without_metrics_is_ranked_on_satisfaction_and_can_be_bottom(single_part):
    rankings, _ = build_rankings(*twelve_departments(), P, policy_with(single_part))
    row = rankings.set_index("unit_code").loc["u10"]
    assert row["ranked"] and row["composite_basis"] == "satisfaction_only"
    assert row["rank"] == rankings["rank"].max()
    assert row["p_bottom_n"] > 0.9


def test_units_with_metrics_only_are_ranked_unless_the_policy_says_not():
    ranked, _ = build_rankings(*twelve_departments(), P, POLICY)
    assert ranked.set_index("unit_code").loc["u11", "composite_basis"] == "indicators_only"
    assert bool(ranked.set_index("unit_code").loc["u11", "ranked"])
    unranked, _ = build_rankings(*twelve_departments(), P, policy_with("not_ranked"))
    row = unranked.set_index("unit_code").loc["u11"]
    assert row["composite_basis"] == "not_ranked" and not row["ranked"] and pd.isna(row["rank"])


def test_a_unit_under_the_minimum_sample_takes_no_part_in_its_groups_normalisation():
    rankings, shares = build_rankings(*twelve_departments(), P, POLICY)
    by_unit = rankings.set_index("unit_code")
    assert by_unit.loc["u12", "composite_basis"] == "insufficient_sample" and not by_unit.loc["u12", "ranked"]
    sat = by_unit.loc[[f"u{i:02d}" for i in range(11)], "satisfaction_index"]
    expected = (sat - sat.mean()) / sat.std(ddof=0)
    assert by_unit.loc[sat.index, "satisfaction_normalised"].tolist() == pytest.approx(expected.tolist())
    assert shares.iloc[0]["n_units"] == 10
