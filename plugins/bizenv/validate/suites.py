"""Expectation suites generated from the schema files: one source of truth for every rule.

Each builder returns `Spec`s for `gx_runner.run_suite`; the rule names and their `critical` and
`mostly` settings come from `survey_schemas/validation.yaml`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from bizenv.periods import Period
from bizenv.schemas.models import (
    ExpectationRule,
    IndicatorCatalogue,
    Questionnaire,
    Registry,
    ValidationConfig,
)
from bizenv.uscc import ALPHABET
from bizenv.validate.gx_runner import Spec


def _spec(rules: dict[str, ExpectationRule], rule: str, expectation: str, **kwargs) -> Spec:  # noqa: ANN003
    """A Spec whose criticality and `mostly` come from the rule's entry in validation.yaml."""
    return Spec(rule, rules[rule].critical, expectation, {**kwargs, "mostly": rules[rule].mostly})


def fieldwork_window(period: Period, grace_days: int) -> tuple[datetime, datetime]:
    """When answers count for `period`: from its first day up to, not including, the day after
    its last day plus `grace_days` of late fieldwork. The row checks and the suites both use it."""
    start = datetime(period.start.year, period.start.month, period.start.day)
    end = datetime(period.end.year, period.end.month, period.end.day) + timedelta(days=grace_days + 1)
    return start, end


def _window(period: Period, grace_days: int) -> tuple[datetime, datetime]:
    """The fieldwork window with its last instant included, as `ExpectColumnValuesToBeBetween` wants."""
    start, end = fieldwork_window(period, grace_days)
    return start, end - timedelta(microseconds=1)


def survey_specs(
    questionnaire: Questionnaire, config: ValidationConfig, period: Period, grace_days: int
) -> list[Spec]:
    """Suite for a batch's parsed rows (`CheckedRows.parsed`)."""
    rules = config.survey.expectations

    spec = partial(_spec, rules)
    start, end = _window(period, grace_days)
    on_scale = [*questionnaire.scale.labels, *questionnaire.missing_labels]
    on_scale += [str(v) for v in range(1, questionnaire.scale.points + 1)]
    specs = [
        spec("respondent_key_present", "ExpectColumnValuesToNotBeNull", column="respondent_key"),
        spec("unit_in_registry", "ExpectColumnValuesToNotBeNull", column="unit_code"),
        spec(
            "submitted_in_period",
            "ExpectColumnValuesToBeBetween",
            column="submitted_at",
            min_value=start,
            max_value=end,
        ),
        spec(
            "duration_not_negative", "ExpectColumnValuesToBeBetween", column="duration_seconds", min_value=0
        ),
        # a missing key or unit is the business of the expectations above
        spec(
            "respondent_unit_unique",
            "ExpectCompoundColumnsToBeUnique",
            column_list=["respondent_key", "unit_code"],
            ignore_row_if="any_value_is_missing",
        ),
    ]
    if questionnaire.respondent.key.format == "uscc":
        specs.append(
            spec("credit_code_shape", "ExpectColumnValuesToMatchRegex", column="respondent_key",
                 regex=f"^[{ALPHABET}{ALPHABET.lower()}]{{18}}$")
        )  # fmt: skip
    specs += [
        spec("answers_on_scale", "ExpectColumnValuesToBeInSet", column=item.code, value_set=on_scale)
        for item in questionnaire.items()
    ]
    specs += [
        spec("attributes_allowed", "ExpectColumnValuesToBeInSet", column=a.code, value_set=a.values)
        for a in questionnaire.respondent.attributes
        if a.values
    ]
    return specs


def metrics_specs(catalogue: IndicatorCatalogue, config: ValidationConfig) -> list[Spec]:
    """Suite for a metrics batch: `unit_code` (None if unknown), `indicator`, `value` (NaN if not a number)."""
    rules = config.metrics.expectations

    spec = partial(_spec, rules)
    specs = [
        spec("unit_in_registry", "ExpectColumnValuesToNotBeNull", column="unit_code"),
        spec("indicator_known", "ExpectColumnValuesToBeInSet", column="indicator",
             value_set=[i.code for i in catalogue.indicators]),
        spec("unit_indicator_unique", "ExpectCompoundColumnsToBeUnique", column_list=["unit_code", "indicator"]),
    ]  # fmt: skip
    specs += [
        spec(
            "value_in_bounds",
            "ExpectColumnValuesToBeBetween",
            column="value",
            min_value=indicator.bounds.min,
            max_value=indicator.bounds.max,
            row_condition=f'indicator=="{indicator.code}"',
            condition_parser="pandas",
        )
        for indicator in catalogue.indicators
    ]
    return specs


def period_specs(
    questionnaire: Questionnaire,
    registry: Registry,
    config: ValidationConfig,
    period: Period,
    grace_days: int,
) -> list[Spec]:
    """Suite for all accepted responses of a period, as `evaluate` reads them."""
    rules = config.period.expectations

    spec = partial(_spec, rules)
    start, end = _window(period, grace_days)
    specs = [
        spec("respondent_unit_unique", "ExpectCompoundColumnsToBeUnique", column_list=["respondent_hash", "unit_code"]),
        spec("unit_in_registry", "ExpectColumnValuesToBeInSet", column="unit_code",
             value_set=[u.code for u in registry.units if u.active]),
        spec("submitted_in_period", "ExpectColumnValuesToBeBetween", column="submitted_at", min_value=start, max_value=end),
    ]  # fmt: skip
    specs += [
        spec("scores_on_scale", "ExpectColumnValuesToBeBetween", column=item.code, min_value=1,
             max_value=questionnaire.scale.points)
        for item in questionnaire.items()
    ]  # fmt: skip
    specs += [
        spec("attributes_allowed", "ExpectColumnValuesToBeInSet", column=a.code, value_set=a.values)
        for a in questionnaire.respondent.attributes
        if a.values
    ]
    return specs
