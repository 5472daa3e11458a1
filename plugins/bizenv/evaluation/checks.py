"""The period's accepted responses against the period suite, before anything is scored."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from bizenv.errors import GateRefused
from bizenv.evaluation.inputs import read_period_responses
from bizenv.evaluation.summary import PeriodValidationSummary
from bizenv.periods import Period
from bizenv.schemas import load_policy, load_questionnaire, load_registry, load_validation
from bizenv.validate import results as validation
from bizenv.validate.gx_runner import Outcome, docs_index, run_suite
from bizenv.validate.suites import period_specs
from bizenv.warehouse.engine import require_migrated


def validate_responses(
    engine: Engine, responses: pd.DataFrame, period: Period, docs_dir: Path | None = None
) -> list[Outcome]:
    """Run the period suite over the accepted responses, store the outcomes, refuse on a failed
    critical expectation (`GateRefused`, exit 1)."""
    if responses.empty:
        return []
    questionnaire, registry, policy = load_questionnaire(), load_registry(), load_policy()
    outcomes = run_suite(
        f"period_{period.label}",
        responses.reset_index(drop=True),
        period_specs(questionnaire, registry, load_validation(), period, policy.fieldwork_grace_days),
        docs_dir=docs_dir,
    )
    critical = validation.critical_failures(outcomes)
    if critical:
        with engine.begin() as conn:
            validation.store(conn, batch_id=None, period=period.label, suite="period", outcomes=outcomes)
        raise GateRefused(
            f"period {period.label} failed critical expectations, nothing was scored: {'; '.join(critical)}"
        )
    return outcomes


def validate_period(engine: Engine, period: str, docs_dir: Path | None = None) -> PeriodValidationSummary:
    """The period's accepted responses against the period suite (the DAG's validation task)."""
    require_migrated(engine)
    period_ = Period.parse(period)
    with engine.connect() as conn:
        responses = read_period_responses(conn, period_, load_questionnaire())
    outcomes = validate_responses(engine, responses, period_, docs_dir)
    with engine.begin() as conn:
        validation.store(conn, batch_id=None, period=period_.label, suite="period", outcomes=outcomes)
    return {
        "period": period_.label,
        "responses": len(responses),
        "expectations": len(outcomes),
        "failed": sum(not o.success for o in outcomes),
        "warnings": validation.warnings_of(outcomes),
        "data_docs": str(docs_index(docs_dir)) if docs_dir is not None and outcomes else None,
    }
