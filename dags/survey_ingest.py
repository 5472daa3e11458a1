"""Survey ingest: load the files evaluators drop into the inbox, archive or reject each one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

from bizenv.airflow_support.alerts import failure_alerts

SURVEY_RESPONSES = Asset("bizenv://warehouse/survey_responses")

DOC = """
### Survey ingest (问卷批次入库)

Every 15 minutes, loads the survey files waiting in `inbox/<period>/` under the landing folder
(`$BIZENV_LANDING_DIR`, default `var/landing/`), one mapped task per file, oldest first. Files
younger than `min_file_age_seconds` may still be being copied and wait for the next run.

Each file is loaded as `bizenv load-survey` would (canonical CSV/XLSX or a 问卷星 wide export;
UTF-8, UTF-8 with BOM or GB18030). Then it is moved, never deleted:
- loaded (or already loaded before) → `archive/<period>/`;
- unreadable, wrong header, or refused by the quarantine gate → `rejected/<period>/`, with an
  errors file beside it (`.errors.txt` with the one-line reason, or `.errors.csv` listing every
  quarantined row, its reasons and its original values). That file's task fails, with the
  reason in its log; the other files are unaffected;
- dropped directly in `inbox/` instead of `inbox/<period>/` → `rejected/unsorted/`, with an
  `.errors.txt` saying where to put it; that file's task fails.

Hidden and temporary files (`.DS_Store`, `.~lock.x.csv#`, `~$x.xlsx`) and folders inside a
period folder are left where they are; `list_inbox` logs each of them as a warning.
"""


@dag(
    dag_id="survey_ingest",
    schedule=CronTriggerTimetable("*/15 * * * *", timezone="Asia/Shanghai"),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["bizenv", "ingest", "survey"],
    doc_md=DOC,
    # A million-row file loads in about two minutes here: an hour means a hung task.
    dagrun_timeout=timedelta(hours=4),
    # Past half an hour the inbox is stuck behind this run (alert); past dagrun_timeout it is failed.
    **failure_alerts(
        overrun_after=timedelta(minutes=30),
        default_args={
            "owner": "bizenv",
            "retries": 1,
            "retry_delay": timedelta(minutes=2),
            "execution_timeout": timedelta(hours=1),
        },
    ),
    params={
        "min_file_age_seconds": Param(
            60, type="integer", minimum=0, description="Skip files modified more recently"
        )
    },
)
def survey_ingest() -> None:
    @task
    def list_inbox(params: Mapping[str, Any] | None = None) -> list[dict]:
        from bizenv.airflow_support.runtime import inbox_files
        from bizenv.config import landing_dir

        return inbox_files(landing_dir(), float((params or {}).get("min_file_age_seconds", 60)))

    @task(outlets=[SURVEY_RESPONSES], map_index_template="{{ item['path'].split('/')[-1] }}")
    def load_file(item: dict) -> dict:
        from bizenv.airflow_support.runtime import ingest_inbox_file

        return ingest_inbox_file("survey", item)

    load_file.expand(item=list_inbox())


survey_ingest()
