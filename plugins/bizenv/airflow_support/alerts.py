"""Alerts that reach people: e-mail through the SMTP provider and a chat webhook (企业微信/钉钉
robots) through the HTTP provider, each configured by an Airflow connection, not by code.

Failures nobody reads are failures nobody fixes: every DAG sends a message when a task fails for
good, when a run fails, and when a run overruns its expected duration. Other code (the fieldwork
monitor, late data) sends its own messages through `notify`.

A channel whose connection is missing or broken logs a warning and the other channel still
delivers: an alert never changes a task's outcome. This module is imported by the DAG files at
parse time, so it imports only the standard library and Airflow's authoring API at top level;
the providers load when a message is sent.
"""

from __future__ import annotations

import html
import logging
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk.definitions.callback import SyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

if TYPE_CHECKING:
    from airflow.sdk import Connection

SMTP_CONN_ID = "bizenv_alert_smtp"
WEBHOOK_CONN_ID = "bizenv_alert_webhook"
EMAIL = "email"
WEBHOOK = "webhook"
# 企业微信 robots refuse text over 2048 bytes; 钉钉 allows more. Cut under the smaller one.
WEBHOOK_MAX_BYTES = 2000
ERROR_MAX_CHARS = 300
# The task that names the period a run works on, where a DAG has one (its return value).
PERIOD_TASK = "resolve_period"
_PERIOD = re.compile(r"^\d{4}H[12]$")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str


# --- delivery ---------------------------------------------------------------------------------


def notify(subject: str, text: str) -> list[str]:
    """Send one message through every configured channel; returns those that delivered (`email`,
    `webhook`), so the caller can log where it went. Never raises: a missing or failing channel
    is a warning in the log."""
    delivered = []
    if _send_email(subject, text):
        delivered.append(EMAIL)
    if _send_webhook(subject, text):
        delivered.append(WEBHOOK)
    if not delivered:
        log.warning(
            "alert %r reached no channel (connections %s, %s)", subject, SMTP_CONN_ID, WEBHOOK_CONN_ID
        )
    return delivered


def _connection(conn_id: str) -> Connection | None:
    """The connection, or None with a warning: an unconfigured channel is off, not an error."""
    from airflow.sdk import Connection

    try:
        return Connection.get(conn_id)
    except Exception as exc:  # not found, or the secrets backend failed: the channel is off
        log.warning("alert channel off: no connection %r (%s)", conn_id, str(exc).splitlines()[0][:200])
        return None


def recipients(extra: Mapping[str, Any]) -> list[str]:
    """The `to` of the SMTP connection's extra: a list, or one string separated by commas or
    semicolons, as people paste address lists."""
    value = extra.get("to") or []
    items = value if isinstance(value, list) else re.split(r"[,;]", str(value))
    return [str(item).strip() for item in items if str(item).strip()]


def email_html(text: str) -> str:
    """The text as it was written: line breaks and alignment kept, nothing interpreted as HTML."""
    return f'<pre style="font-family: inherit; white-space: pre-wrap">{html.escape(text)}</pre>'


def _send_email(subject: str, text: str) -> bool:
    conn = _connection(SMTP_CONN_ID)
    if conn is None:
        return False
    to = recipients(conn.extra_dejson)
    if not to:
        log.warning("alert e-mail off: connection %r has no recipients (extra `to`)", SMTP_CONN_ID)
        return False
    try:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        notifier = SmtpNotifier(
            to=to,
            # The hook takes the sender from the connection's extra `from_email` when it has one.
            from_email=None if conn.extra_dejson.get("from_email") else f"bizenv@{socket.getfqdn()}",
            subject=subject,
            html_content=email_html(text),
            smtp_conn_id=SMTP_CONN_ID,
        )
        # notify(), not the notifier's __call__: the texts are final, not Jinja templates (an
        # error message may well contain "{{").
        notifier.notify({})
    except Exception as exc:  # any failure of this channel must leave the other one and the task alone
        log.warning("alert e-mail via %r failed: %s: %s", SMTP_CONN_ID, type(exc).__name__, exc)
        return False
    log.info("alert e-mailed to %d recipient(s): %s", len(to), subject)
    return True


