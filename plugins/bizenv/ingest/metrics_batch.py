"""Load one department-metrics batch (`unit, indicator, value, source`), losing nothing.

Same rules as survey batches: content-hash batch id (a re-load is a no-op), every row accepted
or quarantined with its reasons, one transaction. A (unit, indicator) pair has one value per
period: within a file the last row wins, and a later batch's value supersedes an earlier one,
which moves to quarantine as a duplicate.

The summary warns (`warnings`) about indicators of the period that will not be scored because
they have no catalogue frontier and fewer reporting units than the policy's
`min_units_for_observed_frontier`: loading is when someone can still add units or ask for a
catalogue frontier, evaluation would only find the indicator missing from the scores.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, delete, select, update

from bizenv.errors import BizenvError
from bizenv.indicators.frontier import units_short_of_observed_frontier
from bizenv.ingest import gate
from bizenv.ingest.problems import Problems, quote
from bizenv.ingest.reading import RawTable, read_table
from bizenv.ingest.rows import rows_as_json
from bizenv.periods import Period
from bizenv.schemas import load_indicators, load_policy, load_registry, load_validation
from bizenv.validate import results as validation
from bizenv.validate.gx_runner import run_suite
from bizenv.validate.suites import metrics_specs
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import require_migrated
from bizenv.warehouse.writes import ensure_period, insert_frame, lock_for_write, sync_units

REQUIRED = ["unit", "indicator", "value"]
OPTIONAL = ["source"]


def parse_value(text: pd.Series) -> pd.Series:
    """Numbers as written in statistical tables: thousands separators and a trailing % allowed."""
    cleaned = text.astype("str").str.strip().str.replace(",", "", regex=False).str.removesuffix("%")
    return pd.to_numeric(cleaned, errors="coerce")


def check_metric_rows(table: RawTable) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int], pd.DataFrame]:
    frame = table.frame
    missing = [c for c in REQUIRED if c not in frame.columns]
    unknown = [c for c in frame.columns if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        )
        raise BizenvError(
            f"header must be unit, indicator, value[, source]: {'; '.join(parts)}",
            file=str(table.path),
            row=1,
            column=(missing or unknown)[0],
        )
    catalogue = load_indicators().by_code()
    registry = load_registry()
    problems = Problems(frame.index)
    unit_text = frame["unit"].astype("str")
    unit_code = unit_text.str.split().str.join("").str.casefold().map(registry.name_index())
    problems.add("missing_unit", unit_text.str.strip() == "", "unit is blank")
    problems.add(
        "unknown_unit",
        unit_code.isna() & (unit_text.str.strip() != ""),
        "unit=" + quote(unit_text) + " is not in the unit registry",
    )
    indicator = frame["indicator"].astype("str").str.strip()
    known = indicator.isin(list(catalogue))
    problems.add(
        "unknown_indicator", ~known, "indicator=" + quote(indicator) + " is not in the indicator catalogue"
    )
    value = parse_value(frame["value"])
    problems.add("bad_value", value.isna(), "value=" + quote(frame["value"]) + " is not a number")

    bounds = pd.DataFrame(
        {"min": indicator.map({c: i.bounds.min for c, i in catalogue.items()}),
         "max": indicator.map({c: i.bounds.max for c, i in catalogue.items()})}
    )  # fmt: skip
    implausible = value.notna() & known & ((value < bounds["min"]) | (value > bounds["max"]))
    problems.add(
        "implausible_value",
        implausible,
        "value="
        + quote(frame["value"])
        + " is outside the plausible range "
        + bounds["min"].map("{:g}".format)
        + " to "
        + bounds["max"].map("{:g}".format)
        + " for "
        + indicator,
    )
    assignments = pd.MultiIndex.from_tuples(
        [(unit, code) for code, spec in catalogue.items() for unit in spec.responsible]
    )
    responsible = pd.Series(
        pd.MultiIndex.from_arrays([unit_code, indicator]).isin(assignments), index=frame.index
    )
    problems.add(
        "not_responsible",
        unit_code.notna() & known & ~responsible,
        "unit " + unit_code.fillna("") + " is not responsible for " + indicator + " in the catalogue",
    )
    source_row = pd.Series(frame.index, index=frame.index)
    valid = ~problems.any_mask()
    keys = pd.DataFrame({"unit": unit_code, "indicator": indicator, "row": source_row})[valid]
    last_row = keys.groupby(["unit", "indicator"])["row"].transform("last")
    superseded = keys.index[keys["row"] != last_row]
    dup = pd.Series(False, index=frame.index)
    dup[superseded] = True
    problems.add(
        "duplicate",
        dup,
        "superseded by row "
        + last_row.reindex(frame.index).astype("Int64").astype("str")
        + " (same unit and indicator)",
    )
    reasons, details, counts = problems.fold()
    bad = reasons != ""
    quarantined = pd.DataFrame(
        {
            "source_row": source_row[bad],
            "reasons": reasons[bad],
            "details": details[bad],
            "raw": rows_as_json(frame[bad]),
        }
    )
    accepted = pd.DataFrame(
        {
            "source_row": source_row[~bad],
            "unit_code": unit_code[~bad],
            "indicator": indicator[~bad],
            "value": value[~bad].astype(float),
            "source": frame["source"][~bad].replace("", None) if "source" in frame else None,
        }
    )
    parsed = pd.DataFrame(
        {
            "unit_code": unit_code.astype(object).where(unit_code.notna(), None),
            "indicator": indicator,
            "value": value,
        }
    )
    return accepted, quarantined, counts, parsed


def load_metrics(engine: Engine, path: Path | str, period: str) -> dict:
    require_migrated(engine)
    period_ = Period.parse(period)
    policy = load_policy()
    table = read_table(Path(path))
    with engine.connect() as conn:
        existing = (
            conn.execute(select(t.metric_batches).where(t.metric_batches.c.batch_id == table.batch_id))
            .mappings()
            .first()
        )
    if existing:
        return {
            "batch_id": table.batch_id, "file": str(table.path), "period": existing["period"],
            "rows_in": existing["rows_in"], "accepted": existing["accepted"], "quarantined": existing["quarantined"],
            "duplicate_batch": True, "status": existing["status"], "reasons": {},
            "message": f"batch already loaded at {existing['loaded_at']}; nothing changed",
        }  # fmt: skip
    accepted, quarantined, reasons, parsed = check_metric_rows(table)
    outcomes = run_suite(
        f"metrics_batch_{table.batch_id[:12]}", parsed, metrics_specs(load_indicators(), load_validation())
    )
    rows_in = len(table.frame)
    why = gate.refusals(quarantined, rows_in, outcomes, policy)
    status = "refused" if why else "accepted"
    if why:
        refused = gate.refused_rows(accepted, rows_as_json(table.frame.loc[accepted.index]), why)
        quarantined, accepted = pd.concat([quarantined, refused]), accepted.iloc[0:0]

    with engine.begin() as conn:
        lock_for_write(conn, t.department_metrics, t.quarantined_rows, t.metric_batches)
        ensure_period(conn, period_)
        sync_units(conn, load_registry())
        conn.execute(
            t.metric_batches.insert().values(
                batch_id=table.batch_id, period=period_.label, file_name=table.path.name,
                loaded_at=datetime.now(UTC), rows_in=rows_in, accepted=len(accepted),
                quarantined=len(quarantined), status=status,
            )
        )  # fmt: skip
        superseded = _supersede_earlier(conn, accepted, period_, table.batch_id)
        insert_frame(
            conn,
            t.department_metrics,
            accepted.assign(period=period_.label, batch_id=table.batch_id)[
                ["period", "unit_code", "indicator", "value", "source", "batch_id"]
            ],
        )
        insert_frame(
            conn,
            t.quarantined_rows,
            quarantined.assign(batch_id=table.batch_id, period=period_.label)[
                ["batch_id", "period", "source_row", "reasons", "details", "raw"]
            ],
        )
        validation.store(
            conn, batch_id=table.batch_id, period=period_.label, suite="metrics_batch", outcomes=outcomes
        )
        unscorable = _unscorable_indicators(conn, period_, policy.min_units_for_observed_frontier)
    summary = {
        "batch_id": table.batch_id, "file": str(table.path), "period": period_.label, "rows_in": rows_in,
        "accepted": len(accepted), "quarantined": len(quarantined), "duplicate_batch": False,
        "status": status, "reasons": dict(sorted(reasons.items())),
    }  # fmt: skip
    summary["validation"] = {
        "expectations": len(outcomes),
        "failed": sum(not o.success for o in outcomes),
        "critical_failed": validation.critical_failures(outcomes),
        "warnings": validation.warnings_of(outcomes),
    }
    if superseded:
        summary["superseded_earlier"] = superseded
    if unscorable:
        summary["warnings"] = unscorable
    if status == "refused":
        summary["message"] = gate.refusal_message(why)
    return summary


def _supersede_earlier(conn: Connection, accepted: pd.DataFrame, period: Period, batch_id: str) -> int:
    """Earlier values of the same (unit, indicator) move to quarantine; returns how many."""
    m = t.department_metrics
    earlier = pd.DataFrame(
        conn.execute(select(m).where(m.c.period == period.label)).mappings().all(),
        columns=[c.name for c in m.columns],
    )
    if earlier.empty or accepted.empty:
        return 0
    replaced = earlier.merge(
        accepted[["unit_code", "indicator", "source_row"]], on=["unit_code", "indicator"]
    )
    if replaced.empty:
        return 0
    moved = pd.DataFrame(
        {
            "batch_id": replaced["batch_id"],
            "period": period.label,
            "source_row": 0,
            "reasons": "duplicate",
            "details": "duplicate: superseded by batch "
            + batch_id[:12]
            + ", row "
            + replaced["source_row"].astype("str"),
            "raw": rows_as_json(replaced[["unit_code", "indicator", "value", "source"]]),
        }
    )
    insert_frame(conn, t.quarantined_rows, moved)
    for unit, indicator in replaced[["unit_code", "indicator"]].itertuples(index=False):
        conn.execute(
            delete(m)
            .where(m.c.period == period.label)
            .where(m.c.unit_code == unit)
            .where(m.c.indicator == indicator)
        )
    for old_batch, count in moved.groupby("batch_id").size().items():
        b = t.metric_batches
        conn.execute(
            update(b)
            .where(b.c.batch_id == old_batch)
            .values(accepted=b.c.accepted - int(count), quarantined=b.c.quarantined + int(count))
        )
    return len(replaced)


def _unscorable_indicators(conn: Connection, period: Period, min_units: int) -> list[str]:
    """One warning per indicator of the period, after this batch, that `frontier_scores` will not
    score: no catalogue frontier and fewer than `min_units` distinct reporting units. Counted over
    the whole period, not this batch alone, since units report in separate batches; the rule
    itself is `units_short_of_observed_frontier`, so warning and scoring cannot disagree."""
    m = t.department_metrics
    reported = pd.DataFrame(
        conn.execute(select(m.c.unit_code, m.c.indicator).where(m.c.period == period.label)).all(),
        columns=["unit_code", "indicator"],
    )
    short = units_short_of_observed_frontier(reported, load_indicators(), min_units)
    return [
        f"indicator {code} has no catalogue frontier and only {n} reporting unit(s) in {period.label} "
        f"({min_units} needed): it will not be scored"
        for code, n in short.items()
    ]
