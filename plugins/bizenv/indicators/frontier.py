"""Frontier scores and benchmark levels of department metrics.

Frontier score: 100 at the best value and 0 at the worst, linear between, clipped to [0, 100]:
    lower is better:  100 × (worst − x) / (worst − best)
    higher is better: 100 × (x − worst) / (best − worst)
Where the catalogue gives no frontier, best is the best value observed in the period and worst
the 5th percentile from the worst end of the period's values (recorded as `observed`); if all
observed values are equal there is nothing to compare and every unit scores 100.
A frontier derived from the period needs enough units to mean anything: with two units, 10.0
against 10.5 days would score 100 against 0, a difference of noise stretched over the whole
scale. So an indicator without a catalogue frontier that fewer than `min_units` distinct units
report (policy `min_units_for_observed_frontier`) is not scored: its rows keep their value and
level, `frontier_source` says `insufficient_units` and `frontier_score` is NaN. The cure is a
frontier in the catalogue, not a score made up from too few values.
Level: `leading` if at least as good as the leading benchmark, else `advanced` if at least as
good as the advanced one, else `lagging`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bizenv.schemas.models import IndicatorCatalogue, IndicatorTargets


def _catalogue_frame(catalogue: IndicatorCatalogue) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "indicator": i.code,
                "lower_is_better": i.direction == "lower",
                "catalogue_best": i.frontier.best if i.frontier else np.nan,
                "catalogue_worst": i.frontier.worst if i.frontier else np.nan,
                "advanced": i.benchmarks.advanced,
                "leading": i.benchmarks.leading,
                "indicator_weight": i.weight,
            }
            for i in catalogue.indicators
        ]
    )


MIN_UNITS_FOR_OBSERVED_FRONTIER = 5  # the policy's default; callers pass the policy's value


def units_short_of_observed_frontier(
    metrics: pd.DataFrame, catalogue: IndicatorCatalogue, min_units: int
) -> pd.Series:
    """Indicators that have no catalogue frontier and fewer than `min_units` distinct reporting
    units in `metrics` (`unit_code`, `indicator`), with their unit counts: the indicators
    `frontier_scores` will leave unscored. One definition, so that the loader's warning and the
    scoring cannot disagree."""
    without_frontier = {i.code for i in catalogue.indicators if i.frontier is None}
    counts = metrics[metrics["indicator"].isin(without_frontier)].groupby("indicator")["unit_code"].nunique()
    return counts[counts < min_units].sort_index()


def frontier_scores(
    metrics: pd.DataFrame, catalogue: IndicatorCatalogue, min_units: int = MIN_UNITS_FOR_OBSERVED_FRONTIER
) -> pd.DataFrame:
    """In: `unit_code`, `indicator`, `value`. Out adds `frontier_best`, `frontier_worst`,
    `frontier_source` (`catalogue`, `observed` or `insufficient_units`), `frontier_score` (0-100,
    NaN where not scored) and `level`. `min_units`: the fewest distinct reporting units from
    which a frontier may be derived (module docstring); the default is the policy's default, for
    callers that do not pass the policy's value yet."""
    frame = metrics.merge(_catalogue_frame(catalogue), on="indicator", how="left", validate="many_to_one")
    lower = frame["lower_is_better"].astype(bool)
    by_indicator = frame.groupby("indicator")["value"]
    observed_best = np.where(lower, by_indicator.transform("min"), by_indicator.transform("max"))
    observed_worst = np.where(
        lower,
        by_indicator.transform(lambda v: v.quantile(0.95)),
        by_indicator.transform(lambda v: v.quantile(0.05)),
    )
    from_catalogue = frame["catalogue_best"].notna()
    best = np.where(from_catalogue, frame["catalogue_best"], observed_best)
    worst = np.where(from_catalogue, frame["catalogue_worst"], observed_worst)
    value = frame["value"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(lower, (worst - value) / (worst - best), (value - worst) / (best - worst)) * 100.0
    raw = np.where(best == worst, 100.0, raw)
    short = units_short_of_observed_frontier(metrics, catalogue, min_units)
    too_few = frame["indicator"].isin(short.index).to_numpy()
    source = np.select([from_catalogue, too_few], ["catalogue", "insufficient_units"], default="observed")

    leading = np.where(lower, value <= frame["leading"], value >= frame["leading"])
    advanced = np.where(lower, value <= frame["advanced"], value >= frame["advanced"])
    level = np.select([leading, advanced], ["leading", "advanced"], default="lagging")
    return frame.assign(
        frontier_best=np.where(too_few, np.nan, best),
        frontier_worst=np.where(too_few, np.nan, worst),
        frontier_source=source,
        frontier_score=np.where(too_few, np.nan, np.clip(raw, 0.0, 100.0)),
        level=level,
    )[[*metrics.columns, "frontier_best", "frontier_worst", "frontier_source", "frontier_score", "level",
       "indicator_weight"]]  # fmt: skip


def unit_indicator_scores(scored: pd.DataFrame) -> pd.DataFrame:
    """Weighted mean of each unit's frontier scores: `unit_code`, `indicator_score`, `n_indicators`.
    Unscored indicators (NaN frontier score: too few units for a frontier) are left out, of the
    weights as well as the scores, and not counted in `n_indicators`; a unit with no scored
    indicator gets no row, as if it had reported nothing, rather than a score of 0."""
    scored = scored[scored["frontier_score"].notna()]
    weighted = scored.assign(product=scored["frontier_score"] * scored["indicator_weight"])
    sums = weighted.groupby("unit_code").agg(
        product=("product", "sum"), weight=("indicator_weight", "sum"), n_indicators=("indicator", "size")
    )
    return pd.DataFrame(
        {"indicator_score": sums["product"] / sums["weight"], "n_indicators": sums["n_indicators"]}
    ).reset_index()


def city_levels(
    scored: pd.DataFrame, catalogue: IndicatorCatalogue, targets: IndicatorTargets
) -> tuple[pd.DataFrame, dict]:
    """The city's value per indicator (median over the units reporting it), its level, and the
    shares of indicators at advanced-or-better and at leading level against the policy targets."""
    city = scored.groupby("indicator").agg(city_value=("value", "median"), n_units=("unit_code", "nunique"))
    city = city.reset_index().merge(_catalogue_frame(catalogue), on="indicator")
    lower = city["lower_is_better"]
    leading = np.where(lower, city["city_value"] <= city["leading"], city["city_value"] >= city["leading"])
    advanced = np.where(lower, city["city_value"] <= city["advanced"], city["city_value"] >= city["advanced"])
    city["level"] = np.select([leading, advanced], ["leading", "advanced"], default="lagging")
    n = len(city)
    share_advanced = float((city["level"] != "lagging").mean()) if n else float("nan")
    share_leading = float((city["level"] == "leading").mean()) if n else float("nan")
    summary = {
        "indicators": n,
        "share_advanced_or_better": share_advanced,
        "share_leading": share_leading,
        "target_advanced_or_better": targets.advanced_or_better,
        "target_leading": targets.leading,
        "meets_targets": bool(
            n and share_advanced >= targets.advanced_or_better and share_leading >= targets.leading
        ),
    }
    return city[["indicator", "city_value", "n_units", "level"]], summary