def webhook_payload(subject: str, text: str) -> dict[str, Any]:
    """The text message 企业微信 and 钉钉 group robots accept, cut to what they take."""
    content = f"{subject}\n{text}"
    data = content.encode("utf-8")
    if len(data) > WEBHOOK_MAX_BYTES:
        content = data[: WEBHOOK_MAX_BYTES - 3].decode("utf-8", errors="ignore") + "…"
    return {"msgtype": "text", "text": {"content": content}}


def _send_webhook(subject: str, text: str) -> bool:
    conn = _connection(WEBHOOK_CONN_ID)
    if conn is None:
        return False
    try:
        from airflow.providers.http.hooks.http import HttpHook

        hook = HttpHook(method="POST", http_conn_id=WEBHOOK_CONN_ID)
        response = hook.run(
            endpoint=conn.extra_dejson.get("endpoint"),
            json=webhook_payload(subject, text),
            headers={"Content-Type": "application/json; charset=utf-8"},
            extra_options={"timeout": conn.extra_dejson.get("timeout", 10)},
        )
        # The robots answer 200 with {"errcode": N, "errmsg": ...}; non-zero means not delivered
        # (a wrong key, a 钉钉 keyword or signature rule).
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
            log.warning("alert webhook %r refused it: %s", WEBHOOK_CONN_ID, answer)
            return False
    except Exception as exc:  # any failure of this channel must leave the other one and the task alone
        log.warning("alert webhook via %r failed: %s: %s", WEBHOOK_CONN_ID, type(exc).__name__, exc)
        return False
    log.info("alert posted to the webhook: %s", subject)
    return True


# --- messages ---------------------------------------------------------------------------------


def one_line_error(error: object) -> str:
    """The first line of the error, with personal numbers, e-mail addresses and names masked by
    `survey_schemas/privacy.yaml` (a message may quote a cell), cut to a length a chat shows."""
    if error is None:
        return "unknown"
    if isinstance(error, BaseException):
        message = str(error).strip()
        # AirflowFailException carries bizenv's own one-line reason: its class name says nothing.
        name = type(error).__name__
        first = message.splitlines()[0] if message else ""
        line = first if name == "AirflowFailException" and first else f"{name}: {first}".rstrip(": ")
    else:
        text = str(error).strip()
        line = text.splitlines()[0] if text else "unknown"
    line = _mask(line)
    return line if len(line) <= ERROR_MAX_CHARS else line[: ERROR_MAX_CHARS - 1] + "…"


def _mask(text: str) -> str:
    try:
        from bizenv.schemas.loader import load_privacy

        for pattern in load_privacy().patterns:
            text = pattern.compiled().sub(pattern.replacement, text)
        return text
    except Exception as exc:  # a broken privacy file must not stop the alert: mask every long number
        log.warning("privacy patterns unavailable (%s): masking all digit runs", exc)
        return re.sub(r"[0-9A-Za-z@.+-]*\d{6,}[0-9A-Za-z@.+-]*", "[masked]", text)


def _period(value: object) -> str | None:
    return value if isinstance(value, str) and _PERIOD.match(value) else None


def period_of(context: Mapping[str, Any]) -> str | None:
    """The period the run works on, when it can be known: the `period` param, a task argument
    `period` (or an argument that is a dict with a `period` key, as the inbox items are), or the
    return value of the run's `resolve_period` task."""
    params = context.get("params") or {}
    found = _period(params.get("period")) if isinstance(params, Mapping) else None
    if found:
        return found
    task = context.get("task")
    op_kwargs = getattr(task, "op_kwargs", None)
    if isinstance(op_kwargs, Mapping):
        for name, value in op_kwargs.items():
            if name == "period" and _period(value):
                return value
            if isinstance(value, Mapping) and _period(value.get("period")):
                return value["period"]
    dag = context.get("dag")
    ti = context.get("ti")
    if ti is not None and dag is not None and PERIOD_TASK in getattr(dag, "task_ids", ()):
        try:
            return _period(ti.xcom_pull(task_ids=PERIOD_TASK))
        except Exception as exc:  # no XCom access here (e.g. outside a worker): the period stays unknown
            log.debug("period XCom not readable: %s", exc)
    return None


def _base_url() -> str:
    from airflow.sdk.configuration import conf

    return str(conf.get("api", "base_url", fallback="http://localhost:8080/")).rstrip("/")


