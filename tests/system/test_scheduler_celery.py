"""The DAGs under a real scheduler with Celery workers: the topology of docker-compose.yml, run
without Docker as local processes.

One stack per module: its own Airflow metadata database and warehouse (fresh PostgreSQL
databases), a Redis database number of its own as the Celery broker (the result backend is the
metadata database), a temporary AIRFLOW_HOME with the repository's dags/ and plugins/, and
`airflow scheduler`, `airflow dag-processor`, `airflow api-server` and `airflow celery worker`
(concurrency 2) as subprocesses, each in its own process group with its own log file. A survey
batch is loaded with the `bizenv` CLI, a metrics file is dropped into the metrics inbox, and the
runs are triggered through the public REST API (`/api/v2`), as an operator would. The failure
alerts go to an SMTP server and a chat webhook started here, configured by AIRFLOW_CONN_*.

PostgreSQL (BIZENV_TEST_PG_URL) and Redis (BIZENV_TEST_REDIS_URL, default the local server)
unreachable → skipped, unless BIZENV_REQUIRE_PG=1 (CI), where that fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from tests.builders import unit_sample, write_survey
from tests.conftest import PG_URL, REQUIRE_PG, _pg_reachable

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("BIZENV_TEST_REDIS_URL", "redis://127.0.0.1:6379")
pytestmark = [pytest.mark.system, pytest.mark.slow, pytest.mark.pg]

GOOD_PERIOD = "2026H1"
EMPTY_PERIOD = "2030H1"  # no batches: the evaluation must fail, and alert
METRICS_PERIOD = "2026H2"  # apart from GOOD_PERIOD, so the two runs may overlap freely
EXPECTED_DAGS = {
    "fieldwork_monitor",
    "metrics_ingest",
    "period_refresh",
    "semiannual_evaluation",
    "survey_ingest",
}
EVALUATION_TASKS = {
    "resolve_period",
    "prepare_warehouse",
    "check_inputs",
    "validate_period",
    "evaluate",
    "publish_summary",
}
# Redis database numbers a run may take (the others are left to whoever uses this server); the
# run holds its number by a key, so two runs on one machine never share a broker or databases.
REDIS_SLOTS = range(15, 7, -1)
SLOT_KEY = "bizenv:system-test:owner"
USER = "bizenv"
RUN_MARKER = "BIZENV_SYSTEM_TEST_RUN"
STARTUP_SECONDS = 150
RUN_SECONDS = 180


# --- services outside Airflow: PostgreSQL, Redis, the alert receivers ---------------------------


def require(condition_error: str | None, what: str) -> None:
    """Skip without the service, or fail under BIZENV_REQUIRE_PG=1 (CI)."""
    if condition_error:
        message = f"{what} unreachable ({condition_error})"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)


def redis_error() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # any failure to reach it means: no broker for this test
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


def reserve_redis_db(token: str) -> int:
    """A Redis database number nobody else's run holds, emptied."""
    import redis

    for number in REDIS_SLOTS:
        client = redis.Redis.from_url(f"{REDIS_URL}/{number}")
        if client.set(SLOT_KEY, token, nx=True, ex=1800):
            for key in client.scan_iter():
                if key != SLOT_KEY.encode():
                    client.delete(key)
            return number
    raise RuntimeError(f"every Redis database {list(REDIS_SLOTS)} is held by another run ({SLOT_KEY})")


def release_redis_db(number: int, token: str) -> None:
    import redis

    client = redis.Redis.from_url(f"{REDIS_URL}/{number}")
    if client.get(SLOT_KEY) == token.encode():
        client.flushdb()


def recreate_database(name: str) -> sa.URL:
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.make_url(PG_URL).set(database=name)


