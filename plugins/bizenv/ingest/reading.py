"""Read a CSV or XLSX file into a frame of untouched strings, detecting the text encoding."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bizenv.errors import BizenvError

# Excel on Chinese Windows writes GBK/GB18030; GB18030 is a superset of GBK and GB2312.
ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class RawTable:
    """A file's rows as strings, exactly as written, plus what was learnt reading it.

    The frame's index is the row number a spreadsheet shows (the header is row 1), so messages
    point at the row the evaluator sees; wholly blank rows are left out and counted.
    """

    path: Path
    frame: pd.DataFrame
    file_format: str
    encoding: str | None
    batch_id: str
    blank_rows: int = 0
    # CSV only: how many fields each row of `frame` has on its line (same index). pandas pads a
    # row with fewer fields than the header with blank cells, so only this tells a short or
    # truncated row from one whose last cells are blank. None for XLSX (a sheet has no rows
    # shorter than its header: missing cells are blank cells).
    fields: pd.Series | None = None
    # XLSX only, and only when a sheet has formulas or error values: True where a cell holds a formula
    # with no usable value stored (a workbook written by a program and never calculated, or a
    # formula whose value is an error). pandas reads such a cell blank, which it is not: the
    # answer is there, only not computed. Same index and columns as `frame`.
    uncalculated: pd.DataFrame | None = None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detect_encoding(data: bytes, path: Path) -> str:
    for encoding in ENCODINGS:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise BizenvError("not readable as UTF-8 or GB18030 text", file=str(path))


def read_table(path: Path) -> RawTable:
    """Every cell as a string ('' when blank); refuses empty, unreadable or unknown files."""
    path = Path(path)
    if not path.is_file():
        raise BizenvError("no such file", file=str(path))
    data = path.read_bytes()
    if not data.strip():
        raise BizenvError("the file is empty", file=str(path))
    batch_id = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    uncalculated: pd.DataFrame | None = None
    if suffix in {".xlsx", ".xlsm"} or zipfile.is_zipfile(io.BytesIO(data)):
        frame, encoding, file_format = _read_xlsx(data, path), None, "xlsx"
        fields = None
        cells = cells_as_written(data, path)
        if cells is not None:
            frame, uncalculated = _reconciled(frame, cells)
            _refuse_uncalculated_header(uncalculated, path)
    elif suffix in {".csv", ".txt", ""}:
        encoding = detect_encoding(data, path)
        frame, file_format = _read_csv(data, encoding, path), "csv"
        fields = fields_per_row(data, encoding, len(frame))
    else:
        raise BizenvError(f"unsupported file type {suffix!r} (expected .csv or .xlsx)", file=str(path))
    if frame.empty:
        raise BizenvError("the file is empty", file=str(path))
    header = [str(c).strip() for c in frame.iloc[0]]
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise BizenvError(
                f"column {name!r} appears twice (positions {seen[name]} and {position})",
                file=str(path),
                row=1,
                column=name,
            )
        seen[name] = position
    body = frame.iloc[1:].set_axis(header, axis=1)
    body.index = pd.RangeIndex(2, 2 + len(body))
    blank = (body == "").all(axis=1)
    if uncalculated is not None:
        uncalculated = uncalculated.iloc[1:].set_axis(header, axis=1).set_axis(body.index)
        # A row whose only cells are uncalculated formulas is not blank: it has answers.
        blank &= ~uncalculated.any(axis=1)
        uncalculated = uncalculated[~blank]
    body = body[~blank]
    if body.empty:
        raise BizenvError("the file has a header but no rows", file=str(path))
    if fields is not None:
        fields = fields.iloc[1:].set_axis(pd.RangeIndex(2, 2 + len(fields) - 1))[~blank]
    return RawTable(
        path, body, file_format, encoding, batch_id,
        blank_rows=int(blank.sum()), fields=fields, uncalculated=uncalculated,
    )  # fmt: skip


def require_header(
    table: RawTable, required: list[str], optional: list[str] | tuple = (), *, what: str
) -> None:
    """Refuse the file, naming the first offending column, unless its header has every required
    column and no column beyond the required and optional ones."""
    present = list(table.frame.columns)
    missing = [c for c in required if c not in present]
    unknown = [c for c in present if c not in [*required, *optional]]
    if not missing and not unknown:
        return
    parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
        [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
    )
    raise BizenvError(
        f"{what}: {'; '.join(parts)}", file=str(table.path), row=1, column=(missing or unknown)[0]
    )


def rows_as_json(frame: pd.DataFrame) -> pd.Series:
    """Each row as a JSON object of its original strings (kept for the quarantine report)."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="str")
    # JSON escapes "\n" inside strings, so records are split on it alone (not on U+2028 etc.).
    lines = frame.to_json(orient="records", lines=True, force_ascii=False).rstrip("\n").split("\n")
    return pd.Series(lines, index=frame.index, dtype="str")


