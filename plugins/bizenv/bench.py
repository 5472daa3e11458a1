"""`make bench`: time and peak memory of each stage on a large synthetic period, each against
its floor measured in the same run on the same data.

Usage: python -m bizenv.bench [--rows N] [--db URL] [--out DIR]
Each stage runs in a fresh process so its peak memory (max RSS) is its own. The floors:
    parse     `pyarrow.csv.read_csv` of the same CSV (pandas' C reader, every cell a string, is
              printed beside it)
    copy      PostgreSQL only: COPY of the same file into an unindexed text table
    group_by  a plain pandas group-by mean of the scores per unit, from the parsed file
The ratio column is stage time / floor: load against parse (+ copy on PostgreSQL), validate
against parse, evaluate against group_by + parse (the period must be read back once).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bizenv.config import schemas_dir

STAGE = """
import json, sys, time
from pathlib import Path
stage, db, path = sys.argv[1], sys.argv[2], sys.argv[3]
# The one-time imports (Great Expectations alone takes seconds) are timed apart from the stage:
# a worker pays them once, not per batch.
began_imports = time.perf_counter()
import bizenv  # first, as in the CLI and the DAGs: it chooses Arrow's allocator
import great_expectations, scipy.stats
import bizenv.evaluate, bizenv.ingest.survey_batch
imports = round(time.perf_counter() - began_imports, 1)
start = time.perf_counter()
from bizenv.warehouse.engine import make_engine
engine = make_engine(db)
if stage == "validate":
    from bizenv.ingest.reading import read_table
    from bizenv.ingest.rows import check_rows
    from bizenv.ingest.survey_batch import standard_batch
    from bizenv.periods import Period
    from bizenv.schemas import load_questionnaire, load_registry, load_validation
    from bizenv.validate.gx_runner import run_suite
    from bizenv.validate.suites import survey_specs
    q = load_questionnaire()
    checked = check_rows(standard_batch(read_table(Path(path)), q), period=Period.parse("2026H1"),
                         registry=load_registry(), questionnaire=q, salt="bench", fieldwork_grace_days=45,
                         quality=load_validation().survey.quality_rules)
    import great_expectations  # imported before the clock starts: the import is not validation
    began = time.perf_counter()
    outcomes = run_suite("bench", checked.parsed, survey_specs(q, load_validation(), Period.parse("2026H1"), 45))
    result = {"rows": len(checked.parsed), "expectations": len(outcomes), "gx_seconds": round(time.perf_counter() - began, 1)}
elif stage == "load":
    from bizenv.ingest.survey_batch import load_survey
    result = load_survey(engine, Path(path), "2026H1")
    result = {k: result[k] for k in ("rows_in", "accepted", "quarantined", "status")}
elif stage == "evaluate":
    from bizenv.evaluate import evaluate_period
    result = evaluate_period(engine, "2026H1", Path(path))
    result = {k: result[k] for k in ("responses", "respondents", "units", "ranked")}
