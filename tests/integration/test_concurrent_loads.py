"""Loads racing each other, in real processes on SQLite and PostgreSQL.

Both processes are held (see `tests.launcher --pause`) where the write transaction begins, after
each has looked for its batch id and found nothing, and released together: the race is hit on
every run, not by chance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bizenv.warehouse import tables as t
from tests.builders import run_cli, survey_row, unit_sample, write_survey

# Every test starts two fresh interpreters that import Great Expectations (several seconds each).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Called once per load, inside its write transaction and before it writes anything.
PAUSE_AT = "bizenv.ingest.batch:lock_for_write"


def count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def load_together(gate: Path, db: str, *files: Path, period: str = "2026H1") -> list[tuple[int, dict, str]]:
    """`bizenv load-survey` of each file in a process of its own, all released at once when every
    one is past its look for the batch id: each one's exit code, last-line JSON and stderr."""
    gate.mkdir()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.launcher", "--pause", PAUSE_AT, str(gate), "--"]
            + ["load-survey", str(path), "--period", period, "--db", db],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in files
    ]
    try:
        deadline = time.monotonic() + 180
        while len(list(gate.iterdir())) < len(processes):
            exited = [p for p in processes if p.poll() is not None]
            assert not exited, f"a load ended before the write transaction: {exited[0].communicate()}"
            assert time.monotonic() < deadline, "the loads did not reach the write transaction"
            time.sleep(0.05)
        (gate / "go").touch()
        results = []
        for process in processes:
            out, err = process.communicate(timeout=180)
            results.append((process.returncode, json.loads(out.strip().splitlines()[-1]), err))
        return results
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_the_same_file_loaded_twice_at_once_is_stored_once_and_reported_as_a_duplicate(
    engine, warehouse_url, tmp_path, capsys
):
    rows = unit_sample("市发改委", 30, "满意") + [survey_row(respondent=99, unit="不存在的局")]
    path = write_survey(tmp_path / "batch.csv", rows)

    results = load_together(tmp_path / "gate", warehouse_url, path, path)

    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    summaries = sorted((summary for _, summary, _ in results), key=lambda s: s["duplicate_batch"])
    first, duplicate = summaries
    assert (first["duplicate_batch"], duplicate["duplicate_batch"]) == (False, True)
    assert (first["accepted"], first["quarantined"]) == (30, 1)
    assert count(engine, t.survey_batches) == 1
    assert count(engine, t.survey_responses) == 30
    assert count(engine, t.response_items) == 30 * 10
    assert count(engine, t.quarantined_rows) == 1
    expectations = t.validation_results.c.suite == "survey_batch"
    assert count(engine, t.validation_results, expectations) == first["validation"]["expectations"]
    # The loser says exactly what loading the file again afterwards says.
    _, again, _ = run_cli(capsys, "load-survey", str(path), "--period", "2026H1", "--db", warehouse_url)
    assert duplicate == again


def test_two_files_creating_the_same_period_at_once_are_both_stored(engine, warehouse_url, tmp_path):
    one = write_survey(tmp_path / "one.csv", unit_sample("市发改委", 20, "满意"))
    other = write_survey(tmp_path / "other.csv", unit_sample("税务局", 25, "一般", start=100))

    results = load_together(tmp_path / "gate", warehouse_url, one, other)

    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    assert [summary["duplicate_batch"] for _, summary, _ in results] == [False, False]
    assert [summary["accepted"] for _, summary, _ in results] == [20, 25]
    assert count(engine, t.periods) == 1
    assert count(engine, t.survey_batches) == 2
    assert count(engine, t.survey_responses) == 45
