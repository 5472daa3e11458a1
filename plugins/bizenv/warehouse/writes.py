"""Bulk, idempotent writes: frames in, rows out, per period inside the caller's transaction.

Text is stored without NUL characters (U+0000), on every database: PostgreSQL cannot store them,
so `insert_frame` strips them for SQLite too, rather than let the two warehouses differ."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Connection, Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bizenv.errors import BizenvError
from bizenv.periods import Period
from bizenv.schemas.models import Questionnaire, Registry
from bizenv.warehouse import tables as t

CHUNK = 50_000


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with None for missing values and Python scalars (what every driver accepts)."""
    if frame.empty:
        return []
    converted = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            values = series.dt.to_pydatetime().astype(object)
        else:
            values = series.to_numpy(dtype=object)
        mask = series.isna().to_numpy()
        if mask.any():
            values = values.copy()
            values[mask] = None
        converted[column] = values
    columns = list(converted)
    return [dict(zip(columns, row, strict=True)) for row in zip(*converted.values(), strict=True)]


def without_nul(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with NUL characters (U+0000) removed from its text: PostgreSQL cannot store them
    in text and SQLite can, so both get the text without them, whatever table it goes to."""
    out = frame
    for column in frame.columns:
        series = frame[column]
        if series.dtype == object:
            has_nul = series.map(lambda v: isinstance(v, str) and "\x00" in v).astype(bool)
        elif isinstance(series.dtype, pd.StringDtype):
            has_nul = series.str.contains("\x00", regex=False).fillna(False).astype(bool)
        else:
            continue
        if has_nul.any():
            out = out.copy() if out is frame else out
            cleaned = series.copy()
            cleaned[has_nul] = series[has_nul].str.replace("\x00", "", regex=False)
            out[column] = cleaned
    return out


def _bulk_columns(frame: pd.DataFrame, dialect: str) -> pd.DataFrame:
    """Values as the bulk paths want them: timestamps as text in the format SQLAlchemy itself
    writes, booleans as the dialect spells them, missing as None."""
    out = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            series = series.dt.strftime("%Y-%m-%d %H:%M:%S.%f").astype(object)
        elif pd.api.types.is_bool_dtype(series):
            series = series.map(
                {True: "true", False: "false"} if dialect == "postgresql" else {True: 1, False: 0}
            )
        else:
            series = series.astype(object)
        out[column] = series.where(frame[column].notna(), None)
    return pd.DataFrame(out, index=frame.index)


def _copy_csv(frame: pd.DataFrame) -> str:
    """Rows as COPY's CSV format reads them: every value quoted, NULL an unquoted empty field.

    A quoted value is never NULL, so no text (`\\N`, `NULL`, the empty string) can be taken for
    one. NULLs are written as a NUL character first, which no value holds (`without_nul`), then
    made unquoted empty fields."""
    text = frame.to_csv(index=False, header=False, quoting=csv.QUOTE_ALL, na_rep="\x00")
    return text.replace('"\x00"', "")


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Bulk insert inside the caller's transaction: COPY on PostgreSQL, the driver's executemany
    on SQLite (both skip per-row statement compilation), SQLAlchemy's executemany elsewhere.
    Values are converted chunk by chunk, so memory stays flat however large the frame.

    Text is stored without NUL characters on every database (`without_nul`)."""
    if frame.empty:
        return 0
    dialect = conn.dialect.name
    columns = list(frame.columns)
    chunks = (without_nul(frame.iloc[start : start + CHUNK]) for start in range(0, len(frame), CHUNK))
    if dialect == "postgresql":
        names = ", ".join(f'"{c}"' for c in columns)
        cursor = conn.connection.cursor()
        statement = f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT csv)'
        with cursor.copy(statement) as copy:
            for chunk in chunks:
                copy.write(_copy_csv(_bulk_columns(chunk, dialect)))
    elif dialect == "sqlite":
        sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
        cursor = conn.connection.cursor()
        for chunk in chunks:
            rows = _bulk_columns(chunk, dialect).itertuples(index=False, name=None)
            # sqlite3 takes any iterable of rows; SQLAlchemy's DBAPI protocol asks for a Sequence.
            cursor.executemany(sql, cast(Sequence[Sequence[Any]], rows))
    else:
        for chunk in chunks:
            conn.execute(table.insert(), frame_records(chunk))
    return len(frame)


def ensure_period(conn: Connection, period: Period) -> None:
    """The period's row, inserted unless there, in one statement that leaves a row already there
    alone (`INSERT ... ON CONFLICT DO NOTHING`, on SQLite and PostgreSQL alike): two batches
    creating the same period at once both succeed, whichever inserts it first."""
    values = {"period": period.label, "start_date": period.start, "end_date": period.end}
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        conn.execute(insert(t.periods).values(**values).on_conflict_do_nothing(index_elements=["period"]))
        return
    exists = conn.execute(select(t.periods.c.period).where(t.periods.c.period == period.label)).first()
    if not exists:
        conn.execute(t.periods.insert().values(**values))


def sync_units(conn: Connection, registry: Registry) -> None:
    """Replace the registry snapshot (units are referenced by code only, so this is safe)."""
    conn.execute(delete(t.units))
    conn.execute(
        t.units.insert(),
        [
            {
                "code": u.code,
                "name": u.name,
                "full_name": u.full_name,
                "group_code": u.group,
                "group_name": registry.groups[u.group].name,
                "parent_code": u.parent,
                "level": u.level,
                "active": u.active,
                "registry_version": registry.version,
            }
            for u in registry.units
        ],
    )


def sync_questionnaire_items(conn: Connection, questionnaire: Questionnaire) -> None:
    """The questionnaire's items in order, the key to `survey_responses.answers`/`scores`.

    Written once per questionnaire and never changed: a questionnaire file is never edited (a
    later questionnaire is a new file), so stored arrays keep their meaning."""
    q = t.questionnaire_items
    stored = [
        tuple(row)
        for row in conn.execute(
            select(q.c.position, q.c.item_code)
            .where(q.c.schema_name == questionnaire.name)
            .order_by(q.c.position)
        )
    ]
    items = [(i, item.code) for i, item in enumerate(questionnaire.items())]
    if stored == items:
        return
    if stored:
        raise BizenvError(
            f"questionnaire {questionnaire.name} has other items than when its answers were first stored: "
            "a changed questionnaire is a new file with a new name"
        )
    conn.execute(
        q.insert(),
        [
            {"schema_name": questionnaire.name, "position": i, "item_code": item.code, "label": item.label}
            for i, item in enumerate(questionnaire.items())
        ],
    )


def next_ids(conn: Connection, column: ColumnElement[int], count: int) -> np.ndarray:
    """`count` fresh ids after the column's maximum (the caller holds the write lock)."""
    start = conn.execute(select(func.coalesce(func.max(column), 0))).scalar_one() + 1
    return np.arange(start, start + count, dtype=np.int64)


def lock_for_write(conn: Connection, *tables: Table) -> None:
    """Serialise concurrent loads on PostgreSQL (SQLite already serialises writers)."""
    if conn.dialect.name == "postgresql":
        names = ", ".join(table.name for table in tables)
        conn.exec_driver_sql(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
