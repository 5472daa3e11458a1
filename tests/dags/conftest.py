"""A migrated Airflow metadata database, shared by every DAG test of the session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    home = Path(os.environ["AIRFLOW_HOME"])
    result = subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return home


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    """A migrated SQLite warehouse that the DAGs' tasks find through the environment."""
    from bizenv.warehouse.engine import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("BIZENV_DATABASE_URL", url)
    monkeypatch.setenv("BIZENV_OUTPUT_DIR", str(tmp_path / "output"))
    engine = make_engine(url)
    migrate(engine)
    return engine
