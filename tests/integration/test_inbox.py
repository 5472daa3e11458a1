import os
import time
from pathlib import Path

import pandas as pd
import pytest

from bizenv.ingest.inbox import Landing, process_file, waiting_files
from tests.builders import survey_row, unit_sample, write_survey


@pytest.fixture
def landing(tmp_path):
    return Landing(tmp_path / "landing")


def drop(landing: Landing, period: str, name: str, rows: list[dict], age: float = 3600):
    folder = landing.inbox / period
    folder.mkdir(parents=True, exist_ok=True)
    path = write_survey(folder / name, rows)
    old = time.time() - age
    os.utime(path, (old, old))
    return path


def all_files(landing: Landing) -> list[str]:
    return sorted(p.name for p in landing.root.rglob("*") if p.is_file())


def test_loaded_files_are_archived_under_their_period(engine, landing):
    drop(landing, "2026H1", "batch.csv", unit_sample("市发改委", 3, "满意"))
    (item,) = waiting_files(landing, min_age_seconds=60)
    summary = process_file(engine, landing, item["path"], item["period"])
    assert summary["status"] == "accepted"
    archived = list((landing.root / "archive" / "2026H1").iterdir())
    assert [p.name for p in archived] == [f"batch.{summary['batch_id'][:12]}.csv"]
    assert waiting_files(landing, 0) == []


def test_a_loaded_batch_with_quarantined_rows_gets_its_report_beside_it(engine, landing):
    rows = unit_sample("市发改委", 9, "满意") + [survey_row(respondent=99, unit="市教育局")]
    summary = process_file(engine, landing, drop(landing, "2026H1", "b.csv", rows), "2026H1")
    assert summary["status"] == "accepted"
    report = pd.read_csv(summary["quarantine_report"], encoding="utf-8-sig")
    assert report[["file_row", "reasons"]].values.tolist() == [[11, "unknown_unit"]]


def test_a_redelivered_file_is_archived_again_without_loading_twice(engine, landing):
    rows = unit_sample("市发改委", 3, "满意")
    first = process_file(engine, landing, drop(landing, "2026H1", "a.csv", rows), "2026H1")
    second = process_file(engine, landing, drop(landing, "2026H1", "a-again.csv", rows), "2026H1")
    assert second["duplicate_batch"] is True and second["batch_id"] == first["batch_id"]
    assert len(list((landing.root / "archive" / "2026H1").iterdir())) == 2


def test_refused_batches_are_rejected_with_a_report_of_every_quarantined_row(engine, landing):
    rows = [survey_row(respondent=i, unit="市教育局") for i in range(3)] + [survey_row(respondent=9)]
    summary = process_file(engine, landing, drop(landing, "2026H1", "bad.csv", rows), "2026H1")
    assert summary["status"] == "refused"
    report = pd.read_csv(summary["errors"], encoding="utf-8-sig")
    assert report["file_row"].tolist() == [2, 3, 4, 5]
    assert report["reasons"].tolist() == ["unknown_unit"] * 3 + ["batch_refused"]
    assert "市教育局" in report["original_values"].iloc[0]


def test_unreadable_files_are_rejected_with_the_one_line_reason(engine, landing):
    folder = landing.inbox / "2026H1"
    folder.mkdir(parents=True)
    (folder / "notes.csv").write_text("hello,world\n1,2\n", encoding="utf-8")
    summary = process_file(engine, landing, folder / "notes.csv", "2026H1")
    assert summary["status"] == "rejected"
    errors = Path(summary["errors"]).read_text(encoding="utf-8")
    assert errors.startswith("notes.csv, row 1, column 'respondent_id': header does not match")
    assert all_files(landing) == sorted(
        [os.path.basename(summary["moved_to"]), os.path.basename(summary["errors"])]
    )


def test_a_folder_that_is_not_a_period_rejects_its_files(engine, landing):
    path = drop(landing, "2026-H1", "a.csv", unit_sample("市发改委", 2, "满意"))
    summary = process_file(engine, landing, path, "2026-H1")
    assert summary["status"] == "rejected" and "half-year label" in summary["message"]


def test_young_files_wait_for_a_later_run(landing):
    drop(landing, "2026H1", "copying.csv", unit_sample("市发改委", 2, "满意"), age=0)
    assert waiting_files(landing, min_age_seconds=60) == []
    assert len(waiting_files(landing, min_age_seconds=0)) == 1