# A field in double quotes, starting a line or after a comma; `""` inside is one quote. The
# quotes are only special there, as for pandas; the pattern is unrolled, so it never backtracks.
# A quoted field, at the start of a line or after a comma (it may hold commas and line breaks).
_QUOTED = re.compile(rb'(?<![^,\n])"[^"]*(?:""[^"]*)*"')
_LINE_END = re.compile(rb"\r\n|\r")
_COMMA, _NEWLINE = ord(","), ord("\n")


def fields_per_row(data: bytes, encoding: str, rows: int) -> pd.Series:
    r"""How many fields each row of the CSV has, row for row as `_read_csv` reads them (the
    header first, blank lines included), without a Python loop over the rows.

    Worked on the file's bytes: in UTF-8 and GB18030 alike, the bytes of `,`, `"`, `\r` and `\n`
    never occur inside another character. Quoted fields are cut out in one pass (they may hold
    commas and line breaks), then the commas before each line end are counted at once. This
    follows pandas' defaults (comma, double quote, quotes doubled inside quotes, `\n`, `\r\n`
    or `\r` ending a line). Should a file still split into another number of rows than pandas
    read (a dialect this does not follow), the rows are counted from pandas' own Python parser
    instead, which leaves the fields a short row lacks empty (NaN), unlike the C parser; slower,
    but exact.
    """
    text = _LINE_END.sub(b"\n", data) if b"\r" in data else data
    if b'"' in text:
        text = _QUOTED.sub(b"", text)
    codes = np.frombuffer(text, dtype=np.uint8)
    if text.endswith(b"\n"):
        codes = codes[:-1]
    line_ends = np.append(np.flatnonzero(codes == _NEWLINE), len(codes))
    if len(line_ends) != rows:
        return _fields_by_python_parser(data, encoding)
    commas_before = np.searchsorted(np.flatnonzero(codes == _COMMA), line_ends)
    return pd.Series(np.diff(commas_before, prepend=0) + 1)


def _fields_by_python_parser(data: bytes, encoding: str) -> pd.Series:
    frame = pd.read_csv(
        io.BytesIO(data), encoding=encoding, dtype=str, header=None,
        keep_default_na=False, skip_blank_lines=False, engine="python",
    )  # fmt: skip
    # The fields a row lacks are its last ones; a blank line is one (empty) field.
    return frame.notna().sum(axis=1).clip(lower=1).reset_index(drop=True)


def _read_csv(data: bytes, encoding: str, path: Path) -> pd.DataFrame:
    """Every cell as a string. A row with fewer fields than the header comes back padded with
    blank cells (see `fields_per_row`); a row with more fields than the header is exit 2
    (`malformed CSV (... Expected 19 fields in line 7, saw 20)`): its cells cannot be matched to
    columns."""
    try:
        # Every cell the string as written ('' when blank, never NaN or a number); blank lines
        # are kept, so row numbers are the ones a spreadsheet shows.
        frame = pd.read_csv(
            io.BytesIO(data), encoding=encoding, dtype=str, header=None,
            keep_default_na=False, na_filter=False, skip_blank_lines=False,
        )  # fmt: skip
        return frame.fillna("")
    except pd.errors.ParserError as exc:
        # pandas says e.g. "Expected 12 fields in line 7, saw 13"
        raise BizenvError(f"malformed CSV ({exc})", file=str(path)) from None
    except pd.errors.EmptyDataError:
        raise BizenvError("the file is empty", file=str(path)) from None