def run_url(dag_id: str, run_id: str) -> str:
    from urllib.parse import quote

    return f"{_base_url()}/dags/{dag_id}/runs/{quote(run_id)}"


def _log_url(context: Mapping[str, Any], dag_id: str, run_id: str) -> str:
    try:
        return str(context["ti"].log_url)
    except Exception:  # a task instance without the API's base URL: the run's page still helps
        return run_url(dag_id, run_id)


def _ids(context: Mapping[str, Any]) -> tuple[str, str]:
    dag = context.get("dag")
    ti = context.get("ti")
    dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None) or "?"
    run_id = context.get("run_id") or getattr(ti, "run_id", None) or "?"
    return str(dag_id), str(run_id)


def _tries(ti: object) -> str:
    try_number = getattr(ti, "try_number", None)
    max_tries = getattr(ti, "max_tries", None)
    if try_number is None:
        return "?"
    return f"{try_number} of at most {max_tries + 1}" if isinstance(max_tries, int) else str(try_number)


def _task_label(ti: object) -> str:
    map_index = getattr(ti, "map_index", -1)
    suffix = f" [{map_index}]" if isinstance(map_index, int) and map_index >= 0 else ""
    return f"{getattr(ti, 'task_id', '?')}{suffix}"


def task_failure_alert(context: Mapping[str, Any]) -> Alert:
    """What a task that failed for good (retries exhausted, or failed at once on bad data) says."""
    dag_id, run_id = _ids(context)
    ti = context.get("ti")
    period = period_of(context)
    task = _task_label(ti)
    subject = f"[bizenv] {dag_id}.{task} failed" + (f" ({period})" if period else "")
    lines = [
        f"DAG: {dag_id}",
        f"Run: {run_id}",
        f"Task: {task}",
        f"Period: {period or 'unknown'}",
        f"Error: {one_line_error(context.get('exception'))}",
        f"Try: {_tries(ti)}",
        f"Log: {_log_url(context, dag_id, run_id)}",
    ]
    return Alert(subject, "\n".join(lines))


def run_failure_alert(context: Mapping[str, Any]) -> Alert:
    """What a failed DAG run says: its reason (`task_failure`, `timed_out`) and the task it
    failed on, when the scheduler names one."""
    dag_id, run_id = _ids(context)
    ti = context.get("ti")
    period = period_of(context)
    subject = f"[bizenv] {dag_id} run failed" + (f" ({period})" if period else "")
    lines = [
        f"DAG: {dag_id}",
        f"Run: {run_id}",
        f"Task: {_task_label(ti) if ti is not None else 'none named'}",
        f"Period: {period or 'unknown'}",
        f"Error: {one_line_error(context.get('reason'))}",
        f"Try: {_tries(ti) if ti is not None else '-'}",
        f"Log: {_log_url(context, dag_id, run_id) if ti is not None else run_url(dag_id, run_id)}",
    ]
    return Alert(subject, "\n".join(lines))


def overrun_alert(context: Mapping[str, Any], expected: str) -> Alert:
    """What a run still going past its expected duration says. The deadline's context is the
    scheduler's JSON of the run (not a task's context): no task, no try."""
    run = context.get("dag_run") or {}
    dag_id = str(run.get("dag_id", "?"))
    run_id = str(run.get("dag_run_id") or run.get("run_id") or "?")
    conf = run.get("conf") or {}
    period = _period(conf.get("period")) if isinstance(conf, Mapping) else None
    deadline = (context.get("deadline") or {}).get("deadline_time")
    subject = f"[bizenv] {dag_id} run overran its expected {expected}" + (f" ({period})" if period else "")
    lines = [
        f"DAG: {dag_id}",
        f"Run: {run_id}",
        "Task: none (the run as a whole)",
        f"Period: {period or 'unknown'}",
        f"Error: still {run.get('state', 'running')} at the deadline {deadline} "
        f"(queued {run.get('queued_at')}, expected within {expected})",
        "Try: -",
        f"Log: {run_url(dag_id, run_id)}",
    ]
    return Alert(subject, "\n".join(lines))


# --- callbacks --------------------------------------------------------------------------------


def alert_task_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback of every task: Airflow calls it only once retries are exhausted."""
    _send(task_failure_alert, context)


def alert_run_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback of every DAG."""
    _send(run_failure_alert, context)


