import pandas as pd
import pytest

from bizenv.indicators.frontier import (
    city_levels,
    frontier_scores,
    unit_indicator_scores,
    units_short_of_observed_frontier,
)
from bizenv.schemas import load_indicators, load_policy

CATALOGUE = load_indicators()
MIN_UNITS = load_policy().min_units_for_observed_frontier  # 5


def metrics(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["unit_code", "indicator", "value"])


def test_lower_is_better_frontier_score_by_hand():
    # business_startup_days: best 0.5, worst 10 → 100 × (10 − 3) / (10 − 0.5) = 73.684...
    out = frontier_scores(
        metrics([("market_regulation", "business_startup_days", 3.0)]), CATALOGUE, MIN_UNITS
    ).iloc[0]
    assert out["frontier_score"] == pytest.approx(100 * 7 / 9.5)
    assert out["frontier_source"] == "catalogue"
    assert out["level"] == "advanced"  # 3 ≤ advanced 3, > leading 1


def test_higher_is_better_frontier_score_by_hand_and_clipping():
    # online_service_rate: best 100, worst 60 → 92 gives 100 × (92 − 60) / 40 = 80; 50 clips to 0.
    rows = [("admin_approval", "online_service_rate", 92.0), ("hr_social", "online_service_rate", 50.0),
            ("tax", "online_service_rate", 99.0)]  # fmt: skip
    out = frontier_scores(metrics(rows), CATALOGUE, MIN_UNITS).set_index("unit_code")
    assert out.loc["admin_approval", "frontier_score"] == pytest.approx(80.0)
    assert out.loc["hr_social", "frontier_score"] == 0.0
    assert out["level"].to_dict() == {"admin_approval": "advanced", "hr_social": "lagging", "tax": "leading"}


def test_without_a_catalogue_frontier_the_period_values_set_it_and_it_is_recorded():
    # complaint_resolution_rate (higher is better) has no frontier in the catalogue; 5 units
    # report it, exactly the policy's minimum, so the derived frontier is used.
    values = [80.0, 85.0, 90.0, 95.0, 100.0]
    units = ["ndrc", "econ_info", "commerce", "market_regulation", "urban_management"]
    out = frontier_scores(
        metrics([(u, "complaint_resolution_rate", v) for u, v in zip(units, values, strict=True)]),
        CATALOGUE,
        MIN_UNITS,
    )
    worst = pd.Series(values).quantile(0.05)  # 5th percentile from the worst (low) end: 81.0
    assert set(out["frontier_source"]) == {"observed"}
    assert out["frontier_best"].unique().tolist() == [100.0]
    assert out["frontier_worst"].unique().tolist() == [pytest.approx(worst)]
    scores = out.set_index("unit_code")["frontier_score"]
    assert scores["ndrc"] == 0.0  # below the derived worst: clipped
    assert scores["commerce"] == pytest.approx(100 * (90 - worst) / (100 - worst))
    assert scores["urban_management"] == 100.0


def test_unit_indicator_score_is_the_weighted_mean_of_its_frontier_scores():
    rows = [
        ("market_regulation", "business_startup_days", 0.5),
        ("market_regulation", "business_startup_procedures", 7),
    ]
    scored = frontier_scores(metrics(rows), CATALOGUE, MIN_UNITS)
    per_unit = unit_indicator_scores(scored).set_index("unit_code")
    # 100 with weight 1.0 and 0 with weight 0.5 → 100 × 1 / 1.5
    assert per_unit.loc["market_regulation", "indicator_score"] == pytest.approx(100 / 1.5)
    assert per_unit.loc["market_regulation", "n_indicators"] == 2


def test_city_shares_against_the_70_30_targets():
    rows = [
        ("market_regulation", "business_startup_days", 0.8),  # leading
        ("power_supply", "electricity_connection_days", 15),  # advanced
        ("water_group", "water_connection_days", 20),  # lagging
        ("tax", "tax_payment_hours", 70),  # leading
    ]
    city, summary = city_levels(
        frontier_scores(metrics(rows), CATALOGUE, MIN_UNITS), CATALOGUE, load_policy().indicator_targets
    )
    assert summary["share_advanced_or_better"] == 0.75 and summary["share_leading"] == 0.5
    assert summary["meets_targets"] is True
    assert city.set_index("indicator").loc["water_connection_days", "level"] == "lagging"


