"""Each generated expectation fails on a fixture built to break it and passes on clean data."""

import socket

import pandas as pd
import pytest

from bizenv.ingest import canonical
from bizenv.ingest.reading import RawTable
from bizenv.ingest.rows import check_rows
from bizenv.periods import Period
from bizenv.schemas import load_indicators, load_questionnaire, load_registry, load_validation
from bizenv.validate.gx_runner import run_suite
from bizenv.validate.results import critical_failures
from bizenv.validate.suites import metrics_specs, survey_specs
from tests.builders import LABELS, survey_row

Q = load_questionnaire()
PERIOD = Period.parse("2026H1")


def parsed(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, index=pd.RangeIndex(2, 2 + len(rows)))
    table = RawTable(path="b.csv", frame=frame, file_format="csv", encoding="utf-8", batch_id="x")
    checked = check_rows(
        canonical.to_standard(table, Q), period=PERIOD, registry=load_registry(), questionnaire=Q, salt="s",
        fieldwork_grace_days=45,
    )  # fmt: skip
    return checked.parsed


def outcomes_by_rule(rows: list[dict]) -> dict[str, bool]:
    results = run_suite("t", parsed(rows), survey_specs(Q, load_validation(), PERIOD, 45))
    by_rule: dict[str, bool] = {}
    for o in results:
        by_rule[o.rule] = by_rule.get(o.rule, True) and o.success
    return by_rule


def clean(n: int = 20) -> list[dict]:
    return [survey_row(respondent=i) for i in range(n)]


def test_clean_batch_passes_every_expectation():
    assert all(outcomes_by_rule(clean()).values())


@pytest.mark.parametrize(
    ("rule", "override"),
    [
        ("respondent_key_present", {"respondent_id": ""}),
        ("credit_code_shape", {"respondent_id": "1234"}),
        ("unit_in_registry", {"unit": "市教育局"}),
        ("submitted_in_period", {"submitted_at": "2025-11-30T10:00:00"}),
        ("answers_on_scale", {LABELS[4]: "很好"}),
        ("attributes_allowed", {"district": "武昌区"}),
        ("duration_not_negative", {"duration_seconds": "-5"}),
    ],
)
def test_each_expectation_fails_on_its_broken_fixture(rule, override):
    rows = clean()
    for i in range(5):  # a quarter of the batch: beyond every `mostly`
        broken = {k: (v + str(i) if v == "1234" else v) for k, v in override.items()}
        rows[i] = survey_row(respondent=i, **broken)
    results = outcomes_by_rule(rows)
    assert results[rule] is False
    assert all(ok for other, ok in results.items() if other != rule), results


def test_duplicate_pairs_fail_the_uniqueness_expectation():
    rows = clean()
    rows.append(survey_row(respondent=0))
    assert outcomes_by_rule(rows)["respondent_unit_unique"] is False


def test_critical_failures_are_named_with_counts():
    rows = clean()
    for i in range(5):
        rows[i] = survey_row(respondent=i, unit="市教育局")
    results = run_suite("t", parsed(rows), survey_specs(Q, load_validation(), PERIOD, 45))
    assert critical_failures(results) == ["unit_in_registry (unit_code): 5 of 20 rows unexpected"]


def test_metrics_suite_checks_bounds_per_indicator():
    frame = pd.DataFrame(
        {
            "unit_code": ["tax", "tax", None],
            "indicator": ["tax_payment_hours", "online_service_rate", "online_service_rate"],
            "value": [1200.0, 95.0, 101.0],
        }
    )
    results = run_suite("m", frame, metrics_specs(load_indicators(), load_validation()))
    failed = sorted((o.rule, o.column, o.unexpected_count) for o in results if not o.success)
    # tax_payment_hours 1200 > 1000 and online_service_rate 101 > 100: one failure per indicator
    assert failed == [
        ("unit_in_registry", "unit_code", 1),
        ("value_in_bounds", "value", 1),
        ("value_in_bounds", "value", 1),
    ]


def test_great_expectations_runs_offline_with_analytics_off(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("Great Expectations tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    results = run_suite("offline", parsed(clean(3)), survey_specs(Q, load_validation(), PERIOD, 45))
    assert results and all(o.success for o in results)
    import os

    assert os.environ["GX_ANALYTICS_ENABLED"] == "False"
