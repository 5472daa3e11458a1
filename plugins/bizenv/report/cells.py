"""Cells bound for a spreadsheet (CSV or XLSX): text that a spreadsheet program would read as
a formula is written with a leading single quote (the OWASP CSV-injection rule)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pandas.api.types import is_object_dtype, is_string_dtype

# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice, Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# xlsxwriter options: write strings as strings, never as formulas, and never as links (by
# default it turns text starting http://, mailto: or external: into a hyperlink, which a click
# follows: to a web page, or with external: to a file on the reader's machine or network).
XLSX_OPTIONS: dict[str, Any] = {"strings_to_formulas": False, "strings_to_urls": False}


def safe_cell(value: object) -> object:
    """`value` with a leading `'` when it is text starting like a formula; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore_cell(value: object) -> object:
    """`safe_cell` undone, for text read back from a workbook bizenv wrote: the one leading `'`
    before a formula start dropped again; anything else as is. (Text a person types is never
    read with a leading quote: a spreadsheet keeps the quote that marks typed text as a cell
    style, not in the value.)"""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def safe_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text columns and headers hold no formula-like cells; numbers are
    left alone. Categorical text is made plain text first: its categories are input too."""
    out = frame.copy()
    for position in range(out.shape[1]):
        series = out.iloc[:, position]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        if is_object_dtype(series.dtype) or is_string_dtype(series.dtype):
            out.isetitem(position, series.map(safe_cell).array)
    out.columns = pd.Index([safe_cell(c) for c in out.columns])
    return out
