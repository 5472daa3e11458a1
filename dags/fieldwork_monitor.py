"""Fieldwork monitor: while a period's survey is in the field, which units will end it short of
the sample they need, told to evaluators every day rather than found at the evaluation."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import CronTriggerTimetable, dag, task

from bizenv.airflow_support.alerts import failure_alerts

if TYPE_CHECKING:
    from airflow.sdk.types import DagRunProtocol

log = logging.getLogger(__name__)

DOC = """
### Fieldwork monitor (调查进度监测)

Every morning at 07:00 (Asia/Shanghai), for each period whose fieldwork is under way on the
run's logical date — the half-year containing it, and the previous half-year while its
`fieldwork_grace_days` run — counts each unit's distinct enterprises with accepted responses so
far, projects them to the fieldwork close at the unit's rate so far, and compares them with
`min_respondents` and `fieldwork.target_respondents` of `survey_schemas/policy.yaml`: `reached`,
`on_track`, `at_risk` (projected under the target) or `will_miss` (projected under the minimum:
the unit will not be ranked).

Writes `fieldwork/fieldwork.csv` and `fieldwork/fieldwork.html` into the period's output folder
(`$BIZENV_OUTPUT_DIR/<period>/`), and alerts through the alert connections: one message naming
the units that will miss or are at risk, one when no survey batch has been accepted for
`fieldwork.quiet_days`. The same figures, for any day: `bizenv fieldwork --period P --as-of DAY`.
"""


@dag(
    dag_id="fieldwork_monitor",
    schedule=CronTriggerTimetable("0 7 * * *", timezone="Asia/Shanghai"),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["bizenv", "fieldwork", "monitoring"],
    doc_md=DOC,
    # Counting a million responses takes seconds: an hour means a hung task.
    dagrun_timeout=timedelta(hours=1),
    # Past ten minutes the run is late (alert); past dagrun_timeout it is failed.
    **failure_alerts(
        overrun_after=timedelta(minutes=10),
        default_args={
            "owner": "bizenv",
            "retries": 1,
            "retry_delay": timedelta(minutes=5),
            "execution_timeout": timedelta(minutes=30),
        },
    ),
)
def fieldwork_monitor() -> None:
    @task
    def resolve_periods(dag_run: DagRunProtocol | None = None) -> list[dict[str, str]]:
        from bizenv.airflow_support.runtime import CITY_TIMEZONE, fail_fast_on_bad_data
        from bizenv.fieldwork import open_periods
        from bizenv.schemas import load_policy

        if dag_run is None:
            raise RuntimeError("the task runs without its DAG run in the context")
        # A run triggered without a logical date monitors the day it was made to run.
        moment = dag_run.logical_date or dag_run.run_after
        day = moment.astimezone(CITY_TIMEZONE).date()
        with fail_fast_on_bad_data():
            periods = open_periods(day, load_policy().fieldwork_grace_days)
        return [{"period": period.label, "as_of": day.isoformat()} for period in periods]

    @task(map_index_template="{{ target['period'] }}")
    def monitor(target: dict[str, str]) -> dict[str, Any]:
        from datetime import date

        from bizenv.airflow_support.alerts import notify
        from bizenv.airflow_support.runtime import fail_fast_on_bad_data, output_dir, warehouse_url
        from bizenv.fieldwork import monitor_period
        from bizenv.periods import Period
        from bizenv.schemas import load_policy, load_registry
        from bizenv.warehouse.engine import make_engine, migrate

        engine = make_engine(warehouse_url())
        migrate(engine)
        period = Period.parse(target["period"])
        with fail_fast_on_bad_data():
            summary = monitor_period(
                engine,
                period,
                date.fromisoformat(target["as_of"]),
                output_dir(period),
                notify,
                load_policy(),
                load_registry(),
            )
        log.info("%s", summary)
        return summary

    monitor.expand(target=resolve_periods())


fieldwork_monitor()
