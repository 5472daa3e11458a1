"""Semiannual evaluation: score, rank and flag the half-year's units from loaded survey batches."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, task

from bizenv.airflow_support.alerts import failure_alerts

RANKINGS = Asset("bizenv://warehouse/rankings")
log = logging.getLogger(__name__)

DOC = """
### Semiannual evaluation (半年度万企评机关)

Runs at 02:00 on 1 January and 1 July (Asia/Shanghai) for the half-year that just ended: the
run's data interval starts on the first day of the period it evaluates. To re-run a period, trigger
with the logical date of its first day (`2026-01-01` → 2026H1) or set the `period` param.

Tasks: resolve the period → bring the warehouse schema up to date → check the period has
accepted survey responses → validate all of them with the period's Great Expectations suite (a
failed critical expectation fails this task, with the reasons in its log, and nothing is scored)
→ score, rank and flag (replaces the period's derived rows in one transaction) → log the top and
bottom of each group. Outputs under `$BIZENV_OUTPUT_DIR/<period>/` (default
`var/output/<period>/`): `rankings.csv`, `flags.csv`, `quarantine.csv`, `report.html`,
`report.xlsx` and Great Expectations' Data Docs in `data_docs/index.html`.

Warehouse: `BIZENV_DATABASE_URL`, else the `bizenv_warehouse` connection, else SQLite under `var/`.
"""


@dag(
    dag_id="semiannual_evaluation",
    schedule=CronDataIntervalTimetable("0 2 1 1,7 *", timezone="Asia/Shanghai"),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["bizenv", "evaluation", "semiannual"],
    doc_md=DOC,
    # A million responses evaluate in about a minute here: hours mean a hung task, not a slow one.
    dagrun_timeout=timedelta(hours=6),
    # Past an hour the run is late (alert); past dagrun_timeout it is failed.
    **failure_alerts(
        overrun_after=timedelta(hours=1),
        default_args={
            "owner": "bizenv",
            "retries": 1,
            "retry_delay": timedelta(minutes=5),
            "execution_timeout": timedelta(hours=2),
        },
    ),
    params={
        "period": Param(
            "",
            type="string",
            pattern=r"^(\d{4}H[12])?$",
            description="Half-year to evaluate, e.g. 2026H1; empty = from the logical date",
        ),
        "margins": Param(
            "",
            type="string",
            description="Population margins CSV to rake weights to; empty = survey_schemas/margins/<period>.csv "
            "if present, else equal weights",
        ),
    },
)
def semiannual_evaluation() -> None:
    @task
    def resolve_period(params: Mapping[str, Any] | None = None, logical_date: datetime | None = None) -> str:
        from bizenv.airflow_support.runtime import fail_fast_on_bad_data, period_for_run

        with fail_fast_on_bad_data():
            return period_for_run(logical_date, (params or {}).get("period")).label

    @task
    def prepare_warehouse() -> str:
        from bizenv.airflow_support.runtime import warehouse_url
        from bizenv.warehouse.engine import current_revision, make_engine, migrate

        engine = make_engine(warehouse_url())
        migrate(engine)
        revision = current_revision(engine)
        if revision is None:
            raise RuntimeError("the warehouse has no revision right after migrating it")
        return revision

    @task
    def check_inputs(period: str, revision: str) -> int:
        from bizenv.airflow_support.runtime import fail_fast_on_bad_data, warehouse_url
        from bizenv.inputs import require_period_inputs
        from bizenv.warehouse.engine import make_engine

        with fail_fast_on_bad_data():
            return require_period_inputs(make_engine(warehouse_url()), period)

    @task
    def validate_period(period: str, responses: int) -> dict[str, Any]:
        from bizenv.airflow_support.runtime import fail_fast_on_bad_data, output_dir, warehouse_url
        from bizenv.evaluate import validate_period
        from bizenv.periods import Period
        from bizenv.warehouse.engine import make_engine

        with fail_fast_on_bad_data():
            docs = output_dir(Period.parse(period)) / "data_docs"
            return dict(validate_period(make_engine(warehouse_url()), period, docs))

    @task(outlets=[RANKINGS])
    def evaluate(
        period: str, validation: dict[str, Any], params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        from bizenv.airflow_support.runtime import fail_fast_on_bad_data, output_dir, warehouse_url
        from bizenv.evaluate import evaluate_period
        from bizenv.periods import Period
        from bizenv.warehouse.engine import make_engine

        with fail_fast_on_bad_data():
            summary = evaluate_period(
                make_engine(warehouse_url()),
                period,
                output_dir(Period.parse(period)),
                margins=(params or {}).get("margins") or None,
                validated=True,
            )
            return dict(summary)

    @task
    def publish_summary(summary: dict[str, Any]) -> str:
        from bizenv.report.console import ranking_digest

        log.info("%s", ranking_digest(summary["outputs"]["rankings"]))
        return summary["outputs"]["rankings"]

    # Each call passes the upstream task's XComArg where the function receives its value; Airflow's
    # `Task` type gives the call the function's own parameter types, so mypy cannot tell.
    period = resolve_period()
    responses = check_inputs(period, prepare_warehouse())  # type: ignore[arg-type]
    publish_summary(evaluate(period, validate_period(period, responses)))  # type: ignore[arg-type]


semiannual_evaluation()
