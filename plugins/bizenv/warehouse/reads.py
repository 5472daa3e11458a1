"""Bulk reads: a SELECT straight into a DataFrame through the driver's cursor (no Row objects)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.sql import Select


def fetch_frame(conn: Connection, statement: Select) -> pd.DataFrame:
    """Columns named as the statement's; values as the driver returns them."""
    # render_postcompile expands `IN (...)` lists into plain parameters the driver understands.
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    parameters = compiled.params
    if compiled.positiontup is not None:  # positional paramstyles (sqlite's "?")
        parameters = tuple(parameters[name] for name in compiled.positiontup)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), parameters)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return pd.DataFrame.from_records(rows, columns=[c.name for c in statement.selected_columns])
