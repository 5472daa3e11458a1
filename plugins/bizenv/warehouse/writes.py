"""Bulk, idempotent writes: frames in, rows out, per period inside the caller's transaction.

Text is stored without NUL characters (U+0000), on every database: PostgreSQL cannot store them,
so `insert_frame` strips them for SQLite too, rather than let the two warehouses differ."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
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


def _sqlite_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as sqlite3 wants them: timestamps as text in the format SQLAlchemy itself writes,
    booleans as 1 and 0, missing as None."""
    out = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            series = series.dt.strftime("%Y-%m-%d %H:%M:%S.%f").astype(object)
        elif pd.api.types.is_bool_dtype(series):
            series = series.map({True: 1, False: 0})
        else:
            series = series.astype(object)
        out[column] = series.where(frame[column].notna(), None)
    return pd.DataFrame(out, index=frame.index)


def _copy_csv(frame: pd.DataFrame) -> bytes:
    """Rows as COPY's CSV format reads them: every value quoted, NULL an unquoted empty field, so
    no text (`\\N`, `NULL`, the empty string) can be taken for a NULL. Written by Arrow's CSV
    writer, which formats a chunk in C++ without a Python object per cell."""
    columns = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            wall = series.dt.tz_localize(None) if series.dt.tz else series
            values = pa.array(wall).cast(pa.timestamp("us"))
        elif pd.api.types.is_numeric_dtype(series):  # booleans included
            values = pa.array(series, from_pandas=True)
        else:
            values = pa.array(series.astype("str"), type=pa.large_string(), from_pandas=True)
        columns[str(name)] = values
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(
        pa.table(columns),
        sink,
        write_options=pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"),
    )
    return sink.getvalue().to_pybytes()


def insert_frame(
    conn: Connection, table: Table, frame: pd.DataFrame, *, constants: dict[str, Any] | None = None
) -> int:
    """Bulk insert inside the caller's transaction: COPY on PostgreSQL, the driver's executemany
    on SQLite (both skip per-row statement compilation), SQLAlchemy's executemany elsewhere.
    Values are converted chunk by chunk, so memory stays flat however large the frame;
    `constants` (column → the value of every row) are added chunk by chunk too, rather than as
    a million copies of one batch id.

    Text is stored without NUL characters on every database (`without_nul`)."""
    if frame.empty:
        return 0
    dialect = conn.dialect.name
    constants = constants or {}
    columns = [*frame.columns, *constants]
    chunks = (
        without_nul(frame.iloc[start : start + CHUNK].assign(**constants))
        for start in range(0, len(frame), CHUNK)
    )
    if dialect == "postgresql":
        from psycopg.copy import QueuedLibpqWriter

        names = ", ".join(f'"{c}"' for c in columns)
        cursor: Any = conn.connection.cursor()  # psycopg's own cursor, behind the DBAPI protocol
        statement = f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT csv)'
        # The queued writer sends from a thread: the server parses one chunk while the next is
        # formatted, instead of each side waiting for the other.
        with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            for chunk in chunks:
                copy.write(_copy_csv(chunk))
    elif dialect == "sqlite":
        sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
        cursor = conn.connection.cursor()
        for chunk in chunks:
            rows = _sqlite_columns(chunk).itertuples(index=False, name=None)
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
