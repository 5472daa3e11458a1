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

from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, delete, select, tuple_

from bizenv.indicators.frontier import units_short_of_observed_frontier
from bizenv.ingest import batch as lifecycle
from bizenv.ingest.batch import (
    BatchKind,
    CheckedRows,
    Rows,
    check_field_count,
    check_formulas,
    check_unit,
    flag_superseded,
    split,
)
from bizenv.ingest.problems import Problems, quote
from bizenv.ingest.reading import RawTable, require_header, rows_as_json
from bizenv.periods import Period
from bizenv.schemas import load_indicators, load_policy, load_registry, load_validation
from bizenv.schemas.models import Indicator, IndicatorCatalogue, Registry
from bizenv.validate.gx_runner import Spec
from bizenv.validate.suites import metrics_specs
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import require_migrated
from bizenv.warehouse.writes import insert_frame

REQUIRED = ["unit", "indicator", "value"]
OPTIONAL = ["source"]


def load_metrics(engine: Engine, path: Path | str, period: str) -> dict:
    """Returns the JSON summary of the CLI contract."""
    require_migrated(engine)
    period_ = Period.parse(period)
    return lifecycle.load(engine, MetricsKind(), path, period_)


class MetricsKind(BatchKind):
    """Metrics batches: one value per (unit, indicator) and period, in `department_metrics`."""

    name = "metrics"
    batches = t.metric_batches
    accepted_table = t.department_metrics
    # A file loaded again, whatever the period, is a no-op.
    one_period_per_file = False

    def __init__(self) -> None:
        self.policy = load_policy()

    @cached_property
    def catalogue(self) -> IndicatorCatalogue:
        return load_indicators()

    @cached_property
    def registry(self) -> Registry:
        return load_registry()

    def read(self, table: RawTable) -> Rows:
        require_header(table, REQUIRED, OPTIONAL, what="header must be unit, indicator, value[, source]")
        return Rows(
            table=table,
            count=len(table.frame),
            raw=lambda index: rows_as_json(table.frame.loc[index]),
            content=table.frame,
        )

    def check(self, rows: Rows, period: Period) -> CheckedRows:
        return check_metric_rows(rows.content, self.catalogue, self.registry, rows.raw, rows.table)

    def suite(self, period: Period) -> list[Spec]:
        return metrics_specs(self.catalogue, load_validation())

    def settle(
        self, conn: Connection, checked: CheckedRows, rows: Rows, period: Period, batch_id: str
    ) -> CheckedRows:
        return replace(
            checked, superseded_earlier=supersede_earlier(conn, checked.accepted, period, batch_id)
        )

    def write(self, conn: Connection, accepted: pd.DataFrame, period: Period, batch_id: str) -> None:
        columns = ["period", "unit_code", "indicator", "value", "source", "batch_id"]
        insert_frame(
            conn, t.department_metrics, accepted.assign(period=period.label, batch_id=batch_id)[columns]
        )

    def period_warnings(self, conn: Connection, period: Period) -> list[str]:
        return _unscorable_indicators(conn, period, self.policy.min_units_for_observed_frontier)


# Commas only as thousands separators: "1,000" and "12,345.6", never "9,5" (a decimal comma) or "1,2".
_GROUPED = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"


def parse_value(text: pd.Series) -> pd.Series:
    """Numbers as written in statistical tables: thousands separators and a trailing % allowed;
    NaN for anything else (a misplaced comma included)."""
    cleaned = text.astype("str").str.strip().str.removesuffix("%").str.strip()
    misplaced = cleaned.str.contains(",", regex=False) & ~cleaned.str.fullmatch(_GROUPED)
    cleaned = cleaned.str.replace(",", "", regex=False).where(~misplaced, "")
    return pd.to_numeric(cleaned, errors="coerce")


