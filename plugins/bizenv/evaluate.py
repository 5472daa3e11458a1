"""Evaluate one period: called by `bizenv evaluate` and the `semiannual_evaluation` DAG alike.

The stages, each in its own module of `bizenv.evaluation`:
    read       inputs     the period's accepted responses and department metrics
    validate   checks     the period suite; a failed critical expectation refuses the run
    compute    compute    weights, unit scores, indicator scores, composite, ranks, uncertainty
    store      store      flags, and the period's derived rows replaced in one transaction
    summarise  summary    the JSON summary
    publish    publish    the output files, moved into place only once the warehouse holds what
                          they show, and `manifest.json` last (`manifest`)
The run is logged in `pipeline_runs` (`bizenv.warehouse.runs`) from start to end, failures too.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from bizenv.errors import BizenvError, GateRefused
from bizenv.evaluation.checks import validate_period, validate_responses
from bizenv.evaluation.compute import compute_period
from bizenv.evaluation.inputs import margins_path, read_period_metrics, read_period_responses
from bizenv.evaluation.manifest import warehouse_state
from bizenv.evaluation.publish import DATA_DOCS, discard_staging, publish, staging_dir, usable_out_dir
from bizenv.evaluation.rules import Rules
from bizenv.evaluation.store import store_period
from bizenv.evaluation.summary import EvaluationSummary, summarise
from bizenv.periods import Period
from bizenv.warehouse.engine import require_migrated
from bizenv.warehouse.runs import finish_run, start_run

__all__ = ["evaluate_period", "validate_period"]


def evaluate_period(
    engine: Engine,
    period: str,
    out_dir: Path | str | None = None,
    schema: str = "enterprise_satisfaction_v1",
    margins: Path | str | None = None,
    validated: bool = False,
) -> EvaluationSummary:
    """Score, rank and flag `period`; replace its derived rows in one transaction; write its files.

    The period's responses are validated first unless `validated` says `validate_period` already
    did so."""
    require_migrated(engine)
    period_, rules = Period.parse(period), Rules.load(schema)
    out = usable_out_dir(Path(out_dir)) if out_dir is not None else None
    run_id = start_run(engine, "evaluate", period_.label, out)
    try:
        summary = _evaluate(engine, run_id, period_, rules, out, margins, validated)
    except BaseException as exc:
        if out is not None:
            discard_staging(out, run_id)
        finish_run(engine, run_id, "refused" if isinstance(exc, GateRefused) else "failed", error=exc)
        raise
    finish_run(engine, run_id, "done", summary=summary)
    return summary


def _evaluate(
    engine: Engine,
    run_id: int,
    period: Period,
    rules: Rules,
    out: Path | None,
    margins: Path | str | None,
    validated: bool,
) -> EvaluationSummary:
    with engine.connect() as conn:
        responses = read_period_responses(conn, period, rules.questionnaire)
        metrics = read_period_metrics(conn, period, rules.catalogue, rules.policy)
    if responses.empty and metrics.empty:
        raise BizenvError(
            f"no accepted survey responses and no department metrics for period {period}: load a batch first"
        )
    outcomes = None
    if not validated:
        docs = staging_dir(out, run_id) / DATA_DOCS if out else None
        outcomes = validate_responses(engine, responses, period, docs_dir=docs)
    results = compute_period(responses, metrics, period, rules, margins_path(period, margins))
    with engine.begin() as conn:
        flags, rederived = store_period(conn, results, outcomes or [], rules)
        # What this run committed, read inside its own transaction: the manifest names it.
        state = warehouse_state(conn, period.label)
    summary = summarise(results, flags, outcomes, rederived, rules)
    if out is not None:
        summary["outputs"] = publish(engine, out, results, flags, summary, rules, run_id=run_id, state=state)
    return summary