def drop_database(name: str) -> None:
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def as_string(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MailInbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@dataclass
class Receivers:
    smtp_port: int
    mail: MailInbox
    webhook_port: int
    posts: list[dict] = field(default_factory=list)

    def smtp_connection(self) -> str:
        return json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.smtp_port,
                "extra": {
                    "to": "ops@example.org",
                    "from_email": "bizenv-alerts@example.org",
                    "disable_ssl": True,
                    "disable_tls": True,
                    "retry_limit": 0,
                    "timeout": 10,
                },
            }
        )

    def webhook_connection(self) -> str:
        return json.dumps(
            {"conn_type": "http", "host": f"http://127.0.0.1:{self.webhook_port}/cgi-bin/webhook/send?key=ci"}
        )


@pytest.fixture(scope="module")
def receivers() -> Iterator[Receivers]:
    from aiosmtpd.controller import Controller

    mail = MailInbox()
    controller = Controller(mail, hostname="127.0.0.1", port=free_port())
    controller.start()
    posts: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            posts.append(json.loads(body))
            answer = b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receivers(controller.port, mail, server.server_address[1], posts)
    finally:
        server.shutdown()
        server.server_close()
        controller.stop()


# --- the Airflow processes ----------------------------------------------------------------------


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()[-lines:]
        except OSError as exc:
            text = [f"(no log: {exc})"]
        return (
            f"--- {self.name} (pid {self.process.pid}, exit {self.process.poll()}), {self.log}:\n"
            + "\n".join(text)
        )


@dataclass
class Stack:
    home: Path
    env: dict[str, str]
    api: str
    warehouse: sa.URL
    metadata: sa.URL
    landing: Path
    output: Path
    services: list[Service] = field(default_factory=list)
    started_in: float = 0.0
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def start(self, name: str, *args: str) -> Service:
        log = self.home / f"{name}.log"
        handle = log.open("ab")
        process = subprocess.Popen(
            [str(BIN / "airflow"), *args],
            env=self.env,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, stopped as one
        )
        handle.close()
        service = Service(name, process, log)
        self.services.append(service)
        return service

    def logs(self, lines: int = 40) -> str:
        """The tail of every service's log, for an assertion message."""
        return "\n".join(service.tail(lines) for service in self.services)

    def task_logs(self, dag_id: str, run_id: str, lines: int = 30) -> str:
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        parts = []
        for path in sorted(folder.glob("task_id=*/**/*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.relative_to(self.home)}:\n" + "\n".join(text))
        return "\n".join(parts) or f"(no task logs under {folder})"

    def check_alive(self) -> None:
        dead = [service for service in self.services if service.process.poll() is not None]
        assert not dead, f"{', '.join(s.name for s in dead)} exited\n{self.logs()}"

    def wait(self, what: str, probe: Callable[[], Any], seconds: float, interval: float = 1.0) -> Any:
        """Poll `probe` until it returns something truthy; fail naming `what` with the logs."""
        deadline = time.monotonic() + seconds
        last_error = ""
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                result = probe()
            except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
                result, last_error = None, f"{type(exc).__name__}: {exc}"
            if result:
                return result
            time.sleep(interval)
        pytest.fail(f"{what}: not within {seconds:.0f} s ({last_error or 'no error'})\n{self.logs()}")

    # The public REST API, as an operator's script uses it.
    def login(self, password: str) -> None:
        response = self.client.post(f"{self.api}/auth/token", json={"username": USER, "password": password})
        assert response.status_code == 201, response.text
        self.client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str, **params: Any) -> dict:
        response = self.client.get(f"{self.api}/api/v2{path}", params=params)
        response.raise_for_status()
        return response.json()

    def trigger(self, dag_id: str, run_id: str, conf: dict, logical_date: str | None) -> dict:
        response = self.client.post(
            f"{self.api}/api/v2/dags/{dag_id}/dagRuns",
            json={"dag_run_id": run_id, "logical_date": logical_date, "conf": conf},
        )
        assert response.status_code == 200, f"trigger {dag_id}: {response.status_code} {response.text}"
        return response.json()

    def unpause(self, dag_id: str) -> None:
        response = self.client.patch(f"{self.api}/api/v2/dags/{dag_id}", json={"is_paused": False})
        assert response.status_code == 200 and response.json()["is_paused"] is False, response.text

    def finished_run(self, dag_id: str, run_id: str) -> dict:
        def state() -> dict | None:
            run = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in {"success", "failed"} else None

        return self.wait(f"{dag_id} run {run_id} to finish", state, RUN_SECONDS, interval=2)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def stop(self) -> list[str]:
        """Stop every process group (TERM, then KILL after a grace period); then report any
        process this stack started that is still there, found by the marker in its environment."""
        for service in self.services:
            signal_group(service.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for service in self.services:
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(max(0.1, deadline - time.monotonic()))
        # Stragglers of a group (a task process, a parser, an api-server worker) go too.
        time.sleep(0.5)
        for service in self.services:
            signal_group(service.process.pid, signal.SIGKILL)
            if service.process.poll() is None:
                service.process.wait(10)
        self.client.close()
        marker = f"{RUN_MARKER}={self.env[RUN_MARKER]}".encode()
        left = processes_with(marker)
        for pid in left:
            signal_pid(pid, signal.SIGKILL)
        return [ps_line(pid) for pid in left]


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def signal_pid(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def processes_with(marker: bytes) -> list[int]:
    """Live processes whose environment holds `marker` (every process a service started
    inherits it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def ps_line(pid: int) -> str:
    result = subprocess.run(
        ["ps", "-o", "pid,pgid,stat,args", "-p", str(pid)], capture_output=True, text=True
    )
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else str(pid)


def airflow_env(
    home: Path,
    metadata: sa.URL,
    warehouse: sa.URL,
    broker: str,
    port: int,
    scheduler_port: int,
    receivers: Receivers,
    token: str,
) -> dict[str, str]:
    """What docker-compose.yml gives every Airflow service, for processes on this machine."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))
        and key not in {"AIRFLOW_HOME", "BIZENV_DATABASE_URL", "BIZENV_LANDING_DIR", "BIZENV_OUTPUT_DIR"}
    }
    api = f"http://127.0.0.1:{port}"
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USER: secrets.token_urlsafe(16)}))
    return {
        **inherited,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": as_string(metadata),
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + as_string(metadata),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        # The scheduler's health server, as docker-compose.yml enables it (its port is free here).
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(scheduler_port),
        # Only matters when two runs share the machine: each worker's log server on its own port.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW_CONN_BIZENV_WAREHOUSE": warehouse_connection(warehouse),
        "AIRFLOW_CONN_BIZENV_ALERT_SMTP": receivers.smtp_connection(),
        "AIRFLOW_CONN_BIZENV_ALERT_WEBHOOK": receivers.webhook_connection(),
        "BIZENV_LANDING_DIR": str(home / "landing"),
        "BIZENV_OUTPUT_DIR": str(home / "output"),
        "BIZENV_SALT": os.environ["BIZENV_SALT"],
        RUN_MARKER: token,
    }


