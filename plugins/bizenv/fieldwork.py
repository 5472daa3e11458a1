"""The fieldwork monitor: while a period's survey is still in the field, which units will end it
short of the sample they need, and whether batches have stopped arriving.

Everything is computed for a given "as of" day, never for the clock's today, so a day's figures
can be reproduced later and tested by hand. Only what the warehouse held on that day counts:
accepted batches loaded on or before it (in the city's time zone), and their responses submitted
on or before it. (A response that a later batch superseded has left the warehouse, so a re-run
for a past day may count one enterprise fewer than that day's run did.)

Per unit of the registry, units without any response included:

| column | meaning |
|---|---|
| `respondents` | distinct enterprises with an accepted response for the unit |
| `min_respondents`, `target_respondents` | `policy.min_respondents` (the floor for being ranked), `policy.fieldwork.target_respondents` |
| `days_elapsed` | days of fieldwork so far, the as-of day included (the period's first day = 1) |
| `days_left` | days after the as-of day until fieldwork closes (the period's last day + `fieldwork_grace_days`), 0 once closed |
| `daily_rate` | `respondents / days_elapsed` |
| `projected` | `respondents + daily_rate × days_left`, i.e. `respondents × (days_elapsed + days_left) / days_elapsed` |
| `status` | `reached` (respondents ≥ target), `on_track` (projected ≥ target), `at_risk` (projected ≥ minimum), `will_miss` (projected < minimum) |

Statuses compare `respondents × fieldwork days` with `threshold × days_elapsed` in whole numbers,
so a projection exactly on a threshold is never lost to rounding."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from bizenv.errors import BizenvError
from bizenv.periods import Period
from bizenv.report.cells import safe_cells
from bizenv.schemas.models import Policy, Registry
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import require_migrated
from bizenv.warehouse.reads import fetch_frame

log = logging.getLogger(__name__)

# Survey times are stored as the city's wall-clock time; batch load times in UTC.
CITY_TIMEZONE = ZoneInfo("Asia/Shanghai")

# Worst first: the order of the report, the counts and the alerts.
STATUSES = ("will_miss", "at_risk", "on_track", "reached")

COLUMNS = [
    "period",
    "as_of",
    "fieldwork_close",
    "unit_code",
    "unit_name",
    "group",
    "status",
    "respondents",
    "min_respondents",
    "target_respondents",
    "days_elapsed",
    "days_left",
    "daily_rate",
    "projected",
]

FOLDER = "fieldwork"
CSV_NAME = "fieldwork.csv"
HTML_NAME = "fieldwork.html"


def fieldwork_close(period: Period, policy: Policy) -> date:
    """The last day a submission still belongs to the period (the loader's `outside_period` rule)."""
    return period.end + timedelta(days=policy.fieldwork_grace_days)


def open_periods(day: date, grace_days: int) -> list[Period]:
    """Periods whose fieldwork is under way on `day`, oldest first: the half-year containing it,
    and the previous one while its grace days run."""
    current = Period.containing(day)
    previous = current.previous()
    still_open = day <= previous.end + timedelta(days=grace_days)
    return [previous, current] if still_open else [current]


def classify(
    respondents: pd.Series, days_elapsed: int, fieldwork_days: int, minimum: int, target: int
) -> pd.Series:
    """Each unit's status. The projection is `respondents × fieldwork_days / days_elapsed`; it is
    compared with a threshold by cross-multiplying, in integers."""
    counts = respondents.astype("int64").to_numpy()
    projected_days = counts * fieldwork_days
    status = np.select(
        [
            counts >= target,
            projected_days >= target * days_elapsed,
            projected_days >= minimum * days_elapsed,
        ],
        ["reached", "on_track", "at_risk"],
        default="will_miss",
    )
    return pd.Series(status, index=respondents.index, name="status")


@dataclass(frozen=True)
class FieldworkProgress:
    """One period's fieldwork as of one day: per-unit rows (`COLUMNS`, worst first) and the
    period's batch facts."""

    period: Period
    as_of: date
    close: date
    days_elapsed: int
    days_left: int
    min_respondents: int
    target_respondents: int
    quiet_days: int
    # The city-time day of the latest accepted batch loaded by the as-of day (None: none yet),
    # and the days since then (with no batch: every day of fieldwork so far).
    last_batch: date | None
    days_since_last_batch: int
    quiet: bool
    respondents: int  # distinct enterprises of the period, over all units
    units: pd.DataFrame

    def counts(self) -> dict[str, int]:
        found = self.units["status"].value_counts()
        return {status: int(found.get(status, 0)) for status in STATUSES}

    def units_with(self, status: str) -> list[dict[str, Any]]:
        rows = self.units.loc[
            self.units["status"] == status, ["unit_code", "unit_name", "respondents", "projected"]
        ]
        return [
            {
                "unit_code": str(row["unit_code"]),
                "unit_name": str(row["unit_name"]),
                "respondents": int(row["respondents"]),
                "projected": round(float(row["projected"]), 1),
            }
            for row in rows.to_dict("records")
        ]

    def summary(self, outputs: dict[str, str] | None = None) -> dict[str, Any]:
        """The `bizenv fieldwork` JSON summary (docs/contracts.md)."""
        result: dict[str, Any] = {
            "period": self.period.label,
            "as_of": self.as_of.isoformat(),
            "fieldwork_close": self.close.isoformat(),
            "days_elapsed": self.days_elapsed,
            "days_left": self.days_left,
            "min_respondents": self.min_respondents,
            "target_respondents": self.target_respondents,
            "units": len(self.units),
            "respondents": self.respondents,
            "statuses": self.counts(),
            "will_miss": self.units_with("will_miss"),
            "at_risk": self.units_with("at_risk"),
            "last_batch": self.last_batch.isoformat() if self.last_batch else None,
            "days_since_last_batch": self.days_since_last_batch,
            "quiet_days": self.quiet_days,
            "quiet": self.quiet,
        }
        if outputs is not None:
            result["outputs"] = outputs
        return result

    def line(self) -> str:
        """One line for `bizenv status`."""
        counts = self.counts()
        parts = ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in STATUSES)
        batch = (
            f"last batch {self.last_batch} ({self.days_since_last_batch} day(s) ago)"
            if self.last_batch
            else "no accepted batch yet"
        )
        return (
            f"{self.period.label}  fieldwork until {self.close} ({self.days_left} day(s) left): "
            f"{parts}; {batch}"
        )


