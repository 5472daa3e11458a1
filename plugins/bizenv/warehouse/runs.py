"""The run log (`pipeline_runs`): a row when a run starts, completed when it ends.

A run killed outright stays `running`; `bizenv status` shows it beside the output folder it was
writing, whose manifest then tells whether its files were published."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from bizenv.errors import BizenvError
from bizenv.warehouse import tables as t

log = logging.getLogger(__name__)


def start_run(engine: Engine, command: str, period: str | None, out_dir: Path | None = None) -> int:
    with engine.begin() as conn:
        result = conn.execute(
            t.pipeline_runs.insert().values(
                period=period,
                command=command,
                started_at=datetime.now(UTC),
                status="running",
                # Absolute: `bizenv status` checks the folder from wherever it is run.
                out_dir=str(out_dir.resolve()) if out_dir is not None else None,
            )
        )
        key = result.inserted_primary_key
        if key is None:
            raise RuntimeError("the warehouse returned no id for the new run")
        return int(key[0])


def finish_run(
    engine: Engine,
    run_id: int,
    status: str,
    summary: Mapping[str, object] | None = None,
    error: BaseException | str | None = None,
) -> None:
    """Record how the run ended. Never raises: the run's own outcome (or error) is what counts,
    and a warehouse that fails here has already failed the run."""
    values: dict[str, object] = {"status": status, "finished_at": datetime.now(UTC)}
    if summary is not None:
        values["summary"] = json.dumps(summary, ensure_ascii=False, default=str)
    if error is not None:
        values["error"] = (
            one_line(error) if isinstance(error, BaseException) else " ".join(error.split())[:500]
        )
    try:
        with engine.begin() as conn:
            conn.execute(update(t.pipeline_runs).where(t.pipeline_runs.c.id == run_id).values(**values))
    except SQLAlchemyError as exc:
        log.warning("could not record the end of run %s: %s", run_id, one_line(exc))


def one_line(error: BaseException, limit: int = 500) -> str:
    """The error as the run log keeps it: its type and first words, on one line."""
    text = " ".join(str(error).split())
    return (text if isinstance(error, BizenvError) else f"{type(error).__name__}: {text}")[:limit]


def latest_runs(conn: Connection, status: str | None = None) -> list[dict]:
    """The latest run of each (command, period), or the latest with `status`."""
    runs = t.pipeline_runs
    which = select(func.max(runs.c.id)).group_by(runs.c.command, runs.c.period)
    latest = (which if status is None else which.where(runs.c.status == status)).scalar_subquery()
    return [
        dict(row)
        for row in conn.execute(select(runs).where(runs.c.id.in_(latest)).order_by(runs.c.id)).mappings()
    ]
