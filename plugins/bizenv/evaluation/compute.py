"""The numbers of a period, computed in memory before anything is written: weights, unit scores,
indicator scores, the composite, ranks and their uncertainty."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bizenv.evaluation.rules import Rules
from bizenv.indicators.frontier import city_levels, frontier_scores, unit_indicator_scores
from bizenv.periods import Period
from bizenv.ranking.composite import composite, effective_shares
from bizenv.ranking.ranks import rank_in_groups
from bizenv.ranking.uncertainty import rank_uncertainty
from bizenv.schemas.models import Policy, Questionnaire, Registry
from bizenv.scoring.raking import rake, read_margins
from bizenv.scoring.satisfaction import OVERALL, respondent_scores, unit_scores
from bizenv.validate.reliability import questionnaire_reliability

GROUP_BY = ["group_code", "level"]


def respondent_weights(
    responses: pd.DataFrame, questionnaire: Questionnaire, margins: Path | None, policy: Policy
) -> tuple[pd.Series, pd.DataFrame | None, dict]:
    """One weight per response row: the respondent's, raked once over respondents (not rows),
    within the policy's weight bounds. Also the respondents' raked attributes (None unraked),
    which the standard errors need for the calibration residuals."""
    if margins is None:
        return pd.Series(1.0, index=responses.index), None, {"method": "none"}
    margin_table = read_margins(margins, questionnaire)
    attributes = list(dict.fromkeys(margin_table["attribute"]))
    respondents = (
        responses.sort_values("submitted_at")
        .groupby("respondent_hash")
        .last()  # latest answers describe the firm
    )
    result = rake(respondents, margin_table, bounds=policy.raking.weight_bounds)
    weights = responses["respondent_hash"].map(result.weights)
    calibration = respondents[attributes].astype(str).apply(lambda column: column.str.strip())
    return (
        weights,
        calibration,
        {
            "method": "raking",
            "margins": str(margins),
            "attributes": sorted(attributes),
            "respondents": len(respondents),
            "iterations": result.iterations,
            "max_relative_error": result.max_relative_error,
            "weight_bounds": list(policy.raking.weight_bounds) if policy.raking.weight_bounds else None,
            "weights_at_bounds": result.at_bounds,
        },
    )


def build_rankings(
    unit_table: pd.DataFrame,
    overall: pd.DataFrame,
    indicator_scores: pd.DataFrame,
    indicator_rows: pd.DataFrame,
    period: Period,
    policy: Policy,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per registered unit with its satisfaction, indicator score, composite, rank and
    rank uncertainty; and per group the composite's effective weights (`composite_shares`).

    A surveyed unit under the minimum sample is not ranked and does not take part in its
    group's normalisation. A unit with one part is ranked on it (policy `composite.single_part`:
    with `not_ranked`, a unit without survey data is not ranked; a unit without metrics always
    is, so that having no metrics never takes a unit out of the bottom-five rule)."""
    frame = unit_table.merge(
        overall.rename(
            columns={
                "score": "satisfaction_index",
                "std_error": "satisfaction_se",
                "ci_low": "satisfaction_ci_low",
                "ci_high": "satisfaction_ci_high",
            }
        ),
        on="unit_code",
        how="left",
    ).merge(indicator_scores, on="unit_code", how="left")
    frame["n_respondents"] = frame["n_respondents"].fillna(0).astype(int)
    frame["n_indicators"] = frame["n_indicators"].fillna(0).astype(int)
    frame["satisfaction_ci_low"] = frame["satisfaction_ci_low"].clip(0, 100)
    frame["satisfaction_ci_high"] = frame["satisfaction_ci_high"].clip(0, 100)
    surveyed_too_few = (frame["n_respondents"] > 0) & (frame["n_respondents"] < policy.min_respondents)
    usable_sat = frame["satisfaction_index"].notna() & ~surveyed_too_few
    usable_ind = frame["indicator_score"].notna()
    rankable = ~surveyed_too_few & (usable_sat | usable_ind)
    if policy.composite.single_part == "not_ranked":
        rankable &= usable_sat
    parts = frame.loc[rankable, [*GROUP_BY, "unit_code"]].assign(
        satisfaction_index=frame["satisfaction_index"].where(usable_sat),
        satisfaction_se=frame["satisfaction_se"].where(usable_sat),
        indicator_score=frame["indicator_score"],
    )
    scored = composite(parts, policy, GROUP_BY)
    frame["composite_score"] = scored["composite_score"]
    frame["satisfaction_normalised"] = scored["satisfaction_normalised"]
    frame["indicators_normalised"] = scored["indicators_normalised"]
    frame["composite_basis"] = np.select(
        [
            surveyed_too_few,
            ~rankable & (usable_sat | usable_ind),
            usable_sat & usable_ind,
            usable_sat,
            usable_ind,
        ],
        ["insufficient_sample", "not_ranked", "both", "satisfaction_only", "indicators_only"],
        "none",
    )
    frame["ranked"] = frame["composite_score"].notna()
    frame["rank"] = rank_in_groups(frame, GROUP_BY)
    frame = frame.join(rank_uncertainty(scored.assign(ranked=True), indicator_rows, policy, GROUP_BY))
    frame["group_size"] = frame.groupby(GROUP_BY)["unit_code"].transform("size")
    frame["group_ranked"] = frame.groupby(GROUP_BY)["ranked"].transform("sum")
    frame["period"] = period.label
    frame["policy_version"] = policy.version
    shares = effective_shares(scored, policy, GROUP_BY).assign(period=period.label)
    return frame.sort_values(["group_code", "level", "rank", "unit_code"], ignore_index=True), shares


