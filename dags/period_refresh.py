"""Period refresh: a batch accepted after its period was evaluated is not left out silently."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, task

from bizenv.airflow_support.alerts import failure_alerts

# The same assets the ingest DAGs update (an asset is its URI).
SURVEY_RESPONSES = Asset("bizenv://warehouse/survey_responses")
DEPARTMENT_METRICS = Asset("bizenv://warehouse/department_metrics")
log = logging.getLogger(__name__)

DOC = """
### Period refresh (迟到数据重算)

Runs whenever `survey_ingest` or `metrics_ingest` loads a file. It looks in the warehouse for
evaluated periods with accepted batches loaded after their last completed evaluation started:
their published rankings, flags and reports leave those batches out. What it does then is
`late_data.action` in `survey_schemas/policy.yaml`:

- `re_evaluate`: evaluates each such period again (validation, scores, ranks, flags, reports),
  into the folder its last evaluation published to; a refused or failed evaluation fails the
  task, and the failure alerts say so;
- `alert`: sends one message through the alert connections listing the periods and their late
  batches, and changes nothing.

A period that was never evaluated is not stale: fieldwork is still open and the semiannual run
will include its batches. Running this twice, or after a duplicate file, does nothing more.
`bizenv status` lists stale periods under `attention` either way.
"""


@dag(
    dag_id="period_refresh",
    schedule=(SURVEY_RESPONSES | DEPARTMENT_METRICS),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["bizenv", "evaluation", "late-data"],
    doc_md=DOC,
    # An evaluation of a million responses takes about a minute here.
    dagrun_timeout=timedelta(hours=6),
    # Past an hour the re-evaluation is late (alert); past dagrun_timeout it is failed.
    **failure_alerts(
        overrun_after=timedelta(hours=1),
        default_args={
            "owner": "bizenv",
            "retries": 1,
            "retry_delay": timedelta(minutes=5),
            "execution_timeout": timedelta(hours=2),
        },
    ),
)
def period_refresh() -> None:
    @task
    def refresh_stale_periods() -> list[dict]:
        from bizenv.airflow_support.alerts import notify
        from bizenv.airflow_support.runtime import fail_fast_on_bad_data, output_dir, warehouse_url
        from bizenv.late_data import refresh_stale_periods
        from bizenv.periods import Period
        from bizenv.schemas import load_policy
        from bizenv.warehouse.engine import make_engine, migrate

        engine = make_engine(warehouse_url())
        migrate(engine)
        with fail_fast_on_bad_data():
            done = refresh_stale_periods(
                engine,
                load_policy().late_data.action,
                lambda period: output_dir(Period.parse(period)),
                notify,
            )
        for entry in done:
            log.info("%s", entry)
        return done

    refresh_stale_periods()


period_refresh()
