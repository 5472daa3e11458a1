"""Cells bound for a spreadsheet (CSV or XLSX): text that a spreadsheet program would read as
a formula is written with a leading single quote (the OWASP CSV-injection rule)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pandas.api.types import is_object_dtype, is_string_dtype

# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice, Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# xlsxwriter options: write strings as strings, never as formulas.
XLSX_OPTIONS: dict[str, Any] = {"strings_to_formulas": False}


def safe_cell(value: object) -> object:
    """`value` with a leading `'` when it is text starting like a formula; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text columns hold no formula-like cells; numbers are left alone."""
    out = frame.copy()
    for position in range(out.shape[1]):
        series = out.iloc[:, position]
        if is_object_dtype(series.dtype) or is_string_dtype(series.dtype):
            out.isetitem(position, series.map(safe_cell).array)
    return out