def alert_overrun(context: Mapping[str, Any] | None = None, expected: str = "?") -> None:
    """The DeadlineAlert's callback: the scheduler calls it with `context` and the kwargs the DAG
    gave (`expected`, the duration as text)."""
    _send(lambda ctx: overrun_alert(ctx, expected), context or {})


def _send(build: Callable[[Mapping[str, Any]], Alert], context: Mapping[str, Any]) -> None:
    try:
        alert = build(context)
    except Exception:  # a message that cannot be built must still say something
        log.exception("alert message could not be built")
        dag_id, run_id = _ids(context) if isinstance(context, Mapping) else ("?", "?")
        alert = Alert(f"[bizenv] {dag_id} failed", f"DAG: {dag_id}\nRun: {run_id}\n(details in the log)")
    log.info("alert %r delivered via %s", alert.subject, notify(alert.subject, alert.text) or "no channel")


class OverrunCheck:
    """on_success_callback of every task: the task that ends past the run's expected duration,
    having started before it, says the run is late: one message per run in a chain of tasks.

    This stands in for Airflow's DeadlineAlert, which alerts at the very moment a run is late:
    in Airflow 3.3.2 a DAG with a deadline cannot finish a successful `dag.test()` (`airflow dags
    test`, the demo and the DAG tests): the run's end looks the deadlines up by ids that only the
    scheduler's copy of the DAG has. A task that hangs is not missed: its execution_timeout fails
    it, and the failure alerts."""

    def __init__(self, expected: timedelta) -> None:
        self.expected = expected

    def __call__(self, context: Mapping[str, Any]) -> None:
        try:
            alert = overrun_by_task_alert(context, self.expected)
        except Exception:  # a late-run check must never fail the task it runs after
            log.exception("overrun check failed")
            return
        if alert is not None:
            log.info(
                "alert %r delivered via %s", alert.subject, notify(alert.subject, alert.text) or "no channel"
            )


def overrun_by_task_alert(
    context: Mapping[str, Any], expected: timedelta, now: datetime | None = None
) -> Alert | None:
    """The late-run message when this task is the one that crossed the expected duration."""
    ti = context.get("ti")
    run = context.get("dag_run")
    run_start = getattr(run, "start_date", None)
    task_start = getattr(ti, "start_date", None)
    if run_start is None or task_start is None:
        return None
    now = now or datetime.now(UTC)
    elapsed = now - run_start
    if not (task_start - run_start < expected <= elapsed):
        return None
    dag_id, run_id = _ids(context)
    period = period_of(context)
    subject = f"[bizenv] {dag_id} run overran its expected {expected}" + (f" ({period})" if period else "")
    lines = [
        f"DAG: {dag_id}",
        f"Run: {run_id}",
        f"Task: {_task_label(ti)} (ended {_duration(elapsed)} after the run started)",
        f"Period: {period or 'unknown'}",
        f"Error: none yet: the run is late (expected within {expected}), not failed",
        f"Try: {_tries(ti)}",
        f"Log: {_log_url(context, dag_id, run_id)}",
    ]
    return Alert(subject, "\n".join(lines))


def _duration(delta: timedelta) -> str:
    return str(timedelta(seconds=round(delta.total_seconds())))


def failure_alerts(
    overrun_after: timedelta, default_args: Mapping[str, Any], *, deadline: bool = False
) -> dict[str, Any]:
    """The keyword arguments that give a DAG its alerts, for `@dag(..., **failure_alerts(...))`:
    the task failure callback and the overrun check merged into `default_args`, and the DAG's
    failure callback. `deadline=True` adds Airflow's DeadlineAlert `overrun_after` the run was
    queued, which alerts while the run is still going, for an Airflow whose `dag.test()` handles
    deadlines (see OverrunCheck)."""
    kwargs: dict[str, Any] = {
        "default_args": {
            **default_args,
            "on_failure_callback": alert_task_failure,
            "on_success_callback": OverrunCheck(overrun_after),
        },
        "on_failure_callback": alert_run_failure,
    }
    if deadline:
        kwargs["deadline"] = DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=overrun_after,
            callback=SyncCallback(alert_overrun, kwargs={"expected": str(overrun_after)}),
            name="overrun",
        )
    return kwargs
