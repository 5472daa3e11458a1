"""docker-compose.yml describes the production stack of the design (no Docker engine needed);
tests/system/test_scheduler_celery.py runs the same topology as local processes."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_SERVICES = {
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
# ${VAR}, ${VAR:-default}, ${VAR:?message}; `$${...}` is an escaped dollar, not a variable.
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert all(len(pair) == 2 for pair in pairs), pairs
    return {name.strip(): value for name, value in pairs}


def test_compose_has_the_production_services_with_celery():
    services = compose()["services"]
    assert {"postgres", "redis", *AIRFLOW_SERVICES} <= set(services)
    env = services["airflow-worker"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql")
    assert "AIRFLOW_CONN_BIZENV_WAREHOUSE" in env


def test_every_airflow_service_gets_the_alert_connections_from_the_environment():
    services = compose()["services"]
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        env = services[name]["environment"]
        assert env["AIRFLOW_CONN_BIZENV_ALERT_SMTP"] == "${AIRFLOW_CONN_BIZENV_ALERT_SMTP:-}", name
        assert env["AIRFLOW_CONN_BIZENV_ALERT_WEBHOOK"] == "${AIRFLOW_CONN_BIZENV_ALERT_WEBHOOK:-}", name


def test_every_long_running_service_has_a_healthcheck():
    services = compose()["services"]
    for name in AIRFLOW_SERVICES | {"postgres", "redis"}:
        check = services[name].get("healthcheck") or {}
        assert check.get("test", [None])[0] in {"CMD", "CMD-SHELL"}, name
    # The scheduler's check asks its health server, which is off unless enabled.
    scheduler = services["airflow-scheduler"]
    assert scheduler["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "True"
    assert "8974/health" in " ".join(scheduler["healthcheck"]["test"])
    # The merge kept the shared environment beside the scheduler's own setting.
    assert scheduler["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    # Workers start once the execution API answers.
    worker = services["airflow-worker"]["depends_on"]
    assert worker["airflow-api-server"] == {"condition": "service_healthy"}


def test_env_example_lists_every_variable_the_compose_file_reads_and_no_other():
    used = set(VARIABLE.findall((ROOT / "docker-compose.yml").read_text()))
    listed = env_example()
    assert used, "no ${VAR} found: the pattern is wrong"
    assert used == set(listed), {"missing": used - set(listed), "unused": set(listed) - used}
    # The secrets have no value to copy: compose refuses to start until they are set.
    assert listed["AIRFLOW_JWT_SECRET"] == "" and listed["BIZENV_SALT"] == ""


def test_airflowignore_keeps_the_package_out_of_the_plugin_scan():
    lines = (ROOT / "plugins" / ".airflowignore").read_text().split()
    assert "bizenv/" in lines
