"""One batch's lifecycle, the same for survey and metrics files, each stage written once here:

    identify  the batch id is the SHA-256 of the file's bytes: a file loaded before is a no-op
    read      the kind reads its rows (and can give back any row's original cells)
    check     every row accepted or quarantined with its reasons (the kind's row checks, built
              from the shared ones below: unit names, the latest row of a key, the split)
    validate  the kind's Great Expectations suite on every row, parsed
    gate      too many faulty rows or a failed critical expectation refuses the whole batch
    settle    rows of earlier batches this one supersedes, or that supersede its rows
    write     the batch record, accepted rows, validation results and quarantine

A `BatchKind` says what differs: how a file is read and its rows checked, the suite, the tables,
how supersession is settled and how accepted rows are stored. Everything from `settle` on runs
in one transaction, so a batch is stored whole or not at all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from sqlalchemy import Connection, Engine, Table, select, update

from bizenv.config import respondent_salt
from bizenv.errors import BizenvError
from bizenv.ingest import gate, privacy
from bizenv.ingest.problems import Problems, quote
from bizenv.ingest.reading import RawTable, read_table
from bizenv.periods import Period
from bizenv.schemas.models import Policy, Registry
from bizenv.validate import results as validation
from bizenv.validate.gx_runner import Outcome, Spec, run_suite
from bizenv.warehouse import tables as t
from bizenv.warehouse.runs import finish_run, start_run
from bizenv.warehouse.writes import ensure_period, insert_frame, lock_for_write, sync_units

QUARANTINE_COLUMNS = ["batch_id", "period", "source_row", "reasons", "details", "raw"]


@dataclass
class Rows:
    """A file as its kind reads it: what the shared stages need to know of it."""

    table: RawTable
    # Rows the batch accounts for (`rows_in`): each ends accepted or quarantined.
    count: int
    # Original cells of the given rows, one JSON object per row, as quarantine keeps them.
    raw: Callable[[pd.Index], pd.Series]
    # What the kind's row checks read (the survey's standard batch, the metrics frame).
    content: Any
    # The kind's own keys of the summary (after `period`) and columns of its batch record.
    summary: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class CheckedRows:
    """Accepted rows (parsed, ready to store) and quarantined rows (original values, reasons)."""

    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    # Every input row parsed (missing where blank), for the Great Expectations suite.
    parsed: pd.DataFrame
    reason_counts: dict[str, int] = field(default_factory=dict)
    # Survey-quality findings that only warn: {"rule", "count", "message"}.
    warnings: list[dict] = field(default_factory=list)
    # Rows of earlier batches this batch superseded, moved to quarantine (known once settled).
    superseded_earlier: int = 0


class BatchKind(ABC):
    """What one kind of batch file does its own way; the stages in this module do the rest."""

    name: ClassVar[str]  # suites are named `<name>_batch`
    batches: ClassVar[Table]  # one record per batch
    accepted_table: ClassVar[Table]  # where accepted rows go (locked while loading)
    # A file loaded for one period cannot be loaded again for another (else: a no-op).
    one_period_per_file: ClassVar[bool]
    policy: Policy

    @property
    @abstractmethod
    def registry(self) -> Registry:
        """The unit registry rows are checked against (and the warehouse's units synced to)."""

    @abstractmethod
    def read(self, table: RawTable) -> Rows: ...

    @abstractmethod
    def check(self, rows: Rows, period: Period) -> CheckedRows: ...

    @abstractmethod
    def suite(self, period: Period) -> list[Spec]: ...

    @abstractmethod
    def settle(
        self, conn: Connection, checked: CheckedRows, rows: Rows, period: Period, batch_id: str
    ) -> CheckedRows:
        """The rows once earlier batches are taken into account (see `quarantine_superseded`)."""

    @abstractmethod
    def write(self, conn: Connection, accepted: pd.DataFrame, period: Period, batch_id: str) -> None: ...

    def period_warnings(self, conn: Connection, period: Period) -> list[str]:
        """Warnings about the period as it stands once the batch is written."""
        return []


def load(engine: Engine, kind: BatchKind, path: Path | str, period: Period) -> dict:
    """Every stage of one batch file, in order; returns the JSON summary of the CLI contract.
    The load is logged in `pipeline_runs` as `load-<kind>` from start to end."""
    run_id = start_run(engine, f"load-{kind.name}", period.label)
    try:
        summary = _load(engine, kind, Path(path), period)
    except BaseException as exc:
        finish_run(engine, run_id, "failed", error=exc)
        raise
    if summary["status"] == "refused":
        finish_run(engine, run_id, "refused", summary=summary, error=summary.get("message"))
    else:
        finish_run(engine, run_id, "done", summary=summary)
    return summary


def _load(engine: Engine, kind: BatchKind, path: Path, period: Period) -> dict:
    table = read_table(path)
    loaded = identify(engine, kind, table, period)
    if loaded is not None:
        return loaded
    rows = kind.read(table)
    checked = kind.check(rows, period)
    outcomes = private_outcomes(
        run_suite(f"{kind.name}_batch_{table.batch_id[:12]}", checked.parsed, kind.suite(period))
    )
    # The suite's copy of every row is not needed past here: a million rows' worth of memory.
    checked = replace(checked, parsed=checked.parsed.iloc[:0])
    why = gate.refusals(checked.quarantined, rows.count, outcomes, kind.policy)
    with engine.begin() as conn:
        lock_for_write(conn, kind.accepted_table, t.quarantined_rows, kind.batches)
        ensure_period(conn, period)
        # A load of the same file may have committed since `identify` looked: look again under
        # the write lock (SQLite's is taken by the first write, ensure_period's insert).
        loaded = loaded_before(conn, kind, table, period)
        if loaded is not None:
            return loaded
        sync_units(conn, kind.registry)
        settled = (
            refuse(checked, rows, why) if why else kind.settle(conn, checked, rows, period, table.batch_id)
        )
        write(conn, kind, rows, period, settled, outcomes, why)
        warnings = kind.period_warnings(conn, period)
    return summarise(rows, period, settled, outcomes, why, warnings)


# --- identify ---------------------------------------------------------------------------------


def identify(engine: Engine, kind: BatchKind, table: RawTable, period: Period) -> dict | None:
    """The summary of the batch already loaded from these very bytes (nothing changes), or None."""
    with engine.connect() as conn:
        return loaded_before(conn, kind, table, period)


def loaded_before(conn: Connection, kind: BatchKind, table: RawTable, period: Period) -> dict | None:
    """`identify` as `conn` sees the warehouse."""
    b = kind.batches
    existing = conn.execute(select(b).where(b.c.batch_id == table.batch_id)).mappings().first()
    if existing is None:
        return None
    if kind.one_period_per_file and existing["period"] != period.label:
        raise BizenvError(
            f"this file was already loaded for period {existing['period']} "
            f"(batch {table.batch_id[:12]}, {existing['loaded_at']}); it cannot also belong to {period.label}",
            file=str(table.path),
        )
    return {
        "batch_id": table.batch_id,
        "file": str(table.path),
        "period": existing["period"],
        **({"schema": existing["schema_name"]} if "schema_name" in b.c else {}),
        "rows_in": existing["rows_in"],
        "accepted": existing["accepted"],
        "quarantined": existing["quarantined"],
        "duplicate_batch": True,
        "status": existing["status"],
        "reasons": {},
        "message": f"batch already loaded at {existing['loaded_at']}; nothing changed",
    }


# --- check: the row checks both kinds share ----------------------------------------------------


def check_unit(problems: Problems, text: pd.Series, registry: Registry, blank: str) -> pd.Series:
    """Unit code of each row (NaN where none); a blank or unknown unit is a problem, `blank`
    saying what a blank one means."""
    text = text.astype("str")
    code = text.map(registry.resolve_all(text.unique())).astype("str")
    named = text.str.strip() != ""
    problems.add("missing_unit", ~named, blank)
    problems.add(
        "unknown_unit",
        code.isna() & named,
        lambda rows: "unit=" + quote(text[rows]) + " is not in the unit registry",
    )
    return code


def check_field_count(problems: Problems, fields: pd.Series | None, header_fields: int) -> None:
    """A row with fewer fields than the header (a line cut short, or a file truncated mid-row)
    is `short_row`: its missing cells are not blank values, so none of it is used. `fields`:
    each row's field count (same index as the problems), None when the format cannot tell."""
    if fields is None:
        return
    fields = fields.reindex(problems.index)
    problems.add(
        "short_row",
        fields < header_fields,
        lambda rows: (
            "the row has " + fields[rows].astype("Int64").astype("str") + f" of the header's {header_fields} "
            "fields (cut short or truncated); load the complete row"
        ),
    )


def check_formulas(problems: Problems, uncalculated: pd.DataFrame | None) -> None:
    """A row with a cell holding a formula but no value is `formula_without_value`: the cell reads
    blank, yet something was entered there, so the row's values are not all known. Loading the
    workbook once calculated (saved from Excel, or the cells pasted as values) accepts it.
    `uncalculated`: such cells marked True, columns named as in the file."""
    if uncalculated is None:
        return
    marks = uncalculated.reindex(problems.index, fill_value=False)
    for column in marks.columns[marks.any()]:
        problems.add(
            "formula_without_value",
            marks[column],
            f"{column} holds a formula with no calculated value (the workbook was written by a "
            "program and never calculated, or the formula gives an error): open the workbook in "
            "Excel and save it, or paste the cells as values, and load it again",
        )


def flag_superseded(
    problems: Problems, keys: dict[str, pd.Series], row: pd.Series, detail: str, at: pd.Series | None = None
) -> None:
    """Within the batch a key counts once: of the rows without problems, the last one (by `at`,
    then by file row, then by position: a wide export gives several rows per file row, and two
    grids may name one unit) wins; the others are quarantined as `duplicate`, naming the winner."""
    order = {} if at is None else {"at": at}
    position = pd.Series(range(len(problems.index)), index=problems.index)
    valid = pd.DataFrame({**keys, **order, "row": row, "position": position})[~problems.any_mask()]
    valid = valid.sort_values([*order, "row", "position"])
    winner = valid.groupby(list(keys))["position"].transform("last")
    lost = pd.Series(False, index=problems.index)
    lost[valid.index[valid["position"] != winner]] = True
    winner_row = pd.Series(row.to_numpy()[winner.to_numpy()], index=winner.index).reindex(problems.index)

    def message(rows: pd.Series) -> pd.Series:
        text = "superseded by row " + winner_row[rows].astype("Int64").astype("str") + detail
        return text.mask(
            winner_row[rows] == row[rows], "superseded by a later rating of the same unit in the same row"
        )

    problems.add("duplicate", lost, message)


def split(
    problems: Problems, source_row: pd.Series, raw: Callable[[pd.Index], pd.Series]
) -> tuple[pd.Series, pd.DataFrame, dict[str, int]]:
    """Which rows are accepted, the quarantined rows with their reasons and original cells, and
    how many rows have each reason."""
    reasons, details, counts = problems.fold()
    bad = reasons != ""
    quarantined = pd.DataFrame(
        {
            "source_row": source_row[bad].astype(int),
            "reasons": reasons[bad],
            "details": details[bad],
            "raw": raw(problems.index[bad]),
        }
    )
    return ~bad, quarantined, counts


# --- gate and settle --------------------------------------------------------------------------


def refuse(checked: CheckedRows, rows: Rows, why: list[str]) -> CheckedRows:
    """Nothing of a refused batch is used, nor may it displace earlier accepted rows: the rows
    that passed their own checks are quarantined too, with the batch's reasons."""
    refused = gate.refused_rows(checked.accepted, rows.raw(checked.accepted.index), why)
    return replace(
        checked, accepted=checked.accepted.iloc[0:0], quarantined=pd.concat([checked.quarantined, refused])
    )


def quarantine_superseded(conn: Connection, batches: Table, moved: pd.DataFrame) -> None:
    """Rows of earlier batches superseded by this one go to quarantine (`moved`, in its columns),
    and their batches' counts follow. The caller deletes them from the accepted rows."""
    insert_frame(conn, t.quarantined_rows, private_quarantine(moved))
    for old_batch, count in moved.groupby("batch_id").size().items():
        conn.execute(
            update(batches)
            .where(batches.c.batch_id == old_batch)
            .values(accepted=batches.c.accepted - int(count), quarantined=batches.c.quarantined + int(count))
        )


# --- privacy: nothing derived from an identity leaves ingest except its salted hash ------------


def private_outcomes(outcomes: list[Outcome]) -> list[Outcome]:
    """Outcomes whose unexpected samples hold salted hashes of respondent keys, other text masked."""
    identity = any(set((o.column or "").split(",")) & privacy.IDENTITY_COLUMNS for o in outcomes)
    salt = respondent_salt() if identity else None
    return [
        replace(o, unexpected_sample=privacy.private_sample(o.unexpected_sample, o.column, salt))
        for o in outcomes
    ]


def private_quarantine(quarantined: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows as written, whatever wrote them: identities in `details` and in the
    original values (`raw`) masked, a quoted bad credit code replaced by its salted hash. Every
    reader (quarantine.csv, the workbook, the inbox reports) gets this form."""
    if quarantined.empty:
        return quarantined
    details = quarantined["details"].astype("str")
    salt = respondent_salt() if details.str.contains("bad_credit_code:", regex=False).any() else ""
    return quarantined.assign(
        details=privacy.mask_details(details, salt),
        raw=privacy.mask_original_values(quarantined["raw"]),
    )


# --- write and summarise ----------------------------------------------------------------------


def write(
    conn: Connection,
    kind: BatchKind,
    rows: Rows,
    period: Period,
    settled: CheckedRows,
    outcomes: list[Outcome],
    why: list[str],
) -> None:
    """The batch record, its accepted rows, validation results and quarantined rows; every row in
    is accounted for."""
    batch_id = rows.table.batch_id
    conn.execute(
        kind.batches.insert().values(
            batch_id=batch_id,
            period=period.label,
            file_name=rows.table.path.name,
            **rows.record,
            loaded_at=datetime.now(UTC),
            rows_in=rows.count,
            accepted=len(settled.accepted),
            quarantined=len(settled.quarantined),
            status="refused" if why else "accepted",
        )
    )
    kind.write(conn, settled.accepted, period, batch_id)
    validation.store(
        conn,
        batch_id=batch_id,
        period=period.label,
        suite=f"{kind.name}_batch",
        outcomes=outcomes,
        warnings=settled.warnings,
    )
    quarantined = settled.quarantined.assign(batch_id=batch_id, period=period.label)
    insert_frame(conn, t.quarantined_rows, private_quarantine(quarantined[QUARANTINE_COLUMNS]))
    if rows.count != len(settled.accepted) + len(settled.quarantined):
        raise RuntimeError(
            f"row accounting broken for {rows.table.path}: {rows.count} in, "
            f"{len(settled.accepted)} accepted + {len(settled.quarantined)} quarantined"
        )


def summarise(
    rows: Rows,
    period: Period,
    settled: CheckedRows,
    outcomes: list[Outcome],
    why: list[str],
    warnings: list[str],
) -> dict:
    """The JSON summary of a batch loaded now."""
    summary = {
        "batch_id": rows.table.batch_id,
        "file": str(rows.table.path),
        "period": period.label,
        **rows.summary,
        "rows_in": rows.count,
        "accepted": len(settled.accepted),
        "quarantined": len(settled.quarantined),
        "duplicate_batch": False,
        "status": "refused" if why else "accepted",
        "reasons": dict(sorted(settled.reason_counts.items())),
        "validation": {
            "expectations": len(outcomes),
            "failed": sum(not o.success for o in outcomes),
            "critical_failed": validation.critical_failures(outcomes),
            "warnings": validation.warnings_of(outcomes) + [w["message"] for w in settled.warnings],
        },
    }
    if rows.notes:
        summary["notes"] = rows.notes
    if settled.superseded_earlier:
        summary["superseded_earlier"] = settled.superseded_earlier
    if warnings:
        summary["warnings"] = warnings
    if why:
        summary["message"] = gate.refusal_message(why)
    return summary