def check_metric_rows(
    frame: pd.DataFrame,
    catalogue: IndicatorCatalogue,
    registry: Registry,
    raw: Callable[[pd.Index], pd.Series],
    table: RawTable | None = None,
) -> CheckedRows:
    """Every row accepted or quarantined with its reasons; within the file the last row of a
    (unit, indicator) wins. `table`, the file read, tells rows cut short and uncalculated
    formula cells apart from blank cells."""
    problems = Problems(frame.index)
    if table is not None:
        check_field_count(problems, table.fields, len(table.frame.columns))
        check_formulas(problems, table.uncalculated)
    indicators = catalogue.by_code()
    unit_code = check_unit(problems, frame["unit"], registry, "unit is blank")
    indicator = check_indicator(problems, frame["indicator"], indicators)
    value = check_value(problems, frame["value"], indicator, indicators)
    check_responsible(problems, unit_code, indicator, indicators)
    source_row = pd.Series(frame.index, index=frame.index)
    keys = {"unit": unit_code, "indicator": indicator}
    flag_superseded(problems, keys, source_row, " (same unit and indicator)")
    ok, quarantined, counts = split(problems, source_row, raw)
    accepted = pd.DataFrame(
        {
            "source_row": source_row[ok],
            "unit_code": unit_code[ok],
            "indicator": indicator[ok],
            "value": value[ok].astype(float),
            "source": frame["source"][ok].replace("", None) if "source" in frame else None,
        }
    )
    parsed = pd.DataFrame(
        {"unit_code": unit_code.astype(object).where(unit_code.notna(), None), "indicator": indicator, "value": value}
    )  # fmt: skip
    return CheckedRows(accepted=accepted, quarantined=quarantined, reason_counts=counts, parsed=parsed)


def check_indicator(problems: Problems, text: pd.Series, indicators: dict[str, Indicator]) -> pd.Series:
    indicator = text.astype("str").str.strip()
    problems.add(
        "unknown_indicator",
        ~indicator.isin(list(indicators)),
        "indicator=" + quote(indicator) + " is not in the indicator catalogue",
    )
    computed = [code for code, spec in indicators.items() if spec.source != "metrics"]
    problems.add(
        "computed_indicator",
        indicator.isin(computed),
        "indicator="
        + quote(indicator)
        + " is computed by the evaluation from the problem register, not loaded",
    )
    return indicator


def check_value(
    problems: Problems, text: pd.Series, indicator: pd.Series, indicators: dict[str, Indicator]
) -> pd.Series:
    """The value as a finite number (`inf`, `nan` or `1e400` is not a value), within the
    indicator's plausible bounds."""
    value = parse_value(text)
    finite = pd.Series(np.isfinite(value.to_numpy(dtype=float)), index=value.index)
    problems.add("bad_value", ~finite, "value=" + quote(text) + " is not a finite number")
    low = indicator.map({code: i.bounds.min for code, i in indicators.items()})
    high = indicator.map({code: i.bounds.max for code, i in indicators.items()})
    known = indicator.isin(list(indicators))
    problems.add(
        "implausible_value",
        finite & known & ((value < low) | (value > high)),
        "value="
        + quote(text)
        + " is outside the plausible range "
        + low.map("{:g}".format)
        + " to "
        + high.map("{:g}".format)
        + " for "
        + indicator,
    )
    return value


def check_responsible(
    problems: Problems, unit_code: pd.Series, indicator: pd.Series, indicators: dict[str, Indicator]
) -> None:
    """The unit must be one the catalogue makes responsible for the indicator."""
    assignments = pd.MultiIndex.from_tuples(
        [(unit, code) for code, spec in indicators.items() for unit in spec.responsible]
    )
    responsible = pd.Series(
        pd.MultiIndex.from_arrays([unit_code, indicator]).isin(assignments), index=indicator.index
    )
    problems.add(
        "not_responsible",
        unit_code.notna() & indicator.isin(list(indicators)) & ~responsible,
        "unit " + unit_code.fillna("") + " is not responsible for " + indicator + " in the catalogue",
    )


def supersede_earlier(conn: Connection, accepted: pd.DataFrame, period: Period, batch_id: str) -> int:
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
    lifecycle.quarantine_superseded(conn, t.metric_batches, moved)
    pairs = list(replaced[["unit_code", "indicator"]].itertuples(index=False, name=None))
    conn.execute(
        delete(m).where(m.c.period == period.label).where(tuple_(m.c.unit_code, m.c.indicator).in_(pairs))
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
