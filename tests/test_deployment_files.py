"""docker-compose.yml describes the production stack of the design (no Docker engine needed)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_has_the_production_services_with_celery():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {
        "postgres",
        "redis",
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
    } <= set(services)
    env = services["airflow-worker"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379")
    assert "AIRFLOW_CONN_BIZENV_WAREHOUSE" in env


def test_airflowignore_keeps_the_package_out_of_the_plugin_scan():
    lines = (ROOT / "plugins" / ".airflowignore").read_text().split()
    assert "bizenv/" in lines
