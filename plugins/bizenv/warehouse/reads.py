"""Bulk reads: a SELECT straight into a DataFrame through the driver's cursor (no Row objects)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.sql import Select

FETCH_BLOCK = 100_000


def fetch_frame(conn: Connection, statement: Select) -> pd.DataFrame:
    """Columns named as the statement's; values as the driver returns them."""
    # render_postcompile expands `IN (...)` lists into plain parameters the driver understands.
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    parameters = compiled.params
    if compiled.positiontup is not None:  # positional paramstyles (sqlite's "?")
        parameters = tuple(parameters[name] for name in compiled.positiontup)
    columns = [c.name for c in statement.selected_columns]
    cursor = conn.connection.cursor()
    parts = []
    try:
        cursor.execute(str(compiled), parameters)
        # In blocks: a block's rows become compact columns before the next block is fetched, so
        # the driver's Python tuples never hold a whole period (a gigabyte at a million rows).
        while rows := cursor.fetchmany(FETCH_BLOCK):
            parts.append(pd.DataFrame.from_records(rows, columns=columns))
    finally:
        cursor.close()
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
