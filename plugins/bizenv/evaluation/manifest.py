"""An output folder's manifest: which run wrote it, what the warehouse held, and each file's digest.

Published files are written into a staging folder and moved into place only after the warehouse
has committed what they show; `manifest.json` is removed first and written last. A folder is
therefore consistent when its manifest exists, every file matches its digest, and the warehouse
still holds the state the manifest names. Anything else (a kill mid-publish, a later evaluation
or re-derivation of the period, a hand-edited file) is reported by `bizenv status`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from bizenv.ingest.reading import file_sha256
from bizenv.warehouse import tables as t
from bizenv.warehouse.reads import fetch_frame

MANIFEST = "manifest.json"

# What the published files show of a period. The per-respondent weights are left out: they are
# large, and every number derived from them is in these tables.
SHOWN = (
    t.rankings,
    t.flags,
    t.unit_scores,
    t.indicator_scores,
    t.city_indicators,
    t.reliability,
    t.composite_shares,
)


def warehouse_state(conn: Connection, period: str) -> str:
    """A digest of the period's published results as the warehouse holds them now.

    Rows are read in primary-key order and written as JSON with exact float reprs, so the digest
    changes with any stored value, and only then."""
    digest = hashlib.sha256()
    for table in SHOWN:
        statement = select(table).where(table.c.period == period).order_by(*table.primary_key.columns)
        frame = fetch_frame(conn, statement)
        digest.update(table.name.encode())
        digest.update(frame.to_json(orient="split", index=False, double_precision=15).encode())
    return digest.hexdigest()


def write_manifest(
    out_dir: Path, *, run_id: int, period: str, state: str, files: Iterable[Path], database: str
) -> Path:
    manifest = {
        "run_id": run_id,
        "period": period,
        "database": database,
        "warehouse_state": state,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": {
            path.relative_to(out_dir).as_posix(): {"sha256": file_sha256(path), "bytes": path.stat().st_size}
            for path in sorted(files)
        },
    }
    partial = out_dir / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, out_dir / MANIFEST)
    return out_dir / MANIFEST


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def folder_problems(conn: Connection, out_dir: Path, period: str | None = None) -> list[str]:
    """What is wrong with a published folder (nothing: an empty list).

    `period`, when given, is the period the folder should hold."""
    if not out_dir.is_dir():
        return [f"{out_dir}: the output folder is missing"]
    manifest = read_manifest(out_dir)
    if manifest is None:
        return [
            f"{out_dir}: no readable {MANIFEST}; the files were not all published "
            "(interrupted, or written by an older version): re-run evaluate"
        ]
    shown = str(manifest.get("period"))
    problems = []
    if period is not None and shown != period:
        problems.append(f"{out_dir}: holds period {shown}, not {period}")
    for name, expected in sorted(manifest.get("files", {}).items()):
        path = out_dir / name
        if not path.is_file():
            problems.append(f"{out_dir}: {name} is missing")
        elif file_sha256(path) != expected.get("sha256"):
            problems.append(f"{out_dir}: {name} differs from what run {manifest.get('run_id')} wrote")
    if warehouse_state(conn, shown) != manifest.get("warehouse_state"):
        problems.append(
            f"{out_dir}: the warehouse's results for {shown} changed after run {manifest.get('run_id')} "
            "wrote these files: re-run evaluate"
        )
    return problems
