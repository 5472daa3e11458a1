"""Read a CSV or XLSX file into a frame of untouched strings, detecting the text encoding."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

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
    if suffix in {".xlsx", ".xlsm"} or zipfile.is_zipfile(io.BytesIO(data)):
        frame, encoding, file_format = _read_xlsx(data, path), None, "xlsx"
    elif suffix in {".csv", ".txt", ""}:
        encoding = detect_encoding(data, path)
        frame, file_format = _read_csv(data, encoding, path), "csv"
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
    body = body[~blank]
    if body.empty:
        raise BizenvError("the file has a header but no rows", file=str(path))
    return RawTable(path, body, file_format, encoding, batch_id, blank_rows=int(blank.sum()))


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


def _read_csv(data: bytes, encoding: str, path: Path) -> pd.DataFrame:
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


def _read_xlsx(data: bytes, path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=str, header=None, engine="openpyxl")
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as exc:
        raise BizenvError(f"not a readable XLSX workbook ({exc})", file=str(path)) from None
    return frame.fillna("")
