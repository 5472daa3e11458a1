"""What the alerts say, built from contexts shaped like Airflow's (delivery itself is tested for
real in tests/dags/test_alerts.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException

from bizenv.airflow_support import alerts
from bizenv.airflow_support.alerts import (
    OverrunCheck,
    email_html,
    failure_alerts,
    one_line_error,
    overrun_alert,
    overrun_by_task_alert,
    period_of,
    recipients,
    run_failure_alert,
    task_failure_alert,
    webhook_payload,
)

RUN_ID = "scheduled__2026-12-31T18:00:00+00:00"
LOG_URL = "http://airflow.example.org/dags/semiannual_evaluation/runs/x/tasks/check_inputs?try_number=2"


def ti(task_id: str = "check_inputs", **fields: object) -> SimpleNamespace:
    defaults = {
        "dag_id": "semiannual_evaluation",
        "run_id": RUN_ID,
        "task_id": task_id,
        "map_index": -1,
        "try_number": 2,
        "max_tries": 1,
        "log_url": LOG_URL,
    }
    return SimpleNamespace(**{**defaults, **fields})


def context(**fields: object) -> dict:
    dag = SimpleNamespace(dag_id="semiannual_evaluation", task_ids=["resolve_period", "check_inputs"])
    base = {"dag": dag, "run_id": RUN_ID, "ti": ti(), "params": {"period": "", "margins": ""}}
    return {**base, **fields}


def test_a_task_alert_names_dag_run_task_period_error_try_and_log():
    task = SimpleNamespace(op_kwargs={"period": "2026H1", "revision": "0007"})
    alert = task_failure_alert(context(task=task, exception=ConnectionError("warehouse gone\nTraceback...")))

    assert alert.subject == "[bizenv] semiannual_evaluation.check_inputs failed (2026H1)"
    assert alert.text.splitlines() == [
        "DAG: semiannual_evaluation",
        f"Run: {RUN_ID}",
        "Task: check_inputs",
        "Period: 2026H1",
        "Error: ConnectionError: warehouse gone",
        "Try: 2 of at most 2",
        f"Log: {LOG_URL}",
    ]


def test_a_mapped_task_alert_names_its_map_index_and_the_period_of_its_item():
    item = {"path": "/landing/inbox/2026H1/batch.csv", "period": "2026H1"}
    alert = task_failure_alert(
        context(ti=ti("load_file", map_index=3, try_number=1), task=SimpleNamespace(op_kwargs={"item": item}))
    )

    assert alert.subject == "[bizenv] semiannual_evaluation.load_file [3] failed (2026H1)"
    assert "Task: load_file [3]\nPeriod: 2026H1\nError: unknown\nTry: 1 of at most 2" in alert.text


def test_the_period_comes_from_the_param_first_then_arguments_then_the_resolving_task():
    pulls = []

    def xcom_pull(task_ids: str) -> str:
        pulls.append(task_ids)
        return "2025H2"

    assert (
        period_of(context(params={"period": "2026H2"}, task=SimpleNamespace(op_kwargs={"period": "2026H1"})))
        == "2026H2"
    )
    assert period_of(context(task=SimpleNamespace(op_kwargs={"period": "2026H1"}))) == "2026H1"
    assert period_of(context(ti=ti(xcom_pull=xcom_pull))) == "2025H2" and pulls == ["resolve_period"]


def test_what_is_not_a_period_is_never_shown_as_one():
    def broken_pull(task_ids: str) -> str:
        raise RuntimeError("no XCom access outside a worker")

    task = SimpleNamespace(op_kwargs={"period": "../../etc", "item": {"period": 7}})
    assert period_of(context(task=task, ti=ti(xcom_pull=broken_pull), params={"period": "2026H3"})) is None
    assert "Period: unknown" in task_failure_alert(context(task=task, ti=ti(xcom_pull=broken_pull))).text


def test_the_error_is_its_first_line_without_personal_data():
    # bizenv's own reasons come as AirflowFailException: the class name would only be noise.
    assert one_line_error(AirflowFailException("period 2027H1 has no accepted survey responses\nmore")) == (
        "period 2027H1 has no accepted survey responses"
    )
    assert one_line_error(ValueError("bad cell '13812345678' from zhang.san@example.com")) == (
        "ValueError: bad cell '[电话]' from [邮箱]"
    )
    assert one_line_error(KeyError()) == "KeyError"
    assert one_line_error(None) == "unknown"
    assert one_line_error("task_failure") == "task_failure"
    long = one_line_error(RuntimeError("x" * 1000))
    assert len(long) == alerts.ERROR_MAX_CHARS and long.endswith("…")


def test_a_run_alert_gives_the_reason_and_the_task_it_failed_on():
    alert = run_failure_alert(context(reason="task_failure"))

    assert alert.subject == "[bizenv] semiannual_evaluation run failed"
    assert "Task: check_inputs\nPeriod: unknown\nError: task_failure\nTry: 2 of at most 2" in alert.text


def test_a_run_alert_without_a_task_links_the_run(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.org/")
    alert = run_failure_alert(
        {"dag": SimpleNamespace(dag_id="survey_ingest"), "run_id": "manual__x+1", "reason": "timed_out"}
    )

    assert "Task: none named" in alert.text and "Error: timed_out" in alert.text
    assert alert.text.endswith("Log: https://airflow.example.org/dags/survey_ingest/runs/manual__x%2B1")


def test_an_overrun_alert_reads_the_schedulers_context_of_the_run():
    run = {
        "dag_id": "semiannual_evaluation",
        "dag_run_id": RUN_ID,
        "state": "running",
        "queued_at": "2026-12-31T18:00:01+00:00",
        "conf": {"period": "2026H2"},
    }
    alert = overrun_alert(
        {"dag_run": run, "deadline": {"deadline_time": "2026-12-31T19:00:01+00:00"}}, "1:00:00"
    )

    assert alert.subject == "[bizenv] semiannual_evaluation run overran its expected 1:00:00 (2026H2)"
    assert (
        "Error: still running at the deadline 2026-12-31T19:00:01+00:00 "
        "(queued 2026-12-31T18:00:01+00:00, expected within 1:00:00)"
    ) in alert.text


def test_the_webhook_message_is_the_robots_text_message_cut_to_what_they_accept():
    assert webhook_payload("主题", "正文") == {"msgtype": "text", "text": {"content": "主题\n正文"}}
    long = webhook_payload("主题", "单位" * 2000)["text"]["content"]
    assert len(long.encode("utf-8")) <= alerts.WEBHOOK_MAX_BYTES and long.endswith("…")


def test_recipients_are_a_list_or_one_string_of_addresses():
    assert recipients({"to": "a@x.org, b@x.org;c@x.org "}) == ["a@x.org", "b@x.org", "c@x.org"]
    assert recipients({"to": ["a@x.org", " "]}) == ["a@x.org"]
    assert recipients({}) == []


def test_the_email_shows_the_text_as_written():
    assert (
        email_html("a < b\n  c")
        == '<pre style="font-family: inherit; white-space: pre-wrap">a &lt; b\n  c</pre>'
    )


def test_failure_alerts_gives_a_dag_its_alerts_and_keeps_its_default_args():
    default_args = {"owner": "bizenv", "retries": 1}
    kwargs = failure_alerts(overrun_after=timedelta(minutes=30), default_args=default_args)

    assert set(kwargs) == {"default_args", "on_failure_callback"}
    merged = kwargs["default_args"]
    assert merged["on_failure_callback"] is alerts.alert_task_failure
    assert isinstance(merged["on_success_callback"], OverrunCheck)
    assert merged["on_success_callback"].expected == timedelta(minutes=30)
    assert {k: merged[k] for k in default_args} == default_args == {"owner": "bizenv", "retries": 1}
    assert kwargs["on_failure_callback"] is alerts.alert_run_failure


def test_the_opt_in_deadline_alerts_when_the_run_is_late_after_being_queued():
    deadline = failure_alerts(timedelta(minutes=30), {}, deadline=True)["deadline"]

    assert type(deadline.reference).__name__ == "DagRunQueuedAtDeadline"
    assert deadline.interval == timedelta(minutes=30)
    assert deadline.callback.path == "bizenv.airflow_support.alerts.alert_overrun"
    assert deadline.callback.kwargs == {"expected": "0:30:00"}


RUN_START = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)


def overrun(task_started_after: timedelta, ended_after: timedelta):
    started = ti("evaluate", start_date=RUN_START + task_started_after, try_number=1)
    ctx = context(
        ti=started,
        dag_run=SimpleNamespace(start_date=RUN_START),
        task=SimpleNamespace(op_kwargs={"period": "2026H2"}),
    )
    return overrun_by_task_alert(ctx, timedelta(hours=1), now=RUN_START + ended_after)


def test_the_task_that_crosses_the_expected_duration_says_the_run_is_late():
    alert = overrun(timedelta(minutes=10), timedelta(hours=1, minutes=5))

    assert alert is not None
    assert alert.subject == "[bizenv] semiannual_evaluation run overran its expected 1:00:00 (2026H2)"
    assert "Task: evaluate (ended 1:05:00 after the run started)\nPeriod: 2026H2" in alert.text
    assert (
        "Error: none yet: the run is late (expected within 1:00:00), not failed\nTry: 1 of at most 2"
        in alert.text
    )


def test_tasks_before_or_after_the_crossing_stay_silent():
    assert overrun(timedelta(minutes=10), timedelta(minutes=50)) is None  # in time
    assert overrun(timedelta(hours=1, minutes=1), timedelta(hours=2)) is None  # a later task: already said
    assert overrun_by_task_alert({"ti": ti()}, timedelta(hours=1)) is None  # no run start known


def test_a_callback_never_raises_even_without_connections_or_a_usable_context(monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_BIZENV_ALERT_SMTP", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_BIZENV_ALERT_WEBHOOK", raising=False)
    sent = []
    monkeypatch.setattr(alerts, "notify", lambda subject, text: sent.append((subject, text)) or [])

    with caplog.at_level(logging.ERROR):
        alerts.alert_task_failure(
            {"dag": SimpleNamespace(dag_id="survey_ingest"), "run_id": "r", "ti": object()}
        )
        alerts.alert_run_failure({"dag": None, "params": 5})
        alerts.alert_overrun(None)

    assert [subject for subject, _ in sent] == [
        "[bizenv] survey_ingest.? failed",
        "[bizenv] ? run failed",
        "[bizenv] ? run overran its expected ?",
    ]


def test_notify_without_connections_delivers_nowhere_and_says_why(monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_BIZENV_ALERT_SMTP", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_BIZENV_ALERT_WEBHOOK", raising=False)

    with caplog.at_level(logging.WARNING):
        assert alerts.notify("subject", "text") == []

    assert "no connection 'bizenv_alert_smtp'" in caplog.text
    assert "no connection 'bizenv_alert_webhook'" in caplog.text
    assert "alert 'subject' reached no channel" in caplog.text


@pytest.mark.parametrize("bad", [{}, {"to": ""}])
def test_an_smtp_connection_without_recipients_is_a_channel_off(monkeypatch, caplog, bad):
    import json

    monkeypatch.setenv(
        "AIRFLOW_CONN_BIZENV_ALERT_SMTP", json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "extra": bad})
    )
    monkeypatch.delenv("AIRFLOW_CONN_BIZENV_ALERT_WEBHOOK", raising=False)

    assert alerts.notify("s", "t") == []
    assert "has no recipients" in caplog.text
