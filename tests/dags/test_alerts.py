"""Failure alerts delivered for real: an SMTP server (aiosmtpd) and a chat webhook (http.server)
on 127.0.0.1 receive what a really failing DAG run sends through the alert connections, which
are configured the way operators do it, by AIRFLOW_CONN_* variables."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMTP_ENV = "AIRFLOW_CONN_BIZENV_ALERT_SMTP"
WEBHOOK_ENV = "AIRFLOW_CONN_BIZENV_ALERT_WEBHOOK"
RECIPIENTS = ["ops@example.org", "duty@example.org"]


class Inbox:
    """What the SMTP server received, as parsed messages with their envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[EmailMessage, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: ANN401, N802
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((message, list(envelope.rcpt_tos)))  # type: ignore[arg-type]
        return "250 OK"

    def wait_for(self, count: int, seconds: float = 10) -> list[tuple[EmailMessage, list[str]]]:
        deadline = time.monotonic() + seconds
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


class Posts(list):
    """The webhook requests received: (path with query, JSON body)."""


@pytest.fixture
def webhook_server() -> Iterator[tuple[int, Posts]]:
    posts = Posts()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            posts.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
            answer = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], posts
    finally:
        server.shutdown()
        server.server_close()


def smtp_connection(port: int) -> str:
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {
                "to": ", ".join(RECIPIENTS),
                "from_email": "bizenv-alerts@example.org",
                "disable_ssl": True,
                "disable_tls": True,
                "retry_limit": 0,
                "timeout": 5,
            },
        }
    )


def webhook_connection(port: int) -> str:
    # The robot's whole URL, key included, as 企业微信 gives it.
    return json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key=test-key"}
    )


@pytest.fixture
def both_channels(monkeypatch, smtp_server, webhook_server) -> tuple[Inbox, Posts]:
    monkeypatch.setenv(SMTP_ENV, smtp_connection(smtp_server[0]))
    monkeypatch.setenv(WEBHOOK_ENV, webhook_connection(webhook_server[0]))
    return smtp_server[1], webhook_server[1]


def body(message: EmailMessage) -> str:
    return str(message.get_body(("html", "plain")).get_content())  # type: ignore[union-attr]


# --- notify(): what other code calls -----------------------------------------------------------


def test_notify_delivers_to_both_channels(both_channels):
    from bizenv.airflow_support.alerts import notify

    inbox, posts = both_channels

    delivered = notify(
        "bizenv: 2026H1 fieldwork quiet for 10 day(s)", "No survey batch for 2026H1 <since> 1 July."
    )

    assert delivered == ["email", "webhook"]
    [(message, rcpt)] = inbox.wait_for(1)
    assert message["Subject"] == "bizenv: 2026H1 fieldwork quiet for 10 day(s)"
    assert message["From"] == "bizenv-alerts@example.org"
    assert sorted(rcpt) == sorted(RECIPIENTS)
    assert "No survey batch for 2026H1 &lt;since&gt; 1 July." in body(message)
    [(path, content_type, payload)] = posts
    assert path == "/cgi-bin/webhook/send?key=test-key"
    assert content_type.startswith("application/json")
    assert payload == {
        "msgtype": "text",
        "text": {
            "content": "bizenv: 2026H1 fieldwork quiet for 10 day(s)\nNo survey batch for 2026H1 <since> 1 July."
        },
    }


def test_notify_reports_only_the_channels_that_delivered(monkeypatch, webhook_server, caplog):
    """No SMTP connection at all, and a webhook robot that answers errcode ≠ 0 (a wrong key)."""
    from bizenv.airflow_support.alerts import notify

    monkeypatch.delenv(SMTP_ENV, raising=False)
    monkeypatch.setenv(WEBHOOK_ENV, webhook_connection(webhook_server[0]))
    assert notify("s", "t") == ["webhook"]
    assert "no connection 'bizenv_alert_smtp'" in caplog.text

    # The same robot, now pointed at a port where nobody listens: delivered nowhere, no exception.
    monkeypatch.setenv(
        WEBHOOK_ENV, json.dumps({"conn_type": "http", "host": f"http://127.0.0.1:{_free_port()}/x"})
    )
    with caplog.at_level(logging.WARNING):
        assert notify("s", "t") == []
    assert "alert webhook via 'bizenv_alert_webhook' failed" in caplog.text


# --- a DAG that fails for real ------------------------------------------------------------------


@pytest.fixture
def evaluation_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags" / "semiannual_evaluation.py")).dags["semiannual_evaluation"]


def task_states(run) -> dict[str, tuple[str, int]]:
    return {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}