COMPLAINTS = ["ndrc", "econ_info", "commerce", "market_regulation", "urban_management", "emergency"]


def complaints(n_units: int) -> pd.DataFrame:
    """complaint_resolution_rate (no catalogue frontier) from the first n units: 80, 85, 90, ..."""
    return metrics(
        [(u, "complaint_resolution_rate", 80.0 + 5 * i) for i, u in enumerate(COMPLAINTS[:n_units])]
    )


def test_a_derived_frontier_from_fewer_units_than_the_minimum_is_not_scored():
    # 4 units, one short of 5: 80 against 95 would otherwise score 0 against 100.
    out = frontier_scores(complaints(4), CATALOGUE, MIN_UNITS)
    assert set(out["frontier_source"]) == {"insufficient_units"}
    assert out["frontier_score"].isna().all()
    assert out["frontier_best"].isna().all() and out["frontier_worst"].isna().all()
    # value and level are kept: the benchmarks (advanced 95, leading 99) need no frontier.
    assert out["value"].tolist() == [80.0, 85.0, 90.0, 95.0]
    assert out["level"].tolist() == ["lagging", "lagging", "lagging", "advanced"]


def test_the_minimum_is_inclusive_and_counts_distinct_units():
    assert set(frontier_scores(complaints(5), CATALOGUE, 5)["frontier_source"]) == {"observed"}
    assert set(frontier_scores(complaints(5), CATALOGUE, 6)["frontier_source"]) == {"insufficient_units"}
    # two units, each reported twice, are two units: still below a minimum of 3
    twice = pd.concat([complaints(2), complaints(2)])
    assert set(frontier_scores(twice, CATALOGUE, 3)["frontier_source"]) == {"insufficient_units"}
    assert set(frontier_scores(twice, CATALOGUE, 2)["frontier_source"]) == {"observed"}


def test_the_minimum_does_not_apply_where_the_catalogue_gives_the_frontier():
    # one unit, catalogue frontier (best 0.5, worst 10): scored as before
    out = frontier_scores(metrics([("market_regulation", "business_startup_days", 3.0)]), CATALOGUE, 5)
    assert out["frontier_source"].tolist() == ["catalogue"]
    assert out["frontier_score"].tolist() == [pytest.approx(100 * 7 / 9.5)]


def test_the_default_minimum_is_the_policys_default():
    # evaluate.py may not pass the policy's value yet; the default must still be 5
    assert set(frontier_scores(complaints(4), CATALOGUE)["frontier_source"]) == {"insufficient_units"}
    assert set(frontier_scores(complaints(5), CATALOGUE)["frontier_source"]) == {"observed"}


def test_units_short_of_observed_frontier_lists_only_derived_frontiers_below_the_minimum():
    rows = complaints(2).values.tolist() + [
        ("tax", "tax_payment_hours", 70.0),  # catalogue frontier: never short, even from one unit
    ]
    short = units_short_of_observed_frontier(metrics(rows), CATALOGUE, 5)
    assert short.to_dict() == {"complaint_resolution_rate": 2}
    assert units_short_of_observed_frontier(complaints(5), CATALOGUE, 5).empty


def test_unit_indicator_score_leaves_out_unscored_indicators():
    rows = complaints(2).values.tolist() + [("market_regulation", "business_startup_days", 0.5)]
    per_unit = unit_indicator_scores(frontier_scores(metrics(rows), CATALOGUE, MIN_UNITS)).set_index(
        "unit_code"
    )
    # market_regulation: business_startup_days 100 (weight 1.0); its complaint rate is unscored
    # and must neither pull the mean down nor add its weight: 100, over 1 indicator.
    assert per_unit.loc["market_regulation", "indicator_score"] == 100.0
    assert per_unit.loc["market_regulation", "n_indicators"] == 1
    # ndrc reported only the unscored indicator: no indicator score at all, not 0.
    assert "ndrc" not in per_unit.index
    # at the threshold the same indicator counts again
    rows = complaints(5).values.tolist() + [("market_regulation", "business_startup_days", 0.5)]
    per_unit = unit_indicator_scores(frontier_scores(metrics(rows), CATALOGUE, MIN_UNITS)).set_index(
        "unit_code"
    )
    assert per_unit.loc["market_regulation", "n_indicators"] == 2
    assert per_unit.loc["ndrc", "indicator_score"] == 0.0  # 80, below the derived worst
