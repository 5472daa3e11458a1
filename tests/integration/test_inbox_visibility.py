"""Nothing in the inbox goes unseen: misplaced files are rejected with where they belong, and the
files left in place are listed and logged. Nothing is deleted."""

import logging
import os
import time
from pathlib import Path

import pytest

from bizenv.airflow_support.runtime import inbox_files
from bizenv.ingest.inbox import Landing, process_file, scan_inbox, waiting_files
from tests.builders import unit_sample, write_survey


@pytest.fixture
def landing(tmp_path) -> Landing:
    return Landing(tmp_path / "landing")


def aged(path: Path, age: float = 3600) -> Path:
    old = time.time() - age
    os.utime(path, (old, old))
    return path


def drop(folder: Path, name: str, age: float = 3600) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return aged(write_survey(folder / name, unit_sample("市发改委", 3, "满意")), age)


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return aged(path)


def all_files(landing: Landing) -> list[str]:
    return sorted(str(p.relative_to(landing.root)) for p in landing.root.rglob("*") if p.is_file())


def test_a_file_directly_in_the_inbox_is_ready_with_no_period(landing):
    path = drop(landing.inbox, "batch.csv")
    assert waiting_files(landing, min_age_seconds=60) == [{"path": str(path), "period": ""}]


def test_a_file_directly_in_the_inbox_is_rejected_to_unsorted_saying_where_it_belongs(engine, landing):
    path = drop(landing.inbox, "batch.csv")
    summary = process_file(engine, landing, path, "")
    assert summary["status"] == "rejected"
    moved, errors = Path(summary["moved_to"]), Path(summary["errors"])
    assert moved.parent == landing.root / "rejected" / "unsorted" and moved.name.startswith("batch.")
    assert errors.read_text(encoding="utf-8") == (
        "batch.csv: the file is directly in inbox/, not in a period folder: move it to "
        "inbox/<period>/ (a half-year such as 2026H1) to load it\n"
    )
    assert all_files(landing) == sorted(
        [f"rejected/unsorted/{moved.name}", f"rejected/unsorted/{errors.name}"]
    )


def test_a_young_file_directly_in_the_inbox_waits_like_any_other(landing):
    drop(landing.inbox, "copying.csv", age=0)
    assert waiting_files(landing, min_age_seconds=60) == []


def test_hidden_and_temporary_files_are_skipped_and_left_in_place(engine, landing):
    good = drop(landing.inbox / "2026H1", "batch.csv")
    temporary = [
        touch(landing.inbox / ".DS_Store"),
        touch(landing.inbox / "2026H1" / ".DS_Store"),
        touch(landing.inbox / "2026H1" / ".~lock.batch.csv#"),
        touch(landing.inbox / "2026H1" / "~$batch.xlsx"),
    ]
    scan = scan_inbox(landing, min_age_seconds=60)
    assert scan.ready == [{"path": str(good), "period": "2026H1"}]
    assert scan.skipped == [
        {"path": str(p), "why": "a hidden or temporary file (a lock file, .DS_Store, ~$ owner file)"}
        for p in sorted(temporary, key=str)
    ]
    process_file(engine, landing, good, "2026H1")
    assert all(p.exists() for p in temporary)


def test_a_folder_inside_a_period_folder_is_skipped_with_why(landing):
    nested = drop(landing.inbox / "2026H1" / "late", "batch.csv")
    scan = scan_inbox(landing, min_age_seconds=60)
    assert scan.ready == []
    assert scan.skipped == [
        {
            "path": str(nested.parent),
            "why": "a folder inside inbox/2026H1/: only files directly in it are loaded",
        }
    ]


def test_the_inbox_task_logs_every_entry_it_leaves_in_place(landing, caplog):
    good = drop(landing.inbox / "2026H1", "batch.csv")
    lock = touch(landing.inbox / "2026H1" / ".~lock.batch.csv#")
    with caplog.at_level(logging.INFO, logger="bizenv.airflow_support.runtime"):
        assert inbox_files(landing.root, 60) == [{"path": str(good), "period": "2026H1"}]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            f"left in the inbox, not loaded: {lock}: a hidden or temporary file (a lock file, .DS_Store, ~$ owner file)",
        ),
        ("INFO", "1 file(s) to load, 1 left in place"),
    ]