def fieldwork_progress(
    engine: Engine, period: Period | str, as_of: date, policy: Policy, registry: Registry
) -> FieldworkProgress:
    """Each active unit's fieldwork progress as of the end of `as_of` (a day in the city's time)."""
    require_migrated(engine)
    period = period if isinstance(period, Period) else Period.parse(period)
    if as_of < period.start:
        raise BizenvError(f"fieldwork for {period.label} starts on {period.start}, after {as_of}")
    close = fieldwork_close(period, policy)
    fieldwork_days = (close - period.start).days + 1
    days_elapsed = min((as_of - period.start).days + 1, fieldwork_days)
    days_left = fieldwork_days - days_elapsed
    # Loaded on or before the as-of day in the city: before the next city midnight, in UTC.
    cutoff = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=CITY_TIMEZONE).astimezone(UTC)
    b, r = t.survey_batches, t.survey_responses
    batches = (
        select(b.c.batch_id)
        .where(b.c.period == period.label, b.c.status == "accepted", b.c.loaded_at < cutoff)
        .scalar_subquery()
    )
    in_time = (
        r.c.period == period.label,  # the (period, unit_code) index
        r.c.batch_id.in_(batches),
        r.c.submitted_at < datetime.combine(as_of + timedelta(days=1), time()),
    )
    with engine.connect() as conn:
        counts = fetch_frame(
            conn,
            select(r.c.unit_code, func.count(func.distinct(r.c.respondent_hash)).label("respondents"))
            .where(*in_time)
            .group_by(r.c.unit_code),
        )
        respondents = conn.execute(select(func.count(func.distinct(r.c.respondent_hash))).where(*in_time))
        total_respondents = int(respondents.scalar_one())
        last_loaded = conn.execute(
            select(func.max(b.c.loaded_at)).where(
                b.c.period == period.label, b.c.status == "accepted", b.c.loaded_at < cutoff
            )
        ).scalar_one()
    last_batch = _city_day(last_loaded) if last_loaded is not None else None
    days_since = (as_of - last_batch).days if last_batch else days_elapsed
    quiet = as_of <= close and days_since >= policy.fieldwork.quiet_days

    active = [unit for unit in registry.units if unit.active]
    units = pd.DataFrame(
        {
            "unit_code": [u.code for u in active],
            "unit_name": [u.name for u in active],
            "group": [u.group for u in active],
        }
    )
    by_unit = counts.set_index("unit_code")["respondents"].astype("int64")
    units["respondents"] = units["unit_code"].map(by_unit).fillna(0).astype("int64")
    minimum, target = policy.min_respondents, policy.fieldwork.target_respondents
    units["status"] = classify(units["respondents"], days_elapsed, fieldwork_days, minimum, target)
    units["daily_rate"] = units["respondents"] / days_elapsed
    units["projected"] = units["respondents"] * fieldwork_days / days_elapsed
    units = units.assign(
        period=period.label,
        as_of=as_of.isoformat(),
        fieldwork_close=close.isoformat(),
        min_respondents=minimum,
        target_respondents=target,
        days_elapsed=days_elapsed,
        days_left=days_left,
    )
    severity = units["status"].map({status: i for i, status in enumerate(STATUSES)})
    units = (
        units.assign(_severity=severity)
        .sort_values(["_severity", "projected", "unit_code"], kind="stable")
        .reset_index(drop=True)[COLUMNS]
    )
    return FieldworkProgress(
        period=period,
        as_of=as_of,
        close=close,
        days_elapsed=days_elapsed,
        days_left=days_left,
        min_respondents=minimum,
        target_respondents=target,
        quiet_days=policy.fieldwork.quiet_days,
        last_batch=last_batch,
        days_since_last_batch=days_since,
        quiet=quiet,
        respondents=total_respondents,
        units=units,
    )


