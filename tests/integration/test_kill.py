"""`load-survey` and `evaluate --out` killed (SIGKILL) at chosen points, on SQLite and PostgreSQL:
the warehouse holds a batch whole or not at all, the output folder never shows results the
warehouse does not hold nor a half-written file under its final name, and a re-run repairs both.

Each kill point is a function the command calls, patched in its child process to SIGKILL the
process when called (`tests.launcher`): exact, with no timing involved. The loads and evaluations
before and after the killed one run in this process."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, Float, Integer, func, select

from bizenv.evaluation.manifest import folder_problems
from bizenv.evaluation.publish import rankings_csv_frame
from bizenv.report.cells import safe_cells
from bizenv.schemas import load_policy, load_registry
from bizenv.warehouse import tables as t
from bizenv.warehouse.reads import fetch_frame
from tests.builders import run_cli, survey_row, unit_sample, write_survey

# Every test starts a fresh interpreter that imports Great Expectations (several seconds each).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2026H1"
CSV_OUTPUTS = ("rankings.csv", "flags.csv", "quarantine.csv")
# The rankings' numbers as rankings.csv shows them (integers as integers), whatever the driver returns.
NUMBERS = {
    c.name: "Int64" if isinstance(c.type, Integer) else "float64"
    for c in t.rankings.columns
    if isinstance(c.type, Integer | Float)
}


def run_killed(*launcher_args: str) -> None:
    """`python -m tests.launcher ARGS`, which must die by SIGKILL at its patched point."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.launcher", *launcher_args],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == -signal.SIGKILL, (
        result.returncode,
        result.stdout[-500:],
        result.stderr[-2000:],
    )


def load(capsys, db: str, path: Path) -> dict:
    code, summary, err = run_cli(capsys, "load-survey", str(path), "--period", PERIOD, "--db", db)
    assert code == 0 and summary is not None, err
    return summary


def evaluate(capsys, db: str, out_dir: Path) -> None:
    code, summary, err = run_cli(capsys, "evaluate", "--period", PERIOD, "--out", str(out_dir), "--db", db)
    assert code == 0, (summary, err)


