"""Policies every DAG file follows: imports cleanly, nothing heavy at top level (what keeps
parsing fast; the parse time itself is measured by `make bench`, not asserted here),
owner, retries, tags and a doc on every DAG, a timeout on every DAG run and every task, failure
alerts on every DAG run and every task and an overrun check before the run's timeout; the
bizenv package stays out of the plugin scan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
EXPECTED_DAGS = {
    "semiannual_evaluation",
    "survey_ingest",
    "metrics_ingest",
    "fieldwork_monitor",
    "period_refresh",
    "rectification_followup",
}
pytestmark = pytest.mark.airflow
# sqlalchemy is not listed: building any DAG object loads it inside Airflow itself. aiohttp and
# requests come with the HTTP provider (its notifier costs 0.8 s to import): alerts load it when
# they send, not when a DAG file is parsed.
HEAVY = [
    "pandas",
    "scipy",
    "great_expectations",
    "numpy",
    "pydantic_core",
    "yaml",
    "aiohttp",
    "requests",
    "bizenv",
]
# The one bizenv module DAG files import at top level, for their alert callbacks (6 ms: standard
# library and Airflow's authoring API only), with the packages that hold it.
DAG_TIME_BIZENV = {"bizenv", "bizenv.airflow_support", "bizenv.airflow_support.alerts"}

PROBE = """
import importlib.util, json, sys
paths = sys.argv[1:]
import airflow.sdk  # the authoring API itself is not what we measure
before = set(sys.modules)
for path in paths:
    spec = importlib.util.spec_from_file_location("dagfile_" + str(abs(hash(path))), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
added = set(sys.modules) - before
print(json.dumps({
    "modules": sorted({name.split(".")[0] for name in added}),
    "bizenv": sorted(name for name in added if name.split(".")[0] == "bizenv"),
}))
"""


@pytest.fixture(scope="module")
def dag_import_probe() -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, DAG_FILES)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", HEAVY)
def test_dag_files_import_nothing_heavy_at_top_level(dag_import_probe, module):
    """Modules the DAG files pull in beyond the authoring API itself (of bizenv, only the alert
    callbacks' module: everything else of the package loads inside tasks)."""
    if module == "bizenv":
        assert set(dag_import_probe["bizenv"]) <= DAG_TIME_BIZENV
    else:
        assert module not in dag_import_probe["modules"]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_dag_files_import_without_errors_and_define_the_dags(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED_DAGS
    assert len(dagbag.dags) >= 1


def test_every_dag_has_owner_retries_tags_and_doc(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 100, dag_id
        for task in dag.tasks:
            assert task.owner not in (None, "", "airflow"), (dag_id, task.task_id)
            assert task.retries >= 1, (dag_id, task.task_id)


def test_every_dag_run_and_every_task_has_a_timeout(dagbag):
    """A hung task (a locked warehouse, a stuck network mount) fails instead of holding its slot."""
    for dag_id, dag in dagbag.dags.items():
        assert dag.dagrun_timeout is not None, dag_id
        for task in dag.tasks:
            assert task.execution_timeout is not None, (dag_id, task.task_id)
            assert task.execution_timeout <= dag.dagrun_timeout, (dag_id, task.task_id)


def _as_list(value: object) -> list:
    """A callback attribute: one callable, a list, or none."""
    return value if isinstance(value, list) else [] if value is None else [value]


def _callbacks(value: object) -> set[str]:
    return {f"{item.__module__}.{getattr(item, '__qualname__', '')}" for item in _as_list(value)}


ALERTS = "bizenv.airflow_support.alerts"


def test_every_dag_run_and_every_task_alerts_on_failure_and_on_overrun(dagbag):
    """`**failure_alerts(overrun_after=..., default_args={...})` in the `@dag(...)` call gives all
    three; the run is late before its timeout fails it, or it would never be late."""
    missing = []
    for dag_id, dag in sorted(dagbag.dags.items()):
        if f"{ALERTS}.alert_run_failure" not in _callbacks(dag.on_failure_callback):
            missing.append(f"{dag_id}: no run failure alert")
        missing += [
            f"{dag_id}.{task.task_id}: no task failure alert"
            for task in dag.tasks
            if f"{ALERTS}.alert_task_failure" not in _callbacks(task.on_failure_callback)
        ]
        missing += [
            f"{dag_id}.{task.task_id}: no overrun check before the run's dagrun_timeout"
            for task in dag.tasks
            if not any(
                type(check).__qualname__ == "OverrunCheck" and check.expected < dag.dagrun_timeout
                for check in _as_list(task.on_success_callback)
            )
        ]
    assert not missing, "\n".join(missing)


def test_plugin_scan_loads_nothing_from_the_bizenv_package():
    probe = (
        "import sys, json\n"
        "from airflow import plugins_manager as pm\n"
        "pm.ensure_plugins_loaded()\n"
        "names = {p.stem for p in __import__('pathlib').Path(sys.argv[1]).rglob('*.py')}\n"
        "print(json.dumps(sorted(n for n in names if n in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT / "plugins" / "bizenv")],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