@pytest.mark.airflow
@pytest.mark.slow
def test_a_failed_run_alerts_by_email_and_webhook(evaluation_dag, warehouse, both_channels):
    """dag.test runs the task's on_failure_callback (in the task runner) and the DAG's (when the
    run's state is decided), and the tasks' overrun checks (silent: the run took seconds, not an
    hour). A deadline is not run by dag.test (only the scheduler finds missed deadlines): its
    callback is run as the executor runs it (import path + kwargs + the scheduler's context of
    the run), with the real failed run's data."""
    inbox, posts = both_channels

    run = evaluation_dag.test(logical_date=datetime(2027, 1, 1, tzinfo=UTC))

    assert run.state == "failed"
    messages = {message["Subject"]: body(message) for message, _ in inbox.wait_for(2)}
    # The run's alert names no period here: dag.test calls the DAG callback in this process,
    # which cannot read XComs; under the scheduler the dag processor answers the XCom read.
    assert sorted(messages) == [
        "[bizenv] semiannual_evaluation run failed",
        "[bizenv] semiannual_evaluation.check_inputs failed (2027H1)",
    ]
    task_mail = messages["[bizenv] semiannual_evaluation.check_inputs failed (2027H1)"]
    for line in [
        "DAG: semiannual_evaluation",
        f"Run: {run.run_id}",
        "Task: check_inputs",
        "Period: 2027H1",
        "Error: period 2027H1 has no accepted survey responses (0 accepted batch(es))",
        "Try: 1 of at most 2",
        f"/dags/semiannual_evaluation/runs/{run.run_id.replace('+', '%2B').replace(':', '%3A')}/tasks/check_inputs",
    ]:
        assert line in task_mail
    run_mail = messages["[bizenv] semiannual_evaluation run failed"]
    assert "Task: check_inputs" in run_mail and "Error: task_failure" in run_mail

    contents = [payload["text"]["content"] for _, _, payload in posts]
    assert {payload["msgtype"] for _, _, payload in posts} == {"text"}
    assert len(contents) == 2
    task_chat = next(
        c for c in contents if c.startswith("[bizenv] semiannual_evaluation.check_inputs failed")
    )
    assert (
        "Task: check_inputs\nPeriod: 2027H1\nError: period 2027H1 has no accepted survey responses"
        in task_chat
    )

    # The overrun deadline, as the scheduler would hand it to the executor for this run.
    from airflow.api_fastapi.core_api.datamodels.dag_run import DAGRunResponse
    from airflow.models import DagRun
    from airflow.sdk.execution_time.callback_supervisor import execute_callback
    from airflow.utils.session import create_session

    from bizenv.airflow_support.alerts import failure_alerts

    # The deadline the DAGs can opt into (failure_alerts(..., deadline=True)), for this DAG's hour.
    deadline = failure_alerts(timedelta(hours=1), {}, deadline=True)["deadline"]
    with create_session() as session:
        dag_run = DAGRunResponse.model_validate(session.get(DagRun, run.id)).model_dump(mode="json")
    context = {"dag_run": dag_run, "deadline": {"id": "0", "deadline_time": "2027-01-01T01:00:00+00:00"}}
    ok, error = execute_callback(
        deadline.callback.path,
        {**deadline.callback.kwargs, "context": context},
        None,
        None,
        logging.getLogger(),
    )

    assert (ok, error) == (True, None)
    [*_, (overrun, _)] = inbox.wait_for(3)
    assert overrun["Subject"] == "[bizenv] semiannual_evaluation run overran its expected 1:00:00"
    assert f"Run: {run.run_id}" in body(overrun)
    assert "still failed at the deadline 2027-01-01T01:00:00+00:00" in body(overrun)
    assert posts[-1][2]["text"]["content"].startswith("[bizenv] semiannual_evaluation run overran")


@pytest.mark.airflow
@pytest.mark.slow
def test_without_the_smtp_connection_the_webhook_still_delivers_and_the_run_fails_as_before(
    evaluation_dag, warehouse, smtp_server, webhook_server, monkeypatch
):
    monkeypatch.delenv(SMTP_ENV, raising=False)
    monkeypatch.setenv(WEBHOOK_ENV, webhook_connection(webhook_server[0]))
    _, inbox = smtp_server
    _, posts = webhook_server

    run = evaluation_dag.test(logical_date=datetime(2027, 1, 1, tzinfo=UTC))

    assert run.state == "failed"
    states = task_states(run)
    assert states["check_inputs"] == ("failed", 1)
    assert states["resolve_period"] == ("success", 1) and states["prepare_warehouse"] == ("success", 1)
    assert {states[t][0] for t in ("validate_period", "evaluate", "publish_summary")} == {"upstream_failed"}
    subjects = sorted(payload["text"]["content"].splitlines()[0] for _, _, payload in posts)
    assert subjects == [
        "[bizenv] semiannual_evaluation run failed",
        "[bizenv] semiannual_evaluation.check_inputs failed (2027H1)",
    ]
    assert inbox.messages == []
