import pandas as pd
import pytest

from bizenv.indicators.frontier import city_levels, frontier_scores, unit_indicator_scores
from bizenv.schemas import load_indicators, load_policy

CATALOGUE = load_indicators()


def metrics(rows) -> pd.DataFrame:  # noqa: ANN001
    return pd.DataFrame(rows, columns=["unit_code", "indicator", "value"])


def test_lower_is_better_frontier_score_by_hand():
    # business_startup_days: best 0.5, worst 10 → 100 × (10 − 3) / (10 − 0.5) = 73.684...
    out = frontier_scores(metrics([("market_regulation", "business_startup_days", 3.0)]), CATALOGUE).iloc[0]
    assert out["frontier_score"] == pytest.approx(100 * 7 / 9.5)
    assert out["frontier_source"] == "catalogue"
    assert out["level"] == "advanced"  # 3 ≤ advanced 3, > leading 1


def test_higher_is_better_frontier_score_by_hand_and_clipping():
    # online_service_rate: best 100, worst 60 → 92 gives 100 × (92 − 60) / 40 = 80; 50 clips to 0.
    rows = [("admin_approval", "online_service_rate", 92.0), ("hr_social", "online_service_rate", 50.0),
            ("tax", "online_service_rate", 99.0)]  # fmt: skip
    out = frontier_scores(metrics(rows), CATALOGUE).set_index("unit_code")
    assert out.loc["admin_approval", "frontier_score"] == pytest.approx(80.0)
    assert out.loc["hr_social", "frontier_score"] == 0.0
    assert out["level"].to_dict() == {"admin_approval": "advanced", "hr_social": "lagging", "tax": "leading"}


def test_without_a_catalogue_frontier_the_period_values_set_it_and_it_is_recorded():
    # complaint_resolution_rate (higher is better) has no frontier in the catalogue.
    values = [80.0, 85.0, 90.0, 95.0, 100.0]
    units = ["ndrc", "econ_info", "commerce", "market_regulation", "urban_management"]
    out = frontier_scores(
        metrics([(u, "complaint_resolution_rate", v) for u, v in zip(units, values, strict=True)]), CATALOGUE
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
    scored = frontier_scores(metrics(rows), CATALOGUE)
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
        frontier_scores(metrics(rows), CATALOGUE), CATALOGUE, load_policy().indicator_targets
    )
    assert summary["share_advanced_or_better"] == 0.75 and summary["share_leading"] == 0.5
    assert summary["meets_targets"] is True
    assert city.set_index("indicator").loc["water_connection_days", "level"] == "lagging"
