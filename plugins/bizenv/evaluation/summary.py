"""The JSON summary of an evaluation: what staff and monitoring read first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, NotRequired, Protocol, TypedDict, cast

import pandas as pd

from bizenv.evaluation.compute import PeriodResults
from bizenv.evaluation.rules import Rules
from bizenv.schemas.models import Normalisation, Policy, SinglePart
from bizenv.validate import results as validation
from bizenv.validate.gx_runner import Outcome


class ValidationCounts(TypedDict):
    """How the period's responses fared against the period suite."""

    expectations: int
    failed: int
    warnings: list[str]


class PeriodValidationSummary(ValidationCounts):
    """`validate_period`'s summary (the DAG's validation task)."""

    period: str
    responses: int
    data_docs: str | None


class CompositeWeightsSummary(TypedDict):
    satisfaction: float
    indicators: float


class EffectiveShares(TypedDict):
    """One group's effective shares of variance, rounded; None where not estimable."""

    units_with_both_parts: int
    satisfaction: float | None
    indicators: float | None
    correlation: float | None


class CompositeSummary(TypedDict):
    normalisation: Normalisation
    single_part: SinglePart
    weights: CompositeWeightsSummary
    effective_shares: dict[str, EffectiveShares]  # by "group_code/level"


class EvaluationSummary(TypedDict):
    """`evaluate_period`'s JSON summary: what `bizenv evaluate` prints and `pipeline_runs` keeps."""

    period: str
    status: Literal["done"]
    responses: int
    respondents: int
    units: int
    ranked: int
    excluded_incomplete: int
    weighting: dict[str, Any]  # `method` ("none" or "raking"), and the raking's details
    validation: Literal["validated before"] | ValidationCounts
    reliability: dict[str, float | None]  # Cronbach's alpha by scope
    reliability_warnings: list[str]
    indicators: dict[str, Any]  # the city's indicator levels against the policy targets
    composite: CompositeSummary
    composite_basis: dict[str, int]
    flags: dict[str, int]
    policy_version: str
    rederived_later_periods: NotRequired[list[str]]
    stale_outputs: NotRequired[str]
    outputs: NotRequired[dict[str, str]]  # the files written, when there was an output folder


# Rows read through `itertuples()`, whose attributes pandas-stubs types as the union of all pandas
# scalars: each loop casts them to the Protocol naming the columns it reads.
class _ShareRow(Protocol):
    group_code: str
    level: str
    n_units: int
    share_satisfaction: float
    share_indicators: float
    correlation: float


class _ReliabilityRow(Protocol):
    scope: str
    alpha: float
    warning: bool


def composite_summary(shares: pd.DataFrame, policy: Policy) -> CompositeSummary:
    """The JSON summary's view of the composite: method, weights, and each group's effective
    shares of variance (rounded; null where fewer than 3 units have both parts)."""

    def share(value: float) -> float | None:
        return None if pd.isna(value) else round(float(value), 3)

    return {
        "normalisation": policy.composite.normalisation,
        "single_part": policy.composite.single_part,
        "weights": {
            "satisfaction": policy.composite_weights.satisfaction,
            "indicators": policy.composite_weights.indicators,
        },
        "effective_shares": {
            f"{row.group_code}/{row.level}": {
                "units_with_both_parts": int(row.n_units),
                "satisfaction": share(row.share_satisfaction),
                "indicators": share(row.share_indicators),
                "correlation": share(row.correlation),
            }
            for row in cast(Iterator[_ShareRow], shares.itertuples())
        },
    }


def _counts(values: pd.Series) -> dict[str, int]:
    """How many times each value occurs, in the order of the values."""
    return {str(k): int(v) for k, v in values.value_counts().sort_index().items()}


def summarise(
    results: PeriodResults,
    flags: pd.DataFrame,
    outcomes: list[Outcome] | None,
    rederived: list[str],
    rules: Rules,
) -> EvaluationSummary:
    """`outcomes`: the period suite's results, or None when the period was validated before."""
    responses, rankings, reliability = results.responses, results.rankings, results.reliability
    alpha_floor = rules.checks.reliability.alpha_warning_below
    reliability_rows = list(cast(Iterator[_ReliabilityRow], reliability.itertuples()))
    summary: EvaluationSummary = {
        "period": results.period.label,
        "status": "done",
        "responses": int(len(responses)),
        "respondents": int(responses["respondent_hash"].nunique()),
        "units": int(len(rankings)),
        "ranked": int(rankings["ranked"].sum()),
        "excluded_incomplete": int((~results.scored["complete"]).sum()),
        "weighting": results.weighting,
        "validation": "validated before"
        if outcomes is None
        else {
            "expectations": len(outcomes),
            "failed": sum(not o.success for o in outcomes),
            "warnings": validation.warnings_of(outcomes),
        },
        "reliability": {
            row.scope: None if pd.isna(row.alpha) else round(row.alpha, 3) for row in reliability_rows
        },
        "reliability_warnings": [
            f"{row.scope}: Cronbach's alpha {row.alpha:.2f} is under {alpha_floor}"
            for row in reliability_rows
            if row.warning
        ],
        "indicators": results.city_summary,
        "composite": composite_summary(results.shares, rules.policy),
        "composite_basis": _counts(rankings["composite_basis"]),
        "flags": _counts(flags["flag"]),
        "policy_version": rules.policy.version,
    }
    if rederived:
        summary["rederived_later_periods"] = rederived
        summary["stale_outputs"] = (
            f"flags of {', '.join(rederived)} were re-derived in the warehouse; "
            "re-run evaluate for those periods to refresh their files"
        )
    return summary
