"""The survey inbox: files dropped in inbox/<period>/ are loaded, then moved, never deleted.

Loaded files (including re-deliveries of a file already loaded) go to archive/<period>/, with
a `.quarantine.csv` beside them when some of their rows were quarantined; files
that cannot be read, or whose batch the quarantine gate refused, go to rejected/<period>/ with
an errors file beside them saying what to fix. Moved files carry the first 12 hex digits of
their SHA-256 in their name, so two deliveries with the same name never overwrite each other.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from bizenv.errors import BizenvError
from bizenv.ingest.reading import file_sha256
from bizenv.ingest.survey_batch import load_survey
from bizenv.periods import Period
from bizenv.report.cells import safe_cells
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import require_migrated

SURVEY_SUFFIXES = {".csv", ".xlsx", ".xlsm"}


@dataclass(frozen=True)
class Landing:
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def folder(self, kind: str, period: str) -> Path:
        path = self.root / kind / period
        path.mkdir(parents=True, exist_ok=True)
        return path


def waiting_files(landing: Landing, min_age_seconds: float = 60.0) -> list[dict]:
    """Files ready to load, oldest first: [{"path": ..., "period": ...}].

    Files younger than `min_age_seconds` may still be being copied in and wait for a later run;
    files in a folder that is not a period label are rejected at once.
    """
    if not landing.inbox.is_dir():
        return []
    now = time.time()
    ready = []
    for path in sorted(landing.inbox.glob("*/*"), key=lambda p: (p.stat().st_mtime, p.name)):
        if not path.is_file() or path.name.startswith("."):
            continue
        if now - path.stat().st_mtime < min_age_seconds:
            continue
        ready.append({"path": str(path), "period": path.parent.name})
    return ready


def _destination(folder: Path, path: Path, digest: str) -> Path:
    return folder / f"{path.stem}.{digest[:12]}{path.suffix}"


def process_file(engine: Engine, landing: Landing, path: Path | str, period: str) -> dict:
    """Load one inbox file and move it; the summary says where it went and why."""
    path = Path(path)
    # An unreachable or uninitialised warehouse is not the file's fault: fail before touching it.
    require_migrated(engine)
    digest = file_sha256(path)
    try:
        Period.parse(period)
        if path.suffix.lower() not in SURVEY_SUFFIXES:
            raise BizenvError(
                f"unsupported file type {path.suffix!r} (expected .csv or .xlsx)", file=str(path)
            )
        summary = load_survey(engine, path, period)
    except BizenvError as exc:
        target = _destination(landing.folder("rejected", period), path, digest)
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
