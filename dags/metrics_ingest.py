"""Metrics ingest: load the department-metric files dropped into the metrics inbox."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

from bizenv.airflow_support.alerts import failure_alerts

DEPARTMENT_METRICS = Asset("bizenv://warehouse/department_metrics")

DOC = """
### Metrics ingest (部门指标入库)

Every 30 minutes, loads the department-metric files (the third-party agency's indicator values:
`unit, indicator, value[, source]`, CSV or XLSX) waiting in `metrics/inbox/<period>/` under the
landing folder (`$BIZENV_LANDING_DIR`, default `var/landing/`), one mapped task per file, oldest
first. Files younger than `min_file_age_seconds` may still be being copied and wait.

The same steps as the survey inbox, through the same batch lifecycle (`bizenv load-metrics`):
- loaded (or already loaded before) → `metrics/archive/<period>/`, with a `.quarantine.csv`
  beside it when some rows were quarantined;
- unreadable, wrong header, or refused by the quarantine gate → `metrics/rejected/<period>/`
  with an errors file; that file's task fails, the others are unaffected;
- dropped directly in `metrics/inbox/` → `metrics/rejected/unsorted/`.

A newer file for the same (unit, indicator) supersedes the earlier value. Accepted batches
update the `department_metrics` asset, which triggers `period_refresh` when the period has
already been evaluated.
"""


@dag(
    dag_id="metrics_ingest",
    schedule=CronTriggerTimetable("*/30 * * * *", timezone="Asia/Shanghai"),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["bizenv", "ingest", "metrics"],
    doc_md=DOC,
    # Metric files are a few thousand rows: minutes mean a hung task.
    dagrun_timeout=timedelta(hours=1),
    # Past a quarter of an hour the inbox is stuck behind this run (alert).
    **failure_alerts(
        overrun_after=timedelta(minutes=15),
        default_args={
            "owner": "bizenv",
            "retries": 1,
            "retry_delay": timedelta(minutes=2),
            "execution_timeout": timedelta(minutes=20),
        },
    ),
    params={
        "min_file_age_seconds": Param(
            60, type="integer", minimum=0, description="Skip files modified more recently"
        )
    },
)
def metrics_ingest() -> None:
    @task
    def list_inbox(params: Mapping[str, Any] | None = None) -> list[dict]:
        from bizenv.airflow_support.runtime import inbox_files
        from bizenv.config import landing_dir

        return inbox_files(landing_dir(), float((params or {}).get("min_file_age_seconds", 60)), "metrics")

    @task(outlets=[DEPARTMENT_METRICS], map_index_template="{{ item['path'].split('/')[-1] }}")
    def load_file(item: dict) -> dict:
        from bizenv.airflow_support.runtime import ingest_inbox_file

        return ingest_inbox_file("metrics", item)

    load_file.expand(item=list_inbox())


metrics_ingest()