# A formula element (`<f>`, `<f t="shared" .../>`, with or without a namespace prefix) in a
# worksheet's XML; nothing else in a worksheet is named `f`. And a cell of type error (`t="e"`).
_FORMULA_OR_ERROR = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?f[\s>/]|<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*\bt="e"')
# Errors openpyxl and pandas may raise on a damaged workbook: a corrupt zip member (zlib), a
# truncated one (EOF), an unsupported compression, or bad XML (ValueError and its kin).
_BAD_WORKBOOK = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError, KeyError, OSError)


def cells_as_written(data: bytes, path: Path) -> pd.DataFrame | None:
    """The first sheet's cells as openpyxl reads them without calculating, by sheet position (row
    1 and column A first): formulas as text starting with "=", error values as their text
    (`#DIV/0!`). None when no worksheet has a formula or an error value (the usual case, found
    from the XML without parsing the sheet).

    pandas reads the value Excel stored with each formula when it last calculated the workbook.
    A workbook written by a program (openpyxl, some exports) and never opened in Excel stores
    none, so its formula cells read blank: answers silently lost. pandas also reads error values
    as blank. This second reading lets `_reconciled` tell both from blank cells."""
    import openpyxl  # type: ignore[import-untyped]  # only for workbooks with formulas or errors

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
            if not any(_FORMULA_OR_ERROR.search(archive.read(name)) for name in sheets):
                return None
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            sheet = book.worksheets[0]
            sheet.reset_dimensions()  # as pandas does: the declared extent may be wrong
            return pd.DataFrame(list(sheet.iter_rows(values_only=True)))
        finally:
            book.close()
    except _BAD_WORKBOOK as exc:
        raise BizenvError(f"not a readable XLSX workbook ({exc})", file=str(path)) from None


def _reconciled(frame: pd.DataFrame, cells: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sheet as pandas read it, with error values written in as text (as a CSV has them, so
    the row checks treat both alike), and the cells holding a formula with no value marked.

    pandas drops trailing rows it read blank, uncalculated ones included: they come back as
    blank rows. Cells beyond the last column pandas read are outside the header's columns."""
    rows = pd.RangeIndex(max(len(frame), len(cells)))
    frame = frame.reindex(index=rows, fill_value="")
    cells = cells.reindex(index=rows, columns=frame.columns)
    blank = frame == ""
    # Column by column: a numpy text array would be as wide as the longest cell in every cell.
    text = cells.apply(lambda column: column.astype("str").where(column.notna(), ""))
    # Text typed as "=1+1" is the same text in both readings, so it is never blank in `frame`.
    formula = text.apply(lambda column: column.str.startswith("=")).astype(bool)
    frame = frame.mask(blank & ~formula & (text != ""), text)
    return frame, formula & blank


def _refuse_uncalculated_header(uncalculated: pd.DataFrame, path: Path) -> None:
    """A header cell that is an uncalculated formula has no column name: exit 2 naming it."""
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    header = uncalculated.iloc[0]
    if header.any():
        position = int(header.to_numpy().argmax())
        raise BizenvError(
            "the header cell holds a formula with no calculated value: open the workbook in Excel "
            "and save it, or type the column name",
            file=str(path),
            row=1,
            column=get_column_letter(position + 1),
        )


def _read_xlsx(data: bytes, path: Path) -> pd.DataFrame:
    try:
        # Text as written: no cell text (`NA`, `N/A`, `NULL`) read as missing.
        frame = pd.read_excel(
            io.BytesIO(data), sheet_name=0, dtype=str, header=None, engine="openpyxl", keep_default_na=False
        )
    except _BAD_WORKBOOK as exc:
        raise BizenvError(f"not a readable XLSX workbook ({exc})", file=str(path)) from None
    return frame.fillna("")
