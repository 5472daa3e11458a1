"""Late data: batches accepted for a period after its evaluation, which its published results
leave out. `policy.yaml`'s `late_data.action` says what happens: the period is evaluated again
(`re_evaluate`, into the folder it was last published to) or people are told (`alert`).

Staleness is read from the warehouse, not from whatever triggered the check, so a check run
twice, or after a batch that changed nothing (a file loaded before), does nothing more."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select

from bizenv.warehouse import tables as t
from bizenv.warehouse.runs import latest_runs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StalePeriod:
    period: str
    # When the period's last completed evaluation started, and where it published.
    evaluated_at: datetime
    out_dir: Path | None
    # Accepted batches loaded since then, by kind.
    survey_batches: int
    metrics_batches: int

    def describe(self) -> str:
        late = [
            f"{count} {kind} batch(es)"
            for count, kind in ((self.survey_batches, "survey"), (self.metrics_batches, "metrics"))
            if count
        ]
        return f"{self.period}: {' and '.join(late)} accepted after the last evaluation (started {self.evaluated_at})"


def stale_periods(conn: Connection) -> list[StalePeriod]:
    """Evaluated periods with accepted batches loaded after their last completed evaluation
    started (a batch loaded while it ran may or may not be in it: counted as late)."""
    stale = []
    for run in latest_runs(conn, status="done"):
        if run["command"] != "evaluate":
            continue
        started = run["started_at"]
        counts = [
            conn.execute(
                select(func.count())
                .select_from(batches)
                .where(
                    batches.c.period == run["period"],
                    batches.c.status == "accepted",
                    batches.c.loaded_at > started,
                )
            ).scalar_one()
            for batches in (t.survey_batches, t.metric_batches)
        ]
        if any(counts):
            out_dir = Path(run["out_dir"]) if run["out_dir"] else None
            stale.append(StalePeriod(run["period"], started, out_dir, *counts))
    return stale


def refresh_stale_periods(
    engine: Engine,
    action: str,
    default_out_dir: Callable[[str], Path],
    notify: Callable[[str, str], object],
) -> list[dict]:
    """Act on every stale period as the policy says; returns what was done per period.

    `re_evaluate` evaluates the period again into the folder of its last evaluation (or
    `default_out_dir(period)` if it had none); `alert` sends one message listing the stale
    periods through `notify(subject, text)`."""
    from bizenv.evaluate import evaluate_period

    with engine.connect() as conn:
        stale = stale_periods(conn)
    if not stale:
        log.info("no period has batches accepted after its last evaluation")
        return []
    if action == "alert":
        text = "\n".join(
            [s.describe() for s in stale]
            + ["Their published results leave these batches out: re-run evaluate."]
        )
        notify(f"bizenv: {len(stale)} period(s) evaluated before their latest batches", text)
        return [{"period": s.period, "action": "alerted", "late": s.describe()} for s in stale]
    done = []
    for s in stale:
        out_dir = s.out_dir or default_out_dir(s.period)
        log.info("%s: evaluating again into %s", s.describe(), out_dir)
        summary = evaluate_period(engine, s.period, out_dir)
        done.append(
            {
                "period": s.period,
                "action": "re_evaluated",
                "out_dir": str(out_dir),
                "ranked": summary.get("ranked"),
            }
        )
    return done