def _city_day(moment: datetime | str) -> date:
    """The city's calendar day of a stored load time (SQLite gives it back naive, in UTC)."""
    moment = pd.Timestamp(moment).to_pydatetime()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CITY_TIMEZONE).date()


def write_fieldwork(progress: FieldworkProgress, out_dir: Path, city: str = "") -> dict[str, str]:
    """`fieldwork.csv` and `fieldwork.html` in `<out_dir>/fieldwork/`, where `out_dir` is the
    period's output folder. Each file is written beside its target and renamed over it, so a
    reader never sees half a file."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    folder = Path(out_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    table = progress.units.copy()
    table["daily_rate"] = table["daily_rate"].round(3)
    table["projected"] = table["projected"].round(1)
    # UTF-8 with a BOM: evaluators open it in Excel, which reads Chinese names right only so.
    csv_text = safe_cells(table).to_csv(index=False)
    env = Environment(
        loader=PackageLoader("bizenv.report", "templates"), autoescape=select_autoescape(["j2", "html"])
    )
    html = env.get_template("fieldwork.html.j2").render(
        city=city,
        p=progress,
        counts=progress.counts(),
        statuses=STATUSES,
        rows=table.to_dict("records"),
    )
    csv_path, html_path = folder / CSV_NAME, folder / HTML_NAME
    _write_atomically(csv_path, csv_text.encode("utf-8-sig"))
    _write_atomically(html_path, html.encode("utf-8"))
    return {"csv": str(csv_path), "html": str(html_path)}


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def alerts(progress: FieldworkProgress) -> list[tuple[str, str]]:
    """The (subject, text) messages a day's monitoring sends: one naming the units that will
    miss the minimum or are at risk of missing the target, one when batches have stopped coming."""
    messages = []
    label, counts = progress.period.label, progress.counts()
    if counts["will_miss"] or counts["at_risk"]:
        lines = [
            f"Fieldwork for {label} as of {progress.as_of}, {progress.days_left} day(s) before it closes on "
            f"{progress.close}; at each unit's rate so far (minimum {progress.min_respondents}, "
            f"target {progress.target_respondents} enterprises):"
        ]
        for status, what in (("will_miss", "will miss the minimum"), ("at_risk", "at risk")):
            for unit in progress.units_with(status):
                lines.append(
                    f"- {unit['unit_name']} ({unit['unit_code']}) {what}: {unit['respondents']} so far, "
                    f"projected {unit['projected']:.1f}"
                )
        subject = (
            f"bizenv: {label} fieldwork: {counts['will_miss']} unit(s) will miss the minimum, "
            f"{counts['at_risk']} at risk"
        )
        messages.append((subject, "\n".join(lines)))
    if progress.quiet:
        since = (
            f"since {progress.last_batch}"
            if progress.last_batch
            else f"since fieldwork began on {progress.period.start}"
        )
        messages.append(
            (
                f"bizenv: {label} fieldwork quiet for {progress.days_since_last_batch} day(s)",
                f"No survey batch for {label} has been accepted {since} "
                f"({progress.days_since_last_batch} day(s) as of {progress.as_of}; quiet after "
                f"{progress.quiet_days}). Fieldwork closes on {progress.close}: ask the survey team "
                "whether batches are waiting to be delivered.",
            )
        )
    return messages


def monitor_period(
    engine: Engine,
    period: Period,
    as_of: date,
    out_dir: Path,
    notify: Callable[[str, str], object],
    policy: Policy,
    registry: Registry,
) -> dict[str, Any]:
    """A day's monitoring of one period: the files written into its output folder, then every
    alert sent through `notify(subject, text)`. The summary names the alerts' subjects."""
    progress = fieldwork_progress(engine, period, as_of, policy, registry)
    summary = progress.summary(write_fieldwork(progress, out_dir, city=registry.city))
    summary["alerts"] = []
    for subject, text in alerts(progress):
        delivered = notify(subject, text)
        log.info("alert %r delivered: %s", subject, delivered)
        summary["alerts"].append(subject)
    return summary