def count(engine: Engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


# --- load-survey -------------------------------------------------------------------------------


@pytest.fixture
def batch_file(tmp_path: Path) -> Path:
    """30 accepted rows and one quarantined (unknown unit)."""
    rows = unit_sample("市发改委", 30, "满意") + [survey_row(respondent=99, unit="不存在的局")]
    return write_survey(tmp_path / "batch.csv", rows)


def kill_load(db: str, path: Path, target: str) -> None:
    run_killed("--kill", target, "1", "--", "load-survey", str(path), "--period", PERIOD, "--db", db)


def stored_batches(engine: Engine) -> list[dict]:
    """Each stored batch's record beside the rows stored for it."""
    with engine.connect() as conn:
        records = conn.execute(select(t.survey_batches)).mappings().all()
    r, q, v = t.survey_responses, t.quarantined_rows, t.validation_results
    return [
        {
            "rows_in": record["rows_in"],
            "accepted": record["accepted"],
            "quarantined": record["quarantined"],
            "accepted_stored": count(engine, r, r.c.batch_id == record["batch_id"]),
            "quarantined_stored": count(engine, q, q.c.batch_id == record["batch_id"]),
            "validation_stored": count(engine, v, v.c.batch_id == record["batch_id"]),
        }
        for record in records
    ]


def assert_one_whole_batch(engine: Engine) -> dict:
    [batch] = stored_batches(engine)
    assert (batch["rows_in"], batch["accepted"], batch["quarantined"]) == (31, 30, 1)
    assert (batch["accepted_stored"], batch["quarantined_stored"]) == (30, 1)
    assert batch["validation_stored"] > 0
    assert count(engine, t.response_items) == 30 * 10
    return batch


@pytest.mark.parametrize(
    "target",
    [
        # In the write transaction, before its lock and its first write.
        "bizenv.ingest.batch:lock_for_write",
        # At its last write: the batch record, accepted rows and validation results are written,
        # the quarantined rows are not.
        "bizenv.ingest.batch:insert_frame",
    ],
    ids=["before_the_first_write", "before_the_last_write"],
)
def test_a_load_killed_before_it_commits_leaves_nothing_and_a_reload_stores_the_batch_once(
    engine, warehouse_url, batch_file, capsys, target
):
    kill_load(warehouse_url, batch_file, target)

    assert stored_batches(engine) == []
    for table in (t.survey_responses, t.response_items, t.quarantined_rows, t.validation_results, t.periods):
        assert count(engine, table) == 0, table.name
    assert load(capsys, warehouse_url, batch_file)["duplicate_batch"] is False
    assert_one_whole_batch(engine)


def test_a_load_killed_after_it_commits_leaves_the_batch_whole_and_a_reload_changes_nothing(
    engine, warehouse_url, batch_file, capsys
):
    kill_load(warehouse_url, batch_file, "bizenv.ingest.batch:summarise")

    batch = assert_one_whole_batch(engine)
    assert load(capsys, warehouse_url, batch_file)["duplicate_batch"] is True
    assert assert_one_whole_batch(engine) == batch


# --- evaluate --out ----------------------------------------------------------------------------


def warehouse_rankings(engine: Engine, period: str) -> pd.DataFrame:
    """The period's rankings as the warehouse holds them, as rankings.csv shows them."""
    with engine.connect() as conn:
        stored = fetch_frame(conn, select(t.rankings).where(t.rankings.c.period == period))
    names = {unit.code: unit.name for unit in load_registry().units}
    stored = stored.assign(unit_name=stored["unit_code"].map(names), ranked=stored["ranked"].astype(bool))
    stored = stored.astype({name: "float64" for name in NUMBERS}).astype(NUMBERS)
    shown = safe_cells(rankings_csv_frame(stored, load_policy()))
    return comparable(io.StringIO(shown.to_csv(index=False)))


def comparable(source: io.StringIO | Path) -> pd.DataFrame:
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    return frame.sort_values(["group", "unit_code"]).reset_index(drop=True)


def folder_agrees_with_warehouse(engine: Engine, period: str, out_dir: Path) -> bool:
    """Whether the published folder shows what the warehouse holds for `period`: its rankings.csv,
    every column as published, against the `rankings` table; and its manifest (every file's
    digest, and the warehouse state it names), as `bizenv status` checks it."""
    path = out_dir / "rankings.csv"
    with engine.connect() as conn:
        problems = folder_problems(conn, out_dir, period)
    return path.exists() and comparable(path).equals(warehouse_rankings(engine, period)) and not problems


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def published_csv(out_dir: Path) -> dict[str, bytes]:
    return {name: (out_dir / name).read_bytes() for name in CSV_OUTPUTS if (out_dir / name).exists()}


def assert_reports_whole(out_dir: Path) -> None:
    """The report, workbook and manifest under their final names are complete files."""
    html = out_dir / "report.html"
    if html.exists():
        assert html.read_bytes().rstrip().endswith(b"</html>")
    workbook = out_dir / "report.xlsx"
    if workbook.exists():
        with zipfile.ZipFile(workbook) as archive:
            assert archive.testzip() is None
    manifest = out_dir / "manifest.json"
    if manifest.exists():
        json.loads(manifest.read_text(encoding="utf-8"))


@pytest.fixture
def published(engine, warehouse_url, tmp_path, capsys) -> tuple[Path, pd.DataFrame, dict[str, bytes]]:
    """The period evaluated and published, then a second batch loaded that changes its results:
    the output folder, the rankings as published and the CSV files published."""
    first = unit_sample("市发改委", 40, "满意") + unit_sample("税务局", 35, "一般", start=100)
    load(capsys, warehouse_url, write_survey(tmp_path / "first.csv", first + [survey_row(500, "不存在的局")]))
    out_dir = tmp_path / "out"
    evaluate(capsys, warehouse_url, out_dir)
    assert folder_agrees_with_warehouse(engine, PERIOD, out_dir)
    published_rankings = warehouse_rankings(engine, PERIOD)
    second = unit_sample("市发改委", 20, "不满意", start=200) + unit_sample(
        "税务局", 10, "非常满意", start=300
    )
    load(capsys, warehouse_url, write_survey(tmp_path / "second.csv", second))
    return out_dir, published_rankings, published_csv(out_dir)


@pytest.mark.parametrize(
    ("launcher_args", "committed"),
    [
        # In store_period, the rankings inserted, the transaction not committed.
        (("--kill", "bizenv.evaluation.store:insert_frame", "4"), False),
        # The results committed, nothing published yet.
        (("--kill", "bizenv.evaluate:publish", "1"), True),
        # Publishing: the first, then the third file about to be moved into place.
        (("--kill", "bizenv.evaluation.publish:os.replace", "1"), True),
        (("--kill", "bizenv.evaluation.publish:os.replace", "3"), True),
        # Publishing: report.html half written.
        (("--half-write", "bizenv.evaluation.publish:write_html"), True),
    ],
    ids=["storing", "before_publishing", "first_move", "third_move", "report_half_written"],
)
def test_a_killed_evaluation_never_publishes_what_the_warehouse_does_not_hold_and_a_rerun_repairs_the_folder(
    engine, warehouse_url, published, capsys, launcher_args, committed
):
    out_dir, old, old_csv = published
    old_docs = tree(out_dir / "data_docs")

    run_killed(
        *launcher_args, "--", "evaluate", "--period", PERIOD, "--out", str(out_dir), "--db", warehouse_url
    )

    at_kill, csv_at_kill = warehouse_rankings(engine, PERIOD), published_csv(out_dir)
    assert_reports_whole(out_dir)
    # The folder is reported exactly when it no longer shows what the warehouse holds.
    assert folder_agrees_with_warehouse(engine, PERIOD, out_dir) is not committed
    if not committed:  # Data Docs of a validation never committed are not published either
        assert tree(out_dir / "data_docs") == old_docs
    evaluate(capsys, warehouse_url, out_dir)
    new, new_csv = warehouse_rankings(engine, PERIOD), published_csv(out_dir)
    assert not new.equals(old), "the second batch should change the results"

    # The warehouse held the old results or the new ones, whole: the new ones once committed.
    assert at_kill.equals(new if committed else old)
    # Each CSV file was whole, the last publication's or the new one's; new only if the warehouse
    # already held the new results.
    for name, content in csv_at_kill.items():
        assert content in (old_csv[name], new_csv[name]), f"{name} is neither publication"
        if content != old_csv[name]:
            assert at_kill.equals(new), f"{name} showed results the warehouse did not hold"
    # After the re-run, the folder shows what the warehouse holds, and no staging is left.
    assert folder_agrees_with_warehouse(engine, PERIOD, out_dir)
    assert_reports_whole(out_dir)
    assert not list(out_dir.glob(".*"))
