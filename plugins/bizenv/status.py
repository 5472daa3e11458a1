"""What monitoring asks first: which periods have data, which batches were refused, last runs."""

from __future__ import annotations

import json

from sqlalchemy import Engine, func, select

from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import current_revision, require_migrated


def warehouse_status(engine: Engine) -> dict:
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
    return {"periods": periods, "validation": validation, "recent_runs": recent, "lines": lines}
