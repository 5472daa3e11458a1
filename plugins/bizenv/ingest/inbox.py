"""The inboxes: files dropped in inbox/<period>/ are loaded, then moved, never deleted.

Survey files land in `<landing>/inbox/`, department-metric files in `<landing>/metrics/inbox/`;
both go through the same steps below and the same batch lifecycle (`bizenv.ingest.batch`), only
the loader differs.

Loaded files (including re-deliveries of a file already loaded) go to archive/<period>/, with
a `.quarantine.csv` beside them when some of their rows were quarantined; files
that cannot be read, or whose batch the quarantine gate refused, go to rejected/<period>/ with
an errors file beside them saying what to fix. Moved files carry the first 12 hex digits of
their SHA-256 in their name, so two deliveries with the same name never overwrite each other.

Nothing in the inbox goes unnoticed: a file dropped directly in inbox/ (not in a period folder)
is rejected to rejected/unsorted/ with an errors file saying where it belongs; hidden and
temporary files (`.DS_Store`, `.~lock.x.csv#`, Excel's `~$x.xlsx`) and folders inside a period
folder are left where they are, and listed as skipped for the log.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from bizenv.errors import BizenvError
from bizenv.ingest.metrics_batch import load_metrics
from bizenv.ingest.reading import file_sha256
from bizenv.ingest.survey_batch import load_survey
from bizenv.periods import Period
from bizenv.report.cells import safe_cells
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import require_migrated

SUFFIXES = {".csv", ".xlsx", ".xlsm"}
# Each kind of batch file: how it is loaded (the CLI's `load-survey` / `load-metrics`).
LOADERS: dict[str, Callable[[Engine, Path, str], dict]] = {"survey": load_survey, "metrics": load_metrics}
# Names of files an editor, a spreadsheet or the operating system keeps beside the files people
# drop (lock files, Finder's .DS_Store, Excel's owner file ~$name.xlsx): never loaded, never moved.
TEMPORARY_PREFIXES = (".", "~$")
# Where files dropped directly in inbox/ are rejected to (not a period label, so never a period).
UNSORTED = "unsorted"


@dataclass(frozen=True)
class Landing:
    """One kind's inbox, archive and rejected folders under the landing folder `root`: surveys'
    directly in it (where they were before metrics had an inbox), every other kind's in
    `root/<kind>/`."""

    root: Path
    kind: str = "survey"

    def __post_init__(self) -> None:
        if self.kind not in LOADERS:
            raise ValueError(f"no inbox for {self.kind!r}; kinds: {', '.join(LOADERS)}")

    @property
    def base(self) -> Path:
        return self.root if self.kind == "survey" else self.root / self.kind

    @property
    def inbox(self) -> Path:
        return self.base / "inbox"

    def folder(self, kind: str, period: str) -> Path:
        path = self.base / kind / period
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass(frozen=True)
class InboxScan:
    """What a look at the inbox found."""

    # Files to load now, oldest first: {"path", "period"}; the period is "" for a file directly
    # in inbox/ (`process_file` rejects it to rejected/unsorted/).
    ready: list[dict]
    # Entries left where they are, never loaded nor moved: {"path", "why"}.
    skipped: list[dict]


def scan_inbox(landing: Landing, min_age_seconds: float = 60.0) -> InboxScan:
    """Every entry of the inbox is either ready, skipped (with why), or too young to load yet.

    Files younger than `min_age_seconds` may still be being copied in and wait for a later run;
    files in a folder that is not a period label, or directly in inbox/, are ready (and rejected
    by `process_file`, with an errors file saying what to do), so that none waits unseen."""
    if not landing.inbox.is_dir():
        return InboxScan([], [])
    now = time.time()
    ready: list[tuple[float, str, dict]] = []
    skipped: list[dict] = []
    entries = [(entry, "") for entry in landing.inbox.iterdir()]
    for folder in sorted(e for e, _ in entries if e.is_dir() and not _temporary(e)):
        entries += [(entry, folder.name) for entry in folder.iterdir()]
    for path, period in entries:
        if _temporary(path):
            skipped.append(
                {
                    "path": str(path),
                    "why": "a hidden or temporary file (a lock file, .DS_Store, ~$ owner file)",
                }
            )
        elif path.is_dir():
            if period:
                skipped.append(
                    {
                        "path": str(path),
                        "why": f"a folder inside inbox/{period}/: only files directly in it are loaded",
                    }
                )
        elif not path.is_file():
            skipped.append({"path": str(path), "why": "not a regular file"})
        elif now - (mtime := path.stat().st_mtime) >= min_age_seconds:
            ready.append((mtime, path.name, {"path": str(path), "period": period}))
    ready.sort(key=lambda entry: entry[:2])
    return InboxScan([item for *_, item in ready], sorted(skipped, key=lambda item: item["path"]))


def waiting_files(landing: Landing, min_age_seconds: float = 60.0) -> list[dict]:
    """Files ready to load, oldest first: [{"path": ..., "period": ...}] (see `scan_inbox`)."""
    return scan_inbox(landing, min_age_seconds).ready


def _temporary(path: Path) -> bool:
    return path.name.startswith(TEMPORARY_PREFIXES)


def _destination(folder: Path, path: Path, digest: str) -> Path:
    return folder / f"{path.stem}.{digest[:12]}{path.suffix}"


def process_file(engine: Engine, landing: Landing, path: Path | str, period: str) -> dict:
    """Load one inbox file and move it; the summary says where it went and why."""
    path = Path(path)
    # An unreachable or uninitialised warehouse is not the file's fault: fail before touching it.
    require_migrated(engine)
    digest = file_sha256(path)
    unsorted = path.parent.resolve() == landing.inbox.resolve()
    try:
        if unsorted:
            raise BizenvError(
                "the file is directly in inbox/, not in a period folder: move it to "
                "inbox/<period>/ (a half-year such as 2026H1) to load it",
                file=str(path),
            )
        Period.parse(period)
        if path.suffix.lower() not in SUFFIXES:
            raise BizenvError(
                f"unsupported file type {path.suffix!r} (expected .csv or .xlsx)", file=str(path)
            )
        summary = LOADERS[landing.kind](engine, path, period)
    except BizenvError as exc:
        target = _destination(landing.folder("rejected", UNSORTED if unsorted else period), path, digest)
        shutil.move(path, target)
        errors = target.with_name(target.name + ".errors.txt")
        errors.write_text(str(exc).replace(str(path), path.name) + "\n", encoding="utf-8")
        return {
            "file": path.name,
            "status": "rejected",
            "moved_to": str(target),
            "errors": str(errors),
            "message": str(exc),
        }

    if summary["status"] == "refused":
        target = _destination(landing.folder("rejected", period), path, digest)
        shutil.move(path, target)
        errors = target.with_name(target.name + ".errors.csv")
        _write_report(errors, quarantine_report(engine, summary["batch_id"]))
        summary |= {"moved_to": str(target), "errors": str(errors)}
        return summary
    target = _destination(landing.folder("archive", period), path, digest)
    shutil.move(path, target)
    summary = summary | {"moved_to": str(target)}
    if summary["quarantined"] and not summary.get("duplicate_batch"):
        report = target.with_name(target.name + ".quarantine.csv")
        _write_report(report, quarantine_report(engine, summary["batch_id"]))
        summary["quarantine_report"] = str(report)
    return summary


def _write_report(path: Path, report: pd.DataFrame) -> None:
    """A CSV evaluators open in a spreadsheet: no cell of it runs as a formula."""
    safe_cells(report).to_csv(path, index=False, encoding="utf-8-sig")


def quarantine_report(engine: Engine, batch_id: str) -> pd.DataFrame:
    """The batch's quarantined rows: file row, reasons, what is wrong, and the original cells."""
    q = t.quarantined_rows
    with engine.connect() as conn:
        rows = conn.execute(
            select(q.c.source_row, q.c.reasons, q.c.details, q.c.raw)
            .where(q.c.batch_id == batch_id)
            .order_by(q.c.source_row, q.c.id)
        ).all()
    report = pd.DataFrame(rows, columns=["source_row", "reasons", "details", "raw"])
    return report.rename(columns={"source_row": "file_row", "raw": "original_values"})
