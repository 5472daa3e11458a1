"""Rectification follow-up: every week, the problem register's overdue problems are supervised
one step further, the office gets the register's figures, and each unit a digest of its own."""

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
### Rectification follow-up (整改台账跟踪)

Every Monday at 09:00 (Asia/Shanghai), as of the run's logical date (a city day):

1. `escalate`: takes every supervision step due that day (一次督办, 二次督办, 问责 on the days of
   `rectification.supervision` in `survey_schemas/policy.yaml`), as `bizenv problems escalate
   --today DAY` does; running the day again takes no step twice.
2. `write_report`: `rectification.html` and `rectification.xlsx` — the city's figures, each
   unit's raised, solved on time and late, open, overdue and rates, the overdue problems by
   supervision level, the problems due within 7 days — into `$BIZENV_OUTPUT_DIR/rectification/`,
   which is replaced as a whole.
3. `send_digests`: one message per unit with open problems through the alert connections: its
   counts, the steps taken that day, its overdue problems and those due within 7 days.

The figures are those of `bizenv problems list --today DAY`. To run it for a day:
`airflow dags test rectification_followup 2026-09-07`.
"""


@dag(
    dag_id="rectification_followup",
    schedule=CronTriggerTimetable("0 9 * * 1", timezone="Asia/Shanghai"),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["bizenv", "rectification", "monitoring"],
    doc_md=DOC,
    # A register of thousands of problems is read and written in seconds: an hour means a hung task.
    dagrun_timeout=timedelta(hours=1),
    # Past fifteen minutes the run is late (alert); past dagrun_timeout it is failed.
    **failure_alerts(
        overrun_after=timedelta(minutes=15),
        default_args={
            "owner": "bizenv",
            "retries": 1,
            "retry_delay": timedelta(minutes=5),
            "execution_timeout": timedelta(minutes=20),
        },
    ),
)
def rectification_followup() -> None:
    @task
    def escalate(dag_run: DagRunProtocol | None = None) -> dict[str, Any]:
        from bizenv.airflow_support.runtime import CITY_TIMEZONE, fail_fast_on_bad_data, warehouse_url
        from bizenv.rectification.escalation import escalate
        from bizenv.rectification.followup import moves_on
        from bizenv.rectification.register import read_problems
        from bizenv.schemas import load_policy
        from bizenv.warehouse.engine import make_engine, migrate

        if dag_run is None:
            raise RuntimeError("the task runs without its DAG run in the context")
        # A run triggered without a logical date follows up the day it was made to run.
        moment = dag_run.logical_date or dag_run.run_after
        day = moment.astimezone(CITY_TIMEZONE).date()
        engine = make_engine(warehouse_url())
        migrate(engine)
        with fail_fast_on_bad_data(), engine.begin() as conn:
            # History records the step at the run's scheduled moment, as `--today` records 09:00.
            taken = escalate(
                conn,
                day,
                load_policy(),
                "airflow",
                via=f"rectification_followup {dag_run.run_id}",
                now=moment,
            )
            # The day's steps, also those an earlier run of the same day took: a re-run reports them again.
            moves = moves_on(read_problems(conn), day)
        for move in moves.to_dict("records"):
            log.info(
                "%s (%s): %s → %s",
                move["problem_id"],
                move["unit_code"],
                move["supervision_from"],
                move["supervision_to"],
            )
        log.info("%d supervision step(s) on %s, %d of them taken by this run", len(moves), day, len(taken))
        return {"as_of": day.isoformat(), "moved": moves["problem_id"].tolist(), "taken_now": len(taken)}

    @task
    def write_report(escalated: dict[str, Any]) -> dict[str, Any]:
        from datetime import date

        from bizenv.airflow_support.runtime import fail_fast_on_bad_data, output_root, warehouse_url
        from bizenv.rectification.followup import FOLDER, followup_report, publish_followup
        from bizenv.schemas import load_policy, load_registry
        from bizenv.warehouse.engine import make_engine

        engine = make_engine(warehouse_url())
        with fail_fast_on_bad_data(), engine.connect() as conn:
            report = followup_report(
                conn, date.fromisoformat(escalated["as_of"]), load_policy(), load_registry()
            )
        files = publish_followup(output_root() / FOLDER, report)
        log.info("%s: %s", report.line_en(), report.summary())
        return {"as_of": escalated["as_of"], "folder": str(files[0].parent), "files": [str(f) for f in files]}

    @task
    def send_digests(escalated: dict[str, Any], written: dict[str, Any]) -> list[dict[str, Any]]:
        from datetime import date

        from bizenv.airflow_support.alerts import notify
        from bizenv.airflow_support.runtime import fail_fast_on_bad_data, warehouse_url
        from bizenv.rectification.followup import followup_report, moves_on, unit_digests
        from bizenv.schemas import load_policy, load_registry
        from bizenv.warehouse.engine import make_engine

        day = date.fromisoformat(escalated["as_of"])
        engine = make_engine(warehouse_url())
        with fail_fast_on_bad_data(), engine.connect() as conn:
            report = followup_report(conn, day, load_policy(), load_registry())
        moves = moves_on(report.problems, day, escalated["moved"])
        sent = []
        for unit, (subject, text) in unit_digests(report, moves).items():
            delivered = notify(subject, text)
            log.info(
                "digest for %s delivered via %s: %s", unit, ", ".join(delivered) or "no channel", subject
            )
            sent.append({"unit": unit, "subject": subject, "delivered": delivered})
        reached = sum(1 for entry in sent if entry["delivered"])
        log.info(
            "%d digest(s), %d of them delivered; the report is in %s", len(sent), reached, written["folder"]
        )
        return sent

    # Each call passes the upstream task's XComArg where the function receives its value; Airflow's
    # `Task` type gives the call the function's own parameter types, so mypy cannot tell.
    escalated = escalate()
    send_digests(escalated, write_report(escalated))  # type: ignore[arg-type]


rectification_followup()