def _unit_table(registry: Registry) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"unit_code": u.code, "unit_name": u.name, "group_code": u.group, "level": u.level}
            for u in registry.units
            if u.active
        ]
    )


@dataclass(frozen=True)
class PeriodResults:
    """Everything a period's evaluation derives, before any of it is written."""

    period: Period
    responses: pd.DataFrame
    weights: pd.Series  # per response row
    weighting: dict
    scored: pd.DataFrame  # respondent_scores output
    scores: pd.DataFrame  # unit_scores output
    reliability: pd.DataFrame
    indicator_rows: pd.DataFrame  # frontier_scores output (empty without metrics)
    city: pd.DataFrame
    city_summary: dict
    rankings: pd.DataFrame
    shares: pd.DataFrame


def indicator_part(
    metrics: pd.DataFrame, rules: Rules
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Frontier scores per (unit, indicator), each unit's indicator score, and the city's levels."""
    policy = rules.policy
    if metrics.empty:
        rows = pd.DataFrame()
    else:
        rows = frontier_scores(metrics, rules.catalogue, policy.min_units_for_observed_frontier)
    if rows.empty:
        return (
            rows,
            pd.DataFrame(columns=["unit_code", "indicator_score", "n_indicators"]),
            pd.DataFrame(columns=["indicator", "city_value", "n_units", "level"]),
            {"indicators": 0},
        )
    city, summary = city_levels(rows, rules.catalogue, policy.indicator_targets)
    return rows, unit_indicator_scores(rows), city, summary


def compute_period(
    responses: pd.DataFrame, metrics: pd.DataFrame, period: Period, rules: Rules, margins: Path | None
) -> PeriodResults:
    questionnaire, policy, reliability_rules = rules.questionnaire, rules.policy, rules.checks.reliability
    reliability = questionnaire_reliability(
        responses,
        questionnaire,
        reliability_rules.confidence_level,
        reliability_rules.alpha_warning_below,
        missing=reliability_rules.missing,
    )
    weights, calibration, weighting = respondent_weights(responses, questionnaire, margins, policy)
    scored = respondent_scores(responses.assign(weight=weights), questionnaire)
    scores = unit_scores(scored, questionnaire, policy.confidence_level, calibration)
    overall = scores[scores["dimension"] == OVERALL].drop(columns="dimension")
    indicator_rows, per_unit, city, city_summary = indicator_part(metrics, rules)
    rankings, shares = build_rankings(
        _unit_table(rules.registry), overall, per_unit, indicator_rows, period, policy
    )
    rankings["weighting"] = weighting["method"]
    return PeriodResults(
        period, responses, weights, weighting, scored, scores, reliability,
        indicator_rows, city, city_summary, rankings, shares,
    )  # fmt: skip