def warehouse_connection(url: sa.URL) -> str:
    """The `bizenv_warehouse` connection, as docker-compose.yml gives it (a postgres:// URI)."""
    auth = url.username or ""
    if url.password:
        auth += f":{url.password}"
    return f"postgres://{auth}@{url.host}:{url.port or 5432}/{url.database}"


def bizenv(env: dict[str, str], *args: str) -> dict:
    """Run the `bizenv` command as evaluators do; its last line is a JSON summary."""
    result = subprocess.run(
        [str(BIN / "bizenv"), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, (
        f"bizenv {' '.join(args)}: exit {result.returncode}\n{result.stderr[-2000:]}"
    )
    lines = result.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, receivers) -> Iterator[Stack]:
    require(_pg_reachable(), f"PostgreSQL at {PG_URL}")
    require(redis_error(), f"Redis at {REDIS_URL}")
    token = secrets.token_hex(8)
    slot = reserve_redis_db(token)
    names = (f"bizenv_airflow_ci{slot}", f"bizenv_warehouse_ci{slot}")
    stack: Stack | None = None
    try:
        home = tmp_path_factory.mktemp("airflow-celery")
        metadata, warehouse = (recreate_database(name) for name in names)
        port = free_port()
        env = airflow_env(
            home, metadata, warehouse, f"{REDIS_URL}/{slot}", port, free_port(), receivers, token
        )
        stack = Stack(
            home, env, f"http://127.0.0.1:{port}", warehouse, metadata, home / "landing", home / "output"
        )
        started = time.monotonic()
        migrate = subprocess.run(
            [str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True, timeout=300
        )
        assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
        # The services of docker-compose.yml but the triggerer (no DAG defers a task). The worker
        # serves no logs: the api-server reads them from the AIRFLOW_HOME they share here.
        stack.start("scheduler", "scheduler")
        stack.start("dag-processor", "dag-processor")
        stack.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1")
        stack.start("celery-worker", "celery", "worker", "--concurrency", "2", "--skip-serve-logs")
        stack.started_in = time.monotonic() - started
        yield stack
    finally:
        leftovers = stack.stop() if stack else []
        release_redis_db(slot, token)
        for name in names:
            drop_database(name)
        assert not leftovers, "processes left behind after stopping the stack:\n" + "\n".join(leftovers)


def health(stack: Stack) -> bool:
    answer = stack.get("/monitor/health")
    return all(answer[part]["status"] == "healthy" for part in ("metadatabase", "scheduler", "dag_processor"))


@dataclass
class Runs:
    good: dict
    empty: dict
    metrics: dict
    batch: dict


@pytest.fixture(scope="module")
def runs(stack: Stack, tmp_path_factory) -> Runs:
    """Loads the data, triggers the three runs through the REST API and waits for them."""
    started = time.monotonic()
    # Evaluators' side, while the services start: a warehouse and one survey batch by the CLI.
    folder = tmp_path_factory.mktemp("survey")
    rows = unit_sample("市发改委", 31, "满意") + unit_sample("公安局", 31, "一般", start=100)
    db = as_string(stack.warehouse)
    bizenv(stack.env, "init-db", "--db", db)
    batch = bizenv(
        stack.env,
        "load-survey",
        str(write_survey(folder / "batch.csv", rows)),
        "--period",
        GOOD_PERIOD,
        "--db",
        db,
    )
    inbox = stack.landing / "metrics" / "inbox" / METRICS_PERIOD
    inbox.mkdir(parents=True)
    pd.DataFrame(
        [("供电公司", "electricity_connection_days", "12", "国网统计")],
        columns=["unit", "indicator", "value", "source"],
    ).to_csv(inbox / "metrics.csv", index=False)

    stack.wait(
        "the API server, scheduler and dag-processor to be healthy", lambda: health(stack), STARTUP_SECONDS
    )
    stack.login(
        json.loads(Path(stack.env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).read_text())[USER]
    )
    stack.wait(
        "the five DAGs to be parsed",
        lambda: {d["dag_id"] for d in stack.get("/dags", limit=100)["dags"]} >= EXPECTED_DAGS,
        STARTUP_SECONDS,
    )
    stack.wait(
        "the Celery worker to be ready",
        lambda: " ready." in stack.services[-1].log.read_text(),
        STARTUP_SECONDS,
    )
    ready = time.monotonic()

    # A run with the logical date of the DAG's next scheduled run: unpausing the DAG then starts
    # no scheduled run besides it (the scheduler skips a logical date that already has a run).
    next_run = stack.get("/dags/semiannual_evaluation")["next_dagrun_logical_date"]
    good = stack.trigger("semiannual_evaluation", f"ci_{GOOD_PERIOD}", {"period": GOOD_PERIOD}, next_run)
    empty = stack.trigger("semiannual_evaluation", f"ci_{EMPTY_PERIOD}", {"period": EMPTY_PERIOD}, None)
    next_run = stack.get("/dags/metrics_ingest")["next_dagrun_logical_date"]
    metrics = stack.trigger("metrics_ingest", "ci_metrics", {"min_file_age_seconds": 0}, next_run)
    stack.unpause("semiannual_evaluation")
    stack.unpause("metrics_ingest")
    finished = {
        name: stack.finished_run(run["dag_id"], run["dag_run_id"])
        for name, run in {"good": good, "empty": empty, "metrics": metrics}.items()
    }
    print(
        f"\nservices started in {stack.started_in:.0f} s (db migrate included), ready after"
        f" {ready - started:.0f} s more, the three runs done {time.monotonic() - ready:.0f} s later"
    )
    return Runs(finished["good"], finished["empty"], finished["metrics"], batch)


def test_the_evaluation_runs_on_the_celery_worker_and_fills_the_warehouse(stack, runs):
    run = runs.good
    context = f"\n{stack.task_logs(run['dag_id'], run['dag_run_id'])}\n{stack.logs()}"
    assert runs.batch["accepted"] == 62, runs.batch
    assert run["state"] == "success", f"run {run['dag_run_id']} {run['state']}{context}"
    tis = stack.task_instances(run["dag_id"], run["dag_run_id"])
    assert {ti["task_id"]: ti["state"] for ti in tis} == dict.fromkeys(EVALUATION_TASKS, "success"), context
    assert {ti["queue"] for ti in tis} == {"default"}
    assert all(ti["hostname"] for ti in tis)

    engine = sa.create_engine(as_string(stack.warehouse))
    with engine.connect() as conn:
        rankings = dict(
            conn.execute(
                sa.text("SELECT unit_code, rank FROM rankings WHERE period = :p"), {"p": GOOD_PERIOD}
            ).all()
        )
        done = (
            conn.execute(
                sa.text("SELECT status FROM pipeline_runs WHERE command = 'evaluate' AND period = :p"),
                {"p": GOOD_PERIOD},
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert len(rankings) == 35 and rankings["ndrc"] == 1 and rankings["public_security"] == 2, rankings
    assert done == ["done"]
    assert (stack.output / GOOD_PERIOD / "rankings.csv").is_file()


WORKLOAD = re.compile(
    r"Executing workload in Celery: .*?ti=TaskInstanceDTO\(.*?task_id='(?P<task_id>[^']+)', "
    r"dag_id='(?P<dag_id>[^']+)', run_id='(?P<run_id>[^']+)', try_number=(?P<try_number>\d+),"
    r".*?map_index=(?P<map_index>-?\d+)"
)


def test_every_task_instance_ran_on_the_celery_worker(stack, runs):
    """The Celery worker's log names every task instance of the three runs (and nothing ran
    elsewhere: each one it names is one of them), and the result backend holds their results."""
    ran = {
        (ti["dag_id"], ti["dag_run_id"], ti["task_id"], ti["map_index"], ti["try_number"])
        for run in (runs.good, runs.empty, runs.metrics)
        for ti in stack.task_instances(run["dag_id"], run["dag_run_id"])
        if ti["state"] in {"success", "failed"}
    }
    ours = {run["dag_run_id"] for run in (runs.good, runs.empty, runs.metrics)}
    worker_log = stack.services[-1].log.read_text(errors="replace")
    executed = {
        (m["dag_id"], m["run_id"], m["task_id"], int(m["map_index"]), int(m["try_number"]))
        for m in WORKLOAD.finditer(worker_log)
        if m["run_id"] in ours
    }
    assert len(ran) >= 10 and executed == ran, f"{sorted(ran ^ executed)}\n{stack.logs()}"
    # The metrics run mapped one load task over the one file.
    assert ("metrics_ingest", "ci_metrics", "load_file", 0, 1) in executed

    engine = sa.create_engine(as_string(stack.metadata))
    with engine.connect() as conn:
        results = dict(
            conn.execute(sa.text("SELECT status, count(*) FROM celery_taskmeta GROUP BY status")).all()
        )
    engine.dispose()
    assert sum(results.values()) >= len(ran), results
    # Unpausing the DAG added no scheduled run to the two triggered ones.
    listed = stack.get("/dags/semiannual_evaluation/dagRuns")["dag_runs"]
    assert sorted(r["dag_run_id"] for r in listed) == sorted([f"ci_{EMPTY_PERIOD}", f"ci_{GOOD_PERIOD}"])


def test_a_period_without_batches_fails_and_alerts_by_email_and_webhook(stack, runs, receivers):
    run = runs.empty
    assert run["state"] == "failed", f"{run}\n{stack.logs()}"
    states = {
        ti["task_id"]: (ti["state"], ti["try_number"])
        for ti in stack.task_instances("semiannual_evaluation", run["dag_run_id"])
    }
    assert states["check_inputs"] == ("failed", 1), states
    assert states["evaluate"][0] == "upstream_failed", states

    expected = {
        f"[bizenv] semiannual_evaluation.check_inputs failed ({EMPTY_PERIOD})",
        f"[bizenv] semiannual_evaluation run failed ({EMPTY_PERIOD})",
    }

    def arrived() -> bool:
        subjects = {m["Subject"] for m in receivers.mail.messages}
        chats = {p["text"]["content"].splitlines()[0] for p in receivers.posts}
        return expected <= subjects and expected <= chats

    stack.wait("the failure e-mails and webhook posts", arrived, 60)
    by_subject = {m["Subject"]: m for m in receivers.mail.messages}
    task_mail = by_subject[f"[bizenv] semiannual_evaluation.check_inputs failed ({EMPTY_PERIOD})"]
    text = str(task_mail.get_body(("html", "plain")).get_content())  # type: ignore[union-attr]
    assert f"Run: {run['dag_run_id']}" in text
    assert f"period {EMPTY_PERIOD} has no accepted survey responses" in text
    assert f"{stack.api}/dags/semiannual_evaluation/runs/" in text
    # Nothing else failed: the good run and the metrics run sent nothing.
    assert {m["Subject"] for m in receivers.mail.messages} == expected
    assert {p["text"]["content"].splitlines()[0] for p in receivers.posts} == expected


def test_a_metrics_file_in_the_inbox_is_loaded_and_archived(stack, runs):
    run = runs.metrics
    assert run["state"] == "success", (
        f"{run}\n{stack.task_logs(run['dag_id'], run['dag_run_id'])}\n{stack.logs()}"
    )
    landing = stack.landing / "metrics"
    assert [p.name for p in (landing / "inbox" / METRICS_PERIOD).iterdir()] == []
    assert [p.name.split(".")[0] for p in (landing / "archive" / METRICS_PERIOD).iterdir()] == ["metrics"]
    engine = sa.create_engine(as_string(stack.warehouse))
    with engine.connect() as conn:
        batches = conn.execute(sa.text("SELECT period, accepted, status FROM metric_batches")).all()
        values = conn.execute(sa.text("SELECT unit_code, indicator, value FROM department_metrics")).all()
    engine.dispose()
    assert [tuple(b) for b in batches] == [(METRICS_PERIOD, 1, "accepted")]
    assert [tuple(v) for v in values] == [("power_supply", "electricity_connection_days", 12.0)]


def test_the_compose_healthchecks_pass_against_the_running_services(stack, runs):
    """Each Airflow service's healthcheck in docker-compose.yml, run here against the process that
    stands for it: the address of a container becomes this machine's port, and $HOSTNAME its
    hostname, as a container's is."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    ports = {
        "localhost:8080": stack.api.removeprefix("http://"),
        "localhost:8974": f"127.0.0.1:{stack.env['AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT']}",
    }
    env = {**stack.env, "HOSTNAME": socket.gethostname()}
    checks = {}
    for name in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-worker"):
        kind, *command = services[name]["healthcheck"]["test"]
        command = [part.replace("$$", "$") for part in command]
        for address, here in ports.items():
            command = [part.replace(address, here) for part in command]
        argv = ["sh", "-c", command[0]] if kind == "CMD-SHELL" else command
        checks[name] = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    failed = {}
    for name, process in checks.items():
        output, _ = process.communicate(timeout=120)
        if process.returncode != 0:
            failed[name] = f"exit {process.returncode}: {output[-1500:]}"
    assert not failed, f"{failed}\n{stack.logs()}"
