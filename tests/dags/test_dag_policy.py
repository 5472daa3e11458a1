"""Policies every DAG file follows: imports cleanly, nothing heavy at top level (what keeps
parsing fast; the parse time itself is measured by `make bench`, not asserted here),
owner, retries, tags and a doc on every DAG, a timeout on every DAG run and every task; the
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
EXPECTED_DAGS = {"semiannual_evaluation", "survey_ingest", "metrics_ingest", "fieldwork_monitor"}
pytestmark = pytest.mark.airflow
# sqlalchemy is not listed: building any DAG object loads it inside Airflow itself.
HEAVY = ["pandas", "scipy", "great_expectations", "numpy", "pydantic_core", "yaml", "bizenv"]

PROBE = """
import importlib.util, json, sys
paths = sys.argv[1:]
import airflow.sdk  # the authoring API itself is not what we measure
before = set(sys.modules)
for path in paths:
    spec = importlib.util.spec_from_file_location("dagfile_" + str(abs(hash(path))), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
added = {name.split(".")[0] for name in set(sys.modules) - before}
print(json.dumps({"modules": sorted(added)}))
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
    """Modules the DAG files pull in beyond the authoring API itself."""
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
