"""What monitoring asks first: which periods have data, which batches were refused, last runs,
runs that failed or never finished, output folders that disagree with the warehouse, and how
the fieldwork of open periods is going."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select

from bizenv.evaluation.manifest import folder_problems
from bizenv.fieldwork import CITY_TIMEZONE, FieldworkProgress, fieldwork_progress, open_periods
from bizenv.late_data import stale_periods
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import current_revision, require_migrated
from bizenv.warehouse.runs import latest_runs


def warehouse_status(engine: Engine, out_dirs: list[Path] | None = None, today: date | None = None) -> dict:
    """Everything `bizenv status` shows. `attention` lists what needs someone: runs that failed
    or did not finish, output folders (the latest evaluation's of each period, plus `out_dirs`)
    whose files are not what the warehouse holds, and open periods where units will miss the
    minimum sample or batches have stopped coming. `today` (default: the city's today) decides
    which periods are still in the field."""
    require_migrated(engine)
    b, runs = t.survey_batches, t.pipeline_runs
    with engine.connect() as conn:
        batches = (
            conn.execute(
                select(
                    b.c.period,
                    b.c.status,
                    func.count().label("batches"),
                    func.sum(b.c.rows_in).label("rows_in"),
                    func.sum(b.c.accepted).label("accepted"),
                    func.sum(b.c.quarantined).label("quarantined"),
                    func.max(b.c.loaded_at).label("last_loaded"),
                )
                .group_by(b.c.period, b.c.status)
                .order_by(b.c.period, b.c.status)
            )
            .mappings()
            .all()
        )
        v = t.validation_results
        failing = conn.execute(
            select(v.c.period, v.c.suite, func.count().label("failed"))
            .where(v.c.success.is_(False))
            .group_by(v.c.period, v.c.suite)
            .order_by(v.c.period, v.c.suite)
        ).all()
        last_runs = (
            conn.execute(
                select(runs.c.period, runs.c.command, runs.c.status, runs.c.finished_at, runs.c.summary)
                .order_by(runs.c.id.desc())
                .limit(5)
            )
            .mappings()
            .all()
        )
        attention = unfinished_runs(conn) + late_batches(conn) + stale_folders(conn, out_dirs or [])
    periods: dict[str, dict] = {}
    for row in batches:
        entry = periods.setdefault(row["period"], {})
        entry[row["status"]] = {
            k: (str(row[k]) if k == "last_loaded" else int(row[k]))
            for k in ("batches", "rows_in", "accepted", "quarantined", "last_loaded")
        }
    lines = [
        f"warehouse {engine.url.render_as_string(hide_password=True)} at revision {current_revision(engine)}"
    ]
    for period, by_status in periods.items():
        for status, figures in by_status.items():
            lines.append(
                f"{period}  {status:<9} {figures['batches']} batch(es), {figures['rows_in']} rows: "
                f"{figures['accepted']} accepted, {figures['quarantined']} quarantined"
            )
    recent = []
    for run in last_runs:
        summary = json.loads(run["summary"] or "{}")
        recent.append(
            {
                "period": run["period"],
                "command": run["command"],
                "status": run["status"],
                "finished_at": str(run["finished_at"]),
                "ranked": summary.get("ranked"),
            }
        )
        lines.append(f"{run['finished_at']}  {run['command']} {run['period']}: {run['status']}")
    validation = [{"period": p, "suite": s, "failed": int(n)} for p, s, n in failing]
    for failed in validation:
        lines.append(
            f"{failed['period']}  {failed['failed']} failed expectation(s) or quality warning(s) in {failed['suite']}"
        )
    if not periods:
        lines.append("no survey batches loaded yet")
    progress = open_fieldwork(engine, set(periods), today or datetime.now(CITY_TIMEZONE).date())
    lines += [p.line() for p in progress]
    attention += [problem for p in progress for problem in fieldwork_problems(p)]
    lines += [f"attention: {problem}" for problem in attention]
    return {
        "periods": periods,
        "validation": validation,
        "recent_runs": recent,
        "fieldwork": [fieldwork_entry(p) for p in progress],
        "attention": attention,
        "healthy": not attention,
        "lines": lines,
    }


def open_fieldwork(engine: Engine, loaded: set[str], today: date) -> list[FieldworkProgress]:
    """Fieldwork of the periods still in the field today that have survey batches: a period
    nobody has delivered anything for may not have begun its survey, and is not reported."""
    from bizenv.schemas import load_policy, load_registry

    policy = load_policy()
    registry = load_registry()
    return [
        fieldwork_progress(engine, period, today, policy, registry)
        for period in open_periods(today, policy.fieldwork_grace_days)
        if period.label in loaded
    ]


def fieldwork_entry(progress: FieldworkProgress) -> dict:
    p = progress
    return {
        "period": p.period.label,
        "as_of": p.as_of.isoformat(),
        "fieldwork_close": p.close.isoformat(),
        "days_left": p.days_left,
        "statuses": p.counts(),
        "last_batch": p.last_batch.isoformat() if p.last_batch else None,
        "days_since_last_batch": p.days_since_last_batch,
        "quiet": p.quiet,
    }


def fieldwork_problems(progress: FieldworkProgress) -> list[str]:
    """Units that will miss the minimum at their rate so far, and a period without new batches."""
    p, problems = progress, []
    missing = p.units_with("will_miss")
    if missing:
        names = ", ".join(unit["unit_name"] for unit in missing[:5]) + (", …" if len(missing) > 5 else "")
        problems.append(
            f"{p.period.label}: {len(missing)} unit(s) will miss the minimum of {p.min_respondents} "
            f"respondents by {p.close} at their rate so far ({names}): see `bizenv fieldwork --period {p.period.label}`"
        )
    if p.quiet:
        since = f"since {p.last_batch}" if p.last_batch else "since fieldwork began"
        problems.append(
            f"{p.period.label}: no survey batch accepted for {p.days_since_last_batch} day(s) ({since}); "
            f"fieldwork closes on {p.close}"
        )
    return problems


def unfinished_runs(conn: Connection) -> list[str]:
    """Latest runs that failed, or that started and never ended (running now, or killed)."""
    problems = []
    for run in latest_runs(conn):
        what = f"{run['command']} {run['period'] or ''}".strip()
        if run["status"] in {"failed", "refused"}:
            problems.append(
                f"{what} ended at {run['finished_at']} (run {run['id']}, {run['status']}): {run['error']}"
            )
        elif run["status"] == "running":
            problems.append(
                f"{what} started at {run['started_at']} has not finished (run {run['id']}): "
                "still running, or stopped without a word (killed); re-run it if it is not running"
            )
    return problems


def late_batches(conn: Connection) -> list[str]:
    """Periods with batches accepted after their last completed evaluation started: the
    published results do not include them yet (`period_refresh` acts on the same finding)."""
    return [f"{stale.describe()}: re-run evaluate" for stale in stale_periods(conn)]


def stale_folders(conn: Connection, out_dirs: list[Path]) -> list[str]:
    """Problems of each period's latest published folder and of the folders asked about."""
    folders: dict[Path, str | None] = {
        Path(run["out_dir"]): run["period"]
        for run in latest_runs(conn)
        if run["command"] == "evaluate" and run["out_dir"] and run["status"] in {"done", "running"}
    }
    folders |= {Path(folder): folders.get(Path(folder)) for folder in out_dirs}
    return [
        problem for folder, period in folders.items() for problem in folder_problems(conn, folder, period)
    ]