seconds = time.perf_counter() - start
# VmHWM is this process's own high-water mark (ru_maxrss would carry the parent's over exec).
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024
print(json.dumps({"stage": stage, "seconds": round(seconds, 1), "peak_mib": round(peak), "import_seconds": imports, **result}))
"""


def bench_schemas(target: Path, extra_units: int) -> None:
    """The shipped schemas plus `extra_units` grassroots stations (the design's ~60 units)."""
    shutil.copytree(schemas_dir(), target, dirs_exist_ok=True)
    registry = yaml.safe_load((target / "units.yaml").read_text(encoding="utf-8"))
    parents = [u["code"] for u in registry["units"] if u["group"] == "government"]
    for i in range(extra_units):
        parent = parents[i % len(parents)]
        registry["units"].append(
            {"code": f"{parent}_station_{i:02d}", "name": f"基层站所{i:02d}", "group": "government",
             "parent": parent, "level": "station"}
        )  # fmt: skip
    (target / "units.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")


def write_survey(path: Path, rows: int, seed: int = 11) -> int:
    """About `rows` canonical rows: rows/10 respondents rating ~10 units each."""
    from bizenv import demo

    respondents = max(rows // 10, 1)
    frame = demo.survey_frame(demo.Period.parse("2026H1"), respondents, seed)
    frame.to_csv(path, index=False, encoding="utf-8")
    return len(frame)


def run_stage(stage: str, db: str, path: Path, env: dict) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", STAGE, stage, db, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{stage} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


DAG_PARSE = """
import importlib.util, json, sys, time
import airflow.sdk  # the authoring API is Airflow's own cost, not the DAG files'
start = time.perf_counter()
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("dagfile_" + str(abs(hash(path))), path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps({"stage": "dag_parse", "files": len(sys.argv) - 1, "seconds": round(time.perf_counter() - start, 2)}))
"""


def dag_parse(env: dict) -> dict:
    """Importing every DAG file in a fresh process: the design keeps it under 2 s."""
    dags = sorted((Path(__file__).resolve().parents[2] / "dags").glob("*.py"))
    result = subprocess.run(
        [sys.executable, "-c", DAG_PARSE, *map(str, dags)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if result.returncode != 0:
        raise SystemExit(f"dag_parse failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


FLOORS = """
import json, sys, time
import pandas as pd
path, db = sys.argv[1], sys.argv[2]
result = {}
start = time.perf_counter()
frame = pd.read_csv(path, dtype=str, keep_default_na=False)
result["parse_pandas"] = time.perf_counter() - start
import pyarrow.csv
start = time.perf_counter()
pyarrow.csv.read_csv(path)
result["parse"] = time.perf_counter() - start
from bizenv.schemas import load_questionnaire
q = load_questionnaire()
labels = {label: float(v) for label, v in q.scale.labels.items()}
items = [i.label for i in q.items() if i.label in frame]
start = time.perf_counter()
scores = pd.DataFrame({c: frame[c].map(labels) for c in items})
scores.groupby(frame["unit"]).mean()
result["group_by"] = time.perf_counter() - start
if db.startswith("postgresql"):
    import psycopg
    from sqlalchemy.engine import make_url
    url = make_url(db)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        columns = ", ".join(f'c{i} text' for i in range(len(frame.columns)))
        conn.execute(f"CREATE TEMP TABLE bench_floor ({columns})")
        start = time.perf_counter()
        with conn.cursor().copy("COPY bench_floor FROM STDIN (FORMAT csv, HEADER true)") as copy, open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                copy.write(block)
        result["copy"] = time.perf_counter() - start
print(json.dumps({k: round(v, 2) for k, v in result.items()}))
"""


def floors(path: Path, db: str, env: dict) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", FLOORS, str(path), db], capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"floors failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def ratio_table(stages: dict[str, dict], floor: dict) -> list[str]:
    """The stages against their floors, as printed at the end."""
    parse, copy = floor["parse"], floor.get("copy", 0.0)
    bases = {
        "validate": ("parse", parse),
        "load": ("parse + copy" if copy else "parse", parse + copy),
        "evaluate": ("group_by + parse", floor["group_by"] + parse),
    }
    lines = [f"{'stage':<10}{'seconds':>9}{'peak MiB':>10}  {'floor':<18}{'floor s':>8}{'ratio':>8}"]
    for stage, (name, seconds) in bases.items():
        figures = stages[stage]
        # A floor below the clock's rounding (a tiny --rows) has no meaningful ratio.
        ratio = f"{figures['seconds'] / seconds:>7.0f}x" if seconds >= 0.01 else f"{'-':>8}"
        lines.append(
            f"{stage:<10}{figures['seconds']:>9.1f}{figures['peak_mib']:>10}  {name:<18}{seconds:>8.2f}{ratio}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bizenv.bench")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", help="warehouse URL (default: a fresh SQLite file)")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bizenv-bench-", dir=args.out))
    schemas = work / "schemas"
    bench_schemas(schemas, extra_units=25)
    env = os.environ | {
        "BIZENV_SCHEMAS_DIR": str(schemas),
        "BIZENV_SALT": os.environ.get("BIZENV_SALT", "bench"),
    }
    os.environ.update(env)
    db = args.db or f"sqlite:///{work / 'warehouse.sqlite'}"
    from bizenv.warehouse.engine import make_engine, migrate

    migrate(make_engine(db))

    started = time.perf_counter()
    survey = work / "survey.csv"
    rows = write_survey(survey, args.rows)
    print(json.dumps({"stage": "generate", "rows": rows, "mib": round(survey.stat().st_size / 2**20),
                      "seconds": round(time.perf_counter() - started, 1)}))  # fmt: skip
    floor = floors(survey, db, env)
    print(json.dumps({"stage": "floors", **floor}))
    stages = {}
    for stage, path in (("validate", survey), ("load", survey), ("evaluate", work / "out")):
        stages[stage] = run_stage(stage, db, path, env)
        print(json.dumps(stages[stage]))
    print(json.dumps(dag_parse(env)))
    print("\n".join(ratio_table(stages, floor)))
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
