"""`make bench` prints each stage against its floor; a small run proves the whole path works."""

import json
import subprocess
import sys

import pytest

from bizenv.bench import ratio_table


def test_the_load_is_measured_against_parse_plus_copy_on_postgresql():
    stages = {name: {"seconds": 12.0, "peak_mib": 100} for name in ("validate", "load", "evaluate")}
    lines = ratio_table(stages, {"parse": 0.5, "copy": 2.5, "group_by": 1.5})
    load = next(line for line in lines if line.startswith("load"))
    assert "parse + copy" in load and load.split()[-1] == "4x"
    evaluate = next(line for line in lines if line.startswith("evaluate"))
    assert evaluate.split()[-1] == "6x"


@pytest.mark.slow
def test_a_small_bench_run_prints_every_stage_and_the_ratio_table(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bizenv.bench", "--rows", "3000", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    by_stage = {record["stage"]: record for record in records}
    assert set(by_stage) == {"generate", "floors", "validate", "load", "evaluate", "dag_parse"}
    assert by_stage["load"]["accepted"] + by_stage["load"]["quarantined"] == by_stage["load"]["rows_in"]
    assert by_stage["evaluate"]["units"] == 60
    assert {"parse", "parse_pandas", "group_by"} <= set(by_stage["floors"])
    assert any(line.startswith("load ") for line in result.stdout.splitlines())
    assert list(tmp_path.iterdir()) == []  # its work folder is removed
