"""A corpus of bad input, each case loaded through the `bizenv` command on SQLite and PostgreSQL.

Every case is a file built in code (a few clean rows plus the fault, or a good file mutated), an
id, and the outcome the contract promises (docs/contracts.md):

- `Unusable`: exit 2, one line on stderr naming the file (and the row and column where known),
  no traceback, and the JSON error object as stdout's last line;
- `Loaded`: exit 0 (or 1 when a gate refuses the batch) with exactly these reason counts, and
  every row in accounted for: `rows_in == accepted + quarantined`, as stored in the warehouse.

Survey cases pad the fault with `GOOD` clean rows, so one or two faulty rows stay under the
gate's 20% (`policy.yaml`); a case that means to trip the gate says so (`Loaded(code=1)`).
A case marked `defect` is a known production bug: it runs as a strict xfail until fixed.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import func, select

from bizenv.ingest import canonical
from bizenv.periods import Period
from bizenv.schemas import load_indicators, load_questionnaire, load_registry
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import make_engine, migrate
from tests.builders import (
    LABELS,
    credit_code,
    run_cli,
    survey_row,
    unit_sample,
    wenjuanxing_export,
)
from tests.conftest import pg_schema

HEADER = canonical.expected_columns(load_questionnaire())
# Clean rows in every survey case: a fault of one or two rows stays well under the gate.
GOOD = 20
# Grid units of the 问卷星 cases, as the questions name them.
WJX_UNITS = ["市发改委", "人行鄂州中支"]
CITY = ZoneInfo("Asia/Shanghai")
NOW = datetime.now(CITY).replace(microsecond=0)
THIS_PERIOD = Period.containing(NOW).label


# --- expectations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unusable:
    """Exit 2: one line on stderr naming the file, plus the row and column when given here."""

    says: str  # a part of the message
    row: int | None = None
    column: str | None = None


@dataclass(frozen=True)
class Loaded:
    """Exit `code` (0 done, 1 refused by a gate) with exactly these reason counts."""

    reasons: dict[str, int] = field(default_factory=dict)
    code: int = 0
    rows_in: int | None = None  # when the case is about how many rows there are


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # canonical-csv, canonical-xlsx, wenjuanxing, metrics
    build: Callable[[Path], Path]  # writes the file into a folder, returns its path
    expect: Unusable | Loaded
    period: str = "2026H1"
    defect: str | None = None  # a production defect this case shows: a strict xfail until fixed

    def param(self):
        marks = [pytest.mark.xfail(strict=True, reason=self.defect)] if self.defect else []
        return pytest.param(self, id=f"{self.kind}:{self.id}", marks=marks)


# --- canonical survey files ---------------------------------------------------------------------


def good(n: int = GOOD) -> list[dict]:
    return unit_sample("市发改委", n, "满意")


def bad(i: int = 0, **overrides) -> dict:
    """A row of respondent 900 + i (never one of the clean rows) with the given cells."""
    return survey_row(respondent=900 + i, **overrides)


def answers(*values: str) -> dict:
    """Item cells: the given answers first, 满意 for the rest."""
    return dict(zip(LABELS, [*values, *["满意"] * (len(LABELS) - len(values))], strict=True))


def csv_text(rows: list[dict]) -> str:
    return pd.DataFrame(rows)[HEADER].to_csv(index=False, lineterminator="\n")


def padded(*rows: dict, n: int = GOOD) -> list[dict]:
    return good(n) + list(rows)


def csv_rows(*rows: dict, n: int = GOOD, name: str = "survey.csv", encoding: str = "utf-8"):
    """A canonical CSV of `n` clean rows and `rows`."""

    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(csv_text(padded(*rows, n=n)).encode(encoding))
        return path

    return build


def csv_bytes(make: Callable[[bytes], bytes], *rows: dict, name: str = "survey.csv", n: int = GOOD):
    """A canonical CSV of clean rows (and `rows`), its UTF-8 bytes passed through `make`."""

    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(make(csv_text(padded(*rows, n=n)).encode("utf-8")))
        return path

    return build


def csv_lines(edit: Callable[[list[str]], list[str]], *rows: dict, end: str = "\n"):
    """A canonical CSV whose lines (header first) are edited by `edit`."""
    return csv_bytes(
        lambda data: end.join(edit(data.decode("utf-8").split("\n")[:-1])).encode("utf-8") + end.encode(),
        *rows,
    )


def raw_file(name: str, data: bytes):
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return build


def xlsx_sheets(name: str = "survey.xlsx", **sheets: pd.DataFrame):
    """A workbook with these sheets, in order (a frame's columns are its header)."""

    def build(folder: Path) -> Path:
        path = folder / name
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for sheet, frame in sheets.items():
                frame.to_excel(writer, sheet_name=sheet, index=False)
        return path

    return build


def xlsx_rows(*rows: dict, n: int = GOOD):
    return xlsx_sheets(问卷=pd.DataFrame(padded(*rows, n=n))[HEADER])


def xlsx_cells(edit: Callable[[Worksheet], object], *rows: dict):
    """A canonical workbook of clean rows (and `rows`) edited cell by cell with openpyxl."""

    def build(folder: Path) -> Path:
        path = xlsx_rows(*rows)(folder)
        book = openpyxl.load_workbook(path)
        edit(book.active)
        book.save(path)
        return path

    return build


def cut_xlsx(folder: Path) -> Path:
    path = xlsx_rows()(folder)
    path.write_bytes(path.read_bytes()[:-200])
    return path


def damaged_sheet(folder: Path) -> Path:
    """A workbook whose sheet's compressed data is damaged (a bad disk, a download cut and resumed)."""
    path = xlsx_rows()(folder)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as book:
        at = book.getinfo("xl/worksheets/sheet1.xml").header_offset
    # The member's data follows its 30-byte local header, its name and its extra field.
    start = (
        at
        + 30
        + int.from_bytes(data[at + 26 : at + 28], "little")
        + int.from_bytes(data[at + 28 : at + 30], "little")
    )
    data[start : start + 4] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    return path


def zip_of(**members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def merged_header(sheet: Worksheet) -> None:
    """A title merged over the header's first cells, as a report-style sheet has."""
    sheet.insert_rows(1)
    sheet["A1"] = "企业评议机关部门满意度调查"
    sheet.merge_cells("A1:H1")


def header_merged_over_items(sheet: Worksheet) -> None:
    """The item columns' header cells merged into one (only the first keeps its label)."""
    first = HEADER.index(LABELS[0]) + 1
    sheet.merge_cells(start_row=1, start_column=first, end_row=1, end_column=first + len(LABELS) - 1)


def set_cell(column: str, value, row: int = GOOD + 2):
    def edit(sheet: Worksheet) -> None:
        sheet.cell(row=row, column=HEADER.index(column) + 1, value=value)

    return edit


def replace_header(old: str, new: str):
    return lambda lines: [lines[0].replace(old, new, 1), *lines[1:]]


def insert_line(at: int, line: str):
    return lambda lines: [*lines[:at], line, *lines[at:]]


def append_to_line(at: int, text: str):
    return lambda lines: [*lines[:at], lines[at] + text, *lines[at + 1 :]]


def mixed_line_ends(data: bytes) -> bytes:
    lines = data.split(b"\n")
    ends = [b"\r\n", b"\n", b"\r"]
    return b"".join(line + ends[i % 3] for i, line in enumerate(lines[:-1]))


def utf8_with_one_gbk_row(data: bytes) -> bytes:
    """A UTF-8 file with one row pasted in from a GBK file."""
    text = data.decode("utf-8")
    head, last = text.rstrip("\n").rsplit("\n", 1)
    return (head + "\n").encode("utf-8") + (last + "\n").encode("gbk")


BAD_DATES = [
    "2026-13-01T10:00:00",
    "2026-02-30 10:00:00",
    "2026/02/30 10:00:00",
    "2026-05-10T25:00:00",
    "10/05/2026 10:00",
    "2026年5月10日",
    "46152.4",  # an Excel serial number
    "yesterday",
    "",
    "2026-05-10T10:00:00+25:00",
]
BAD_DURATIONS = ["-5", "五分钟", "5分钟", "300s", "1,200", "nan", "inf", "--", "3e", "0x1F"]
OFF_SCALE_NUMBERS = ["0", "6", "-1", "3.5", "10", "4.5", "５", "inf", "NaN", "1e400"]
OFF_SCALE_LABELS = ["很满意", "较满意", "satisfied", "满 意 度", "非常满意！", "差"]
# Comments and industries taken as text: SQL nulls, formulas, control characters, a long essay.
FREE_TEXT = [
    "\\N",
    "NULL",
    "None",
    "nan",
    "#N/A",
    "\\.",
    "=1+1",
    "@SUM(A1:A9)",
    "+cmd|' /C calc'!A0",
    "-2+3",
    '=HYPERLINK("http://x","点此")',
    "a\x0bb\x0cc\x1cd\x85e\u2028f",
    "很好" * 100_000,
]
MISSING_ANSWERS = ["不了解", "未接触", "不适用", "(跳过)", "(空)", "", "  "]
UNKNOWN_UNITS = ["市发展委员会", "市發改委", "市发改\u200b委", "市发改委" * 5000]
UNIT_FORMS = [
    "发改委",
    "ndrc",
    "鄂州市发展和改革委员会",
    " 市 发改委 ",
    "市发展改革委",
    "NDRC",
    "市发改委\u3000",
]

CANONICAL_CSV = [
    # --- encodings and bytes
    Case(
        "utf16-with-bom",
        "canonical-csv",
        csv_bytes(lambda d: d.decode("utf-8").encode("utf-16")),
        Unusable("not readable as UTF-8 or GB18030"),
    ),
    Case(
        "utf16le-without-bom",
        "canonical-csv",
        csv_bytes(lambda d: d.decode("utf-8").encode("utf-16-le")),
        Unusable("not readable as UTF-8 or GB18030"),
    ),
    Case(
        "hz-gb2312-7-bit-read-as-utf8",
        "canonical-csv",
        csv_rows(encoding="hz"),
        Unusable("header does not match", row=1, column=LABELS[0]),
    ),
    Case("gb18030", "canonical-csv", csv_rows(bad(comment="办事很方便"), encoding="gb18030"), Loaded()),
    Case(
        "utf8-with-one-gbk-row",
        "canonical-csv",
        csv_bytes(utf8_with_one_gbk_row, bad()),
        Unusable("not readable as UTF-8 or GB18030"),
    ),
    Case("utf8-bom", "canonical-csv", csv_bytes(lambda d: b"\xef\xbb\xbf" + d), Loaded()),
    Case(
        "utf8-bom-twice",
        "canonical-csv",
        csv_bytes(lambda d: b"\xef\xbb\xbf\xef\xbb\xbf" + d),
        Loaded(),
    ),
    Case(
        "bom-in-the-middle",
        "canonical-csv",
        csv_lines(insert_line(3, "\ufeff" + csv_text([bad(1)]).split("\n")[1]), bad()),
        Loaded({"bad_credit_code": 1}),
    ),
    Case(
        "binary-garbage",
        "canonical-csv",
        raw_file("survey.csv", bytes(range(256)) * 8),
        Unusable("not readable as UTF-8 or GB18030"),
    ),
    Case(
        "png-named-csv",
        "canonical-csv",
        raw_file("survey.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)),
        Unusable("header does not match", row=1, column="respondent_id"),
    ),
    # --- lines and fields
    Case(
        "crlf-lf-and-cr-line-ends-and-no-final-one",
        "canonical-csv",
        csv_bytes(lambda d: mixed_line_ends(d).rstrip(b"\r\n"), bad()),
        Loaded(rows_in=GOOD + 1),
    ),
    Case(
        "extra-field",
        "canonical-csv",
        csv_lines(append_to_line(5, ",extra")),
        Unusable("malformed CSV (Error tokenizing data. C error: Expected 19 fields in line 6, saw 20"),
    ),
    Case(
        "trailing-comma-on-every-line",
        "canonical-csv",
        csv_lines(lambda lines: [line + "," for line in lines]),
        Unusable("unknown column(s)", row=1, column=""),
    ),
    Case(
        "short-row",
        "canonical-csv",
        csv_lines(lambda lines: [*lines[:-1], ",".join(lines[-1].split(",")[:12])], bad()),
        Loaded({"short_row": 1}),
    ),
    Case(
        "truncated-last-row",
        "canonical-csv",
        csv_bytes(lambda d: d[: d.rstrip(b"\n").rfind(b",", 0, -20)], bad()),
        Loaded({"short_row": 1}, rows_in=GOOD + 1),
    ),
    Case(
        "truncated-inside-a-quoted-comment",
        "canonical-csv",
        csv_bytes(lambda d: d.rstrip(b'"\n'), bad(comment="办事快,态度好\n下次还来")),
        Unusable("malformed CSV (Error tokenizing data. C error: EOF inside string"),
    ),
    Case(
        "quoted-newlines-and-commas",
        "canonical-csv",
        csv_rows(bad(comment='第一行\n第二行,"引号"\r\n第三行'), bad(1, industry="制造,加工\n业")),
        Loaded(rows_in=GOOD + 2),
    ),
    Case(
        "newline-inside-an-answer",
        "canonical-csv",
        csv_rows(bad(**answers("满\n意"))),
        Loaded({"off_scale": 1}),
    ),
    Case(
        "stray-quotes-in-unquoted-and-after-quoted-comments",
        "canonical-csv",
        # The comments (last, empty cells) of the last two rows become ab"c and "很好"啊.
        csv_lines(lambda lines: [*lines[:-2], lines[-2] + 'ab"c', lines[-1] + '"很好"啊'], bad(0), bad(1)),
        Loaded(rows_in=GOOD + 2),
    ),
    Case(
        "dos-end-of-file-mark",
        "canonical-csv",
        csv_bytes(lambda d: d + b"\x1a", bad()),
        Loaded({"bad_credit_code": 1, "bad_submitted_at": 1, "missing_unit": 1, "short_row": 1}),
    ),
    Case(
        "excel-sep-hint-line",
        "canonical-csv",
        csv_lines(insert_line(0, "sep=,")),
        Unusable("malformed CSV (Error tokenizing data. C error: Expected 2 fields in line 2, saw 19"),
    ),
    Case(
        "semicolon-separated",
        "canonical-csv",
        csv_bytes(lambda d: d.replace(b",", b";")),
        Unusable("missing column(s) respondent_id", row=1, column="respondent_id"),
    ),
    Case(
        "tab-separated-txt",
        "canonical-csv",
        csv_bytes(lambda d: d.replace(b",", b"\t"), name="survey.txt"),
        Unusable("missing column(s) respondent_id", row=1, column="respondent_id"),
    ),
    # --- the header
    Case(
        "missing-column",
        "canonical-csv",
        csv_lines(lambda lines: [",".join(line.split(",")[1:]) for line in lines]),
        Unusable("missing column(s) respondent_id", row=1, column="respondent_id"),
    ),
    Case(
        "duplicate-column",
        "canonical-csv",
        csv_lines(replace_header("industry", "district")),
        Unusable("column 'district' appears twice (positions 6 and 7)", row=1, column="district"),
    ),
    Case(
        "unknown-column",
        "canonical-csv",
        csv_lines(replace_header("comment", "remarks")),
        Unusable("missing column(s) comment; unknown column(s) remarks", row=1, column="comment"),
    ),
    Case(
        "header-in-another-case",
        "canonical-csv",
        csv_lines(replace_header("respondent_id", "Respondent_ID")),
        Unusable("missing column(s) respondent_id", row=1, column="respondent_id"),
    ),
    Case(
        "header-in-chinese",
        "canonical-csv",
        csv_lines(replace_header("respondent_id", "统一社会信用代码")),
        Unusable("unknown column(s) 统一社会信用代码", row=1, column="respondent_id"),
    ),
    Case(
        "header-cells-padded-with-spaces",
        "canonical-csv",
        csv_lines(lambda lines: [",".join(f" {c} " for c in lines[0].split(",")), *lines[1:]]),
        Loaded(),
    ),
    Case(
        "title-line-above-the-header",
        "canonical-csv",
        csv_lines(insert_line(0, "企业评议机关部门满意度调查")),
        Unusable("malformed CSV (Error tokenizing data. C error: Expected 1 fields in line 2, saw 19"),
    ),
    Case(
        "columns-reordered",
        "canonical-csv",
        raw_file("survey.csv", pd.DataFrame(good())[HEADER[::-1]].to_csv(index=False).encode()),
        Loaded(),
    ),
    # --- empty files and blank rows
    Case("empty-file", "canonical-csv", raw_file("survey.csv", b""), Unusable("the file is empty")),
    Case(
        "whitespace-only",
        "canonical-csv",
        raw_file("survey.csv", b" \r\n\t\n  \n"),
        Unusable("the file is empty"),
    ),
    Case(
        "bom-only",
        "canonical-csv",
        raw_file("survey.csv", b"\xef\xbb\xbf"),
        Unusable("the file is empty"),
    ),
    Case(
        "header-only",
        "canonical-csv",
        raw_file("survey.csv", (",".join(HEADER) + "\n").encode()),
        Unusable("the file has a header but no rows"),
    ),
    Case(
        "header-and-blank-rows-only",
        "canonical-csv",
        raw_file("survey.csv", (",".join(HEADER) + "\n" + "," * 18 + "\n\n" + "," * 18 + "\n").encode()),
        Unusable("the file has a header but no rows"),
    ),
    Case(
        "blank-rows-between",
        "canonical-csv",
        csv_lines(lambda lines: [*lines[:3], "", "," * 18, *lines[3:], "", ""], bad()),
        Loaded(rows_in=GOOD + 1),
    ),
    # --- units
    Case(
        "unknown-units",
        "canonical-csv",
        csv_rows(*[bad(i, unit=u) for i, u in enumerate(UNKNOWN_UNITS)], n=40),
        Loaded({"unknown_unit": len(UNKNOWN_UNITS)}),
    ),
    Case(
        "unit-alias-code-full-name-spacing-case",
        "canonical-csv",
        csv_rows(*[bad(i, unit=u) for i, u in enumerate(UNIT_FORMS)]),
        Loaded(),
    ),
    Case("blank-unit", "canonical-csv", csv_rows(bad(unit=" ")), Loaded({"missing_unit": 1})),
    # --- respondent keys
    Case(
        "credit-code-bad-check-character",
        "canonical-csv",
        csv_rows(bad(respondent_id=credit_code(900)[:17] + ("0" if credit_code(900)[17] != "0" else "1"))),
        Loaded({"bad_credit_code": 1}),
    ),
    Case(
        "credit-code-17-and-19-characters",
        "canonical-csv",
        csv_rows(bad(0, respondent_id=credit_code(900)[:17]), bad(1, respondent_id=credit_code(901) + "0")),
        Loaded({"bad_credit_code": 2}),
    ),
    Case(
        "credit-code-characters-outside-the-alphabet",
        "canonical-csv",
        csv_rows(
            bad(0, respondent_id="91420700IOZSV00000"),
            bad(1, respondent_id=credit_code(901).translate({c: c + 0xFEE0 for c in range(48, 58)})),
            bad(2, respondent_id="9.14207E+17"),  # as Excel shows an 18-digit number
        ),
        Loaded({"bad_credit_code": 3}),
    ),
    Case(
        "credit-code-lower-case-and-spaces-accepted",
        "canonical-csv",
        csv_rows(bad(respondent_id=f"  {credit_code(990).lower()} ")),
        Loaded(),
    ),
    Case(
        "same-respondent-in-upper-and-lower-case",
        "canonical-csv",
        csv_rows(bad(respondent_id=credit_code(0).lower())),
        Loaded({"duplicate": 1}),
    ),
    Case(
        "missing-key", "canonical-csv", csv_rows(bad(respondent_id="")), Loaded({"missing_respondent_key": 1})
    ),
    Case(
        "duplicate-respondent-and-unit",
        "canonical-csv",
        csv_rows(bad(submitted_at="2026-05-11T10:00:00"), bad(submitted_at="2026-05-10T09:00:00")),
        Loaded({"duplicate": 1}),
    ),
    Case(
        "respondent-rating-26-units",
        "canonical-csv",
        csv_rows(*[bad(unit=u.code) for u in load_registry().units[:26]], n=120),
        Loaded({"too_many_units": 26}),
    ),
    # --- answers
    Case(
        "off-scale-numbers",
        "canonical-csv",
        csv_rows(*[bad(i, **answers(v)) for i, v in enumerate(OFF_SCALE_NUMBERS)], n=40),
        Loaded({"off_scale": len(OFF_SCALE_NUMBERS)}),
    ),
    Case(
        "off-scale-labels",
        "canonical-csv",
        csv_rows(*[bad(i, **answers("满意", v)) for i, v in enumerate(OFF_SCALE_LABELS)], n=40),
        Loaded({"off_scale": len(OFF_SCALE_LABELS)}),
    ),
    Case(
        "missing-labels-are-missing-answers",
        "canonical-csv",
        csv_rows(*[bad(i, **answers(*[v] * 10)) for i, v in enumerate(MISSING_ANSWERS)]),
        Loaded(),
    ),
    Case(
        "every-row-off-scale-trips-the-gate",
        "canonical-csv",
        csv_rows(*[bad(i, **answers("7")) for i in range(10)], n=10),
        Loaded({"off_scale": 10}, code=1),
    ),
    # --- text cells
    Case(
        "nul-bytes",
        "canonical-csv",
        csv_rows(
            bad(0, comment="营商\x00环境"),
            bad(1, industry="\x00"),
            bad(2, respondent_id=credit_code(902) + "\x00"),
        ),
        Loaded({"bad_credit_code": 1}),
    ),
    Case(
        "free-text-cells-hold-anything",
        "canonical-csv",
        csv_rows(*[bad(i, comment=text, industry=text) for i, text in enumerate(FREE_TEXT)]),
        Loaded(),
    ),
    Case(
        "formula-looking-answers-and-unit",
        "canonical-csv",
        csv_rows(bad(0, **answers("=1+1")), bad(1, **answers("@SUM(A1)")), bad(2, unit="=市发改委")),
        Loaded({"off_scale": 2, "unknown_unit": 1}),
    ),
    # --- times
    Case(
        "dates-in-bad-forms",
        "canonical-csv",
        csv_rows(*[bad(i, submitted_at=d) for i, d in enumerate(BAD_DATES)], n=60),
        Loaded({"bad_submitted_at": len(BAD_DATES)}),
    ),
    Case(
        "dates-in-accepted-forms",
        "canonical-csv",
        csv_rows(
            *[
                bad(i, submitted_at=d)
                for i, d in enumerate(
                    ["2026-05-10", "2026/5/10 8:00:00", "2026-05-10T02:00:00Z", "2026-05-10 10:00:00+08:00"]
                )
            ]
        ),
        Loaded(),
    ),
    Case(
        "outside-period-and-far-future",
        "canonical-csv",
        csv_rows(
            bad(0, submitted_at="2025-12-31T23:59:59"),
            bad(1, submitted_at="2026-08-15T00:00:00"),  # after the 45 days of fieldwork grace
            bad(2, submitted_at="2099-01-01T00:00:00"),
            n=40,
        ),
        Loaded({"outside_period": 3, "future_submitted_at": 1}),
    ),
    Case(
        "later-than-the-load-time",
        "canonical-csv",
        csv_rows(
            *[survey_row(respondent=i, submitted_at=NOW.isoformat(timespec="seconds")) for i in range(GOOD)],
            bad(submitted_at=(NOW + timedelta(days=3)).isoformat(timespec="seconds")),
            n=0,
        ),
        Loaded({"future_submitted_at": 1}),
        period=THIS_PERIOD,
    ),
    Case(
        "now-and-today-as-dates",
        "canonical-csv",
        csv_rows(
            *[survey_row(respondent=i, submitted_at=NOW.isoformat(timespec="seconds")) for i in range(GOOD)],
            bad(0, submitted_at="now"),
            bad(1, submitted_at="today"),
            n=0,
        ),
        Loaded({"bad_submitted_at": 2}),
        period=THIS_PERIOD,
    ),
    # --- durations
    Case(
        "durations-malformed",
        "canonical-csv",
        csv_rows(*[bad(i, duration_seconds=d) for i, d in enumerate(BAD_DURATIONS)], n=60),
        Loaded({"bad_duration": len(BAD_DURATIONS)}),
    ),
    Case(
        "duration-zero-is-a-speeder",
        "canonical-csv",
        csv_rows(bad(duration_seconds="0"), bad(1, duration_seconds="1秒")),
        Loaded({"speeder": 2}),
    ),
    # --- attributes
    Case(
        "attribute-values-not-allowed",
        "canonical-csv",
        csv_rows(bad(0, enterprise_size="特大型"), bad(1, district="武昌区"), bad(2, ownership="private")),
        Loaded({"attribute_not_allowed": 3}),
    ),
    # --- file types
    Case(
        "txt-extension",
        "canonical-csv",
        csv_rows(bad(), name="survey.txt"),
        Loaded(),
    ),
    Case(
        "json-extension",
        "canonical-csv",
        raw_file("survey.json", b'[{"respondent_id": "x"}]'),
        Unusable("unsupported file type '.json' (expected .csv or .xlsx)"),
    ),
    Case(
        "xls-extension",
        "canonical-csv",
        csv_rows(name="survey.xls"),
        Unusable("unsupported file type '.xls' (expected .csv or .xlsx)"),
    ),
    Case(
        "csv-named-xlsx",
        "canonical-csv",
        csv_rows(name="survey.xlsx"),
        Unusable("not a readable XLSX workbook"),
    ),
]

CANONICAL_XLSX = [
    Case(
        "workbook-named-csv",
        "canonical-xlsx",
        xlsx_sheets("survey.csv", 问卷=pd.DataFrame(good())[HEADER]),
        Loaded(),
    ),
    Case(
        "data-on-the-second-sheet",
        "canonical-xlsx",
        xlsx_sheets(说明=pd.DataFrame({"说明": ["请在第二页填写"]}), 问卷=pd.DataFrame(good())[HEADER]),
        Unusable("header does not match", row=1, column="respondent_id"),
    ),
    Case(
        "other-sheets-after-the-data",
        "canonical-xlsx",
        xlsx_sheets(问卷=pd.DataFrame(good())[HEADER], 草稿=pd.DataFrame({"x": ["垃圾"] * 3})),
        Loaded(),
    ),
    Case(
        "header-in-the-second-row",
        "canonical-xlsx",
        xlsx_cells(lambda sheet: sheet.insert_rows(1)),
        Unusable("column '' appears twice (positions 1 and 2)", row=1, column=""),
    ),
    Case(
        "empty-column-inside-the-table",
        "canonical-xlsx",
        xlsx_cells(lambda sheet: sheet.insert_cols(3)),
        Unusable("unknown column(s)", row=1, column=""),
    ),
    Case(
        "empty-first-sheet",
        "canonical-xlsx",
        xlsx_sheets(Sheet1=pd.DataFrame(), 问卷=pd.DataFrame(good())[HEADER]),
        Unusable("the file is empty"),
    ),
    Case(
        "header-only",
        "canonical-xlsx",
        xlsx_sheets(问卷=pd.DataFrame(columns=HEADER)),
        Unusable("the file has a header but no rows"),
    ),
    Case(
        "merged-title-above-the-header",
        "canonical-xlsx",
        xlsx_cells(merged_header),
        Unusable("column '' appears twice (positions 2 and 3)", row=1, column=""),
    ),
    Case(
        "merged-item-header",
        "canonical-xlsx",
        xlsx_cells(header_merged_over_items),
        Unusable("column '' appears twice", row=1, column=""),
    ),
    Case(
        "truncated-workbook",
        "canonical-xlsx",
        cut_xlsx,
        Unusable("not a readable XLSX workbook"),
    ),
    Case(
        "damaged-compressed-sheet",
        "canonical-xlsx",
        damaged_sheet,
        Unusable("not a readable XLSX workbook"),
    ),
    Case(
        "password-protected-workbook",
        "canonical-xlsx",
        # An encrypted workbook (or an old .xls) is an OLE2 compound file, not a zip.
        raw_file("survey.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000)),
        Unusable("not a readable XLSX workbook"),
    ),
    Case(
        "zip-that-is-not-a-workbook",
        "canonical-xlsx",
        raw_file("survey.xlsx", zip_of(**{"readme.txt": "not a workbook"})),
        Unusable("not a readable XLSX workbook"),
    ),
    Case(
        "credit-code-as-a-number-and-date-outside-period-as-typed-cells",
        "canonical-xlsx",
        xlsx_cells(
            lambda sheet: [
                set_cell("respondent_id", 9.14207e17)(sheet),
                set_cell("submitted_at", datetime(2025, 1, 1), row=GOOD + 3)(sheet),
            ],
            bad(0),
            bad(1),
        ),
        Loaded({"bad_credit_code": 1, "outside_period": 1}),
    ),
    Case(
        "workbook-with-dates-and-numbers-as-typed-cells",
        "canonical-xlsx",
        xlsx_cells(
            lambda s: [
                set_cell("submitted_at", datetime(2026, 5, 10, 10))(s),
                set_cell("duration_seconds", 300.0)(s),
                set_cell(LABELS[0], 5)(s),
            ],
            bad(),
        ),
        Loaded(),
    ),
    Case(
        "error-value-in-an-answer",
        "canonical-xlsx",
        xlsx_cells(set_cell(LABELS[0], "#DIV/0!"), bad()),
        Loaded({"off_scale": 1}),
    ),
    Case(
        "na-text-in-an-answer",
        "canonical-xlsx",
        xlsx_cells(set_cell(LABELS[0], "N/A"), bad()),
        Loaded({"off_scale": 1}),
    ),
    Case(
        "na-text-as-unit",
        "canonical-xlsx",
        xlsx_cells(set_cell("unit", "NA"), bad()),
        Loaded({"unknown_unit": 1}),
    ),
]


# --- 问卷星 wide exports --------------------------------------------------------------------------


def wjx_frame(*rows: dict, n: int = GOOD) -> pd.DataFrame:
    return wenjuanxing_export(padded(*rows, n=n), WJX_UNITS, first_number=3)


def wjx(
    *rows: dict, edit: Callable[[pd.DataFrame], pd.DataFrame] = lambda f: f, suffix=".csv", encoding="utf-8"
):
    """A 问卷星 export of the clean rows and `rows` (each rating a unit of `WJX_UNITS`), edited."""

    def build(folder: Path) -> Path:
        frame = edit(wjx_frame(*rows))
        path = folder / f"wjx{suffix}"
        if suffix == ".xlsx":
            frame.to_excel(path, index=False)
        else:
            path.write_bytes(frame.to_csv(index=False).encode(encoding))
        return path

    return build


def drop(part: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame.drop(columns=[next(c for c in frame.columns if part in c)])


def set_wjx(part: str, value: str, row: int = -1) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Set the cell of the last (or `row`-th) respondent in the first column containing `part`."""

    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        column = next(c for c in frame.columns if part in c)
        frame = frame.copy()
        frame.iloc[row, frame.columns.get_loc(column)] = value
        return frame

    return edit


def skip_grids(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    grid = [c for c in frame.columns if "请您对" in c]
    frame.iloc[-1, [frame.columns.get_loc(c) for c in grid]] = "(跳过)"
    return frame


def second_grid_for(alias: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A second grid rating 市发改委 under another name; only the last respondent was shown it."""

    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        grid = [c for c in frame.columns if "请您对市发改委" in c]
        extra = frame[grid].rename(columns=lambda c: f"40、请您对{alias}的服务进行评价—{c.split('—')[1]}")
        extra.iloc[:-1] = "(跳过)"
        return pd.concat([frame, extra], axis=1)

    return edit


def duplicate_column(part: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        column = next(c for c in frame.columns if part in c)
        copy = frame[[column]]
        return pd.concat([frame, copy], axis=1)

    return edit


def extra_column(name: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame.assign(**{name: "x"})


WENJUANXING = [
    Case("gb18030", "wenjuanxing", wjx(bad(comment="很好"), encoding="gb18030"), Loaded(rows_in=GOOD + 1)),
    Case("xlsx", "wenjuanxing", wjx(bad(), suffix=".xlsx"), Loaded(rows_in=GOOD + 1)),
    Case(
        "without-duration-column",
        "wenjuanxing",
        wjx(edit=drop("所用时间")),
        Unusable("问卷星 export without the 所用时间 column", row=1, column="所用时间"),
    ),
    Case(
        "without-submitted-at-column",
        "wenjuanxing",
        wjx(edit=drop("提交答卷时间")),
        Unusable("header does not match", row=1, column="respondent_id"),
    ),
    Case(
        "without-credit-code-question",
        "wenjuanxing",
        wjx(edit=drop("统一社会信用代码")),
        Unusable("no question matching the respondent key", row=1),
    ),
    Case(
        "two-size-questions",
        "wenjuanxing",
        wjx(edit=extra_column("99、企业规模（2025年）")),
        Unusable("2 questions (", row=1),
    ),
    Case(
        "grid-lacking-an-item-row",
        "wenjuanxing",
        wjx(edit=drop(f"人行鄂州中支的服务进行评价—{LABELS[3]}")),
        Unusable(f"the grid rating 人行鄂州中支 lacks the row(s) {LABELS[3]}", row=1),
    ),
    Case(
        "two-columns-rate-one-item",
        "wenjuanxing",
        wjx(edit=extra_column(f"40、请您对市发改委的工作进行评价—{LABELS[0]}")),
        Unusable(f"two columns rate 市发改委 on {LABELS[0]}", row=1),
    ),
    Case(
        "repeated-column-name",
        "wenjuanxing",
        wjx(edit=duplicate_column("所属行业")),
        Unusable("column '6、所属行业' appears twice", row=1, column="6、所属行业"),
    ),
    Case(
        "no-unit-grid",
        "wenjuanxing",
        wjx(edit=lambda f: f.drop(columns=[c for c in f.columns if "请您对" in c])),
        Unusable("no unit rating grid found", row=1),
    ),
    Case(
        "grid-naming-an-unknown-unit",
        "wenjuanxing",
        wjx(
            bad(unit="人行鄂州中支"),
            edit=lambda f: f.rename(columns=lambda c: c.replace("人行鄂州中支", "市外星局")),
        ),
        Loaded({"unknown_unit": 1}),
    ),
    Case(
        "respondent-shown-no-unit",
        "wenjuanxing",
        wjx(bad(), edit=skip_grids),
        Loaded({"missing_unit": 1}, rows_in=GOOD + 1),
    ),
    Case(
        "unrecognised-columns-are-ignored",
        "wenjuanxing",
        wjx(bad(), edit=lambda f: extra_column("总分")(extra_column("99、您的联系电话")(f))),
        Loaded(rows_in=GOOD + 1),
    ),
    Case(
        "bad-duration-and-time",
        "wenjuanxing",
        wjx(
            bad(0),
            bad(1),
            edit=lambda f: set_wjx("所用时间", "约五分钟", -2)(
                set_wjx("提交答卷时间", "2026/5/40 8:00:00")(f)
            ),
        ),
        Loaded({"bad_duration": 1, "bad_submitted_at": 1}),
    ),
    Case(
        "off-scale-grid-answer",
        "wenjuanxing",
        wjx(bad(unit="人行鄂州中支", **answers("7"))),
        Loaded({"off_scale": 1}),
    ),
    Case(
        "blank-credit-code",
        "wenjuanxing",
        wjx(bad(), edit=set_wjx("统一社会信用代码", "(空)")),
        Loaded({"missing_respondent_key": 1}),
    ),
    Case(
        "same-respondent-twice",
        "wenjuanxing",
        wjx(bad(), edit=lambda f: pd.concat([f, f.iloc[[-1]]], ignore_index=True)),
        Loaded({"duplicate": 1}, rows_in=GOOD + 2),
    ),
    Case(
        "attribute-not-allowed",
        "wenjuanxing",
        wjx(bad(), edit=set_wjx("所在区", "武昌区"), suffix=".xlsx"),
        Loaded({"attribute_not_allowed": 1}),
    ),
    Case(
        "grid-separators-full-name-and-partly-skipped-grid",
        "wenjuanxing",
        wjx(
            bad(unit="人行鄂州中支", **answers("(跳过)", "(跳过)", "(空)")),
            edit=lambda f: f.rename(
                columns=lambda c: c.replace("—", "－").replace("市发改委", "鄂州市发展和改革委员会")
            ),
        ),
        Loaded(rows_in=GOOD + 1),
    ),
    Case(
        "two-grids-naming-one-unit",
        "wenjuanxing",
        wjx(bad(), edit=second_grid_for("发改委")),
        Loaded({"duplicate": 1}, rows_in=GOOD + 2),
    ),
]


# --- department metrics -------------------------------------------------------------------------


# The bad metric rows use these indicators; the clean rows, all others.
BAD_ROW_INDICATORS = {"online_service_rate", "business_startup_days", "tax_payment_hours"}


def _clean_metrics() -> list[tuple[str, str, str, str]]:
    """One plausible value of each (responsible unit, indicator), the unit by name."""
    names = {u.code: u.name for u in load_registry().units}
    rows = []
    for indicator in load_indicators().indicators:
        if indicator.code in BAD_ROW_INDICATORS:
            continue
        value = (indicator.bounds.min + indicator.bounds.max) / 2
        rows += [(names[unit], indicator.code, f"{value:g}", "统计") for unit in indicator.responsible]
    return rows


CLEAN_METRICS = _clean_metrics()
METRIC_HEADER = ["unit", "indicator", "value", "source"]


def metrics(*rows: tuple, header: list[str] = METRIC_HEADER, suffix: str = ".csv", n: int = GOOD):
    """A metrics file of `n` clean rows and `rows` (unit, indicator, value, source), its columns
    named by `header` (fewer names: the last columns are left out)."""

    def build(folder: Path) -> Path:
        frame = pd.DataFrame([*CLEAN_METRICS[:n], *rows], columns=METRIC_HEADER)
        frame = frame.iloc[:, : len(header)].set_axis(header, axis=1) if header != METRIC_HEADER else frame
        path = folder / f"metrics{suffix}"
        if suffix == ".xlsx":
            frame.to_excel(path, index=False)
        else:
            frame.to_csv(path, index=False)
        return path

    return build


def value(v: str, indicator: str = "online_service_rate", unit: str = "行政审批局") -> tuple:
    return (unit, indicator, v, "")


METRICS = [
    Case(
        "header-without-value",
        "metrics",
        metrics(header=["unit", "indicator"]),
        Unusable("missing column(s) value", row=1, column="value"),
    ),
    Case(
        "header-with-an-extra-column",
        "metrics",
        metrics(header=["unit", "indicator", "value", "note"]),
        Unusable("unknown column(s) note", row=1, column="note"),
    ),
    Case(
        "survey-file-given-as-metrics",
        "metrics",
        csv_rows(),
        Unusable("header must be unit, indicator, value[, source]", row=1, column="indicator"),
    ),
    Case("header-only", "metrics", raw_file("m.csv", b"unit,indicator,value,source\n"), Unusable("no rows")),
    Case(
        "unknown-indicators",
        "metrics",
        metrics(*[value("9", i) for i in ["startup_days", "Online_Service_Rate", ""]], n=40),
        Loaded({"unknown_indicator": 3}),
    ),
    Case(
        "bad-values",
        "metrics",
        metrics(*[value(v) for v in ["abc", "", "12天", "0x1A", "95%%", "%95", "９５％", "N/A"]], n=40),
        Loaded({"bad_value": 8}),
    ),
    Case(
        "percentage-and-thousands-forms",
        "metrics",
        metrics(
            value("95%"),
            value("95.5%", unit="市场监管局"),
            value(" 95 % ", unit="人社局"),
            value("1,000", "tax_payment_hours", "税务局"),
        ),
        Loaded(),
    ),
    Case(
        "misplaced-thousands-separators",
        "metrics",
        metrics(value("9,5"), value("1,2", unit="市场监管局")),
        Loaded({"bad_value": 2}),
    ),
    Case(
        "non-finite-values",
        "metrics",
        metrics(*[value(v) for v in ["inf", "-Infinity", "nan", "1e400"]], n=40),
        Loaded({"bad_value": 4}),
    ),
    Case(
        "implausible-values",
        "metrics",
        metrics(value("-5"), value("101"), value("1e3", "business_startup_days", "市场监管局")),
        Loaded({"implausible_value": 3}),
    ),
    Case(
        "duplicate-indicator-rows",
        "metrics",
        metrics(CLEAN_METRICS[0], CLEAN_METRICS[1]),
        Loaded({"duplicate": 2}),
    ),
    Case(
        "unknown-and-blank-units",
        "metrics",
        metrics(value("90", unit="市外星局"), value("90", unit="")),
        Loaded({"unknown_unit": 1, "missing_unit": 1}),
    ),
    Case(
        "unit-not-responsible",
        "metrics",
        metrics(value("3", "business_startup_days", "市发改委")),
        Loaded({"not_responsible": 1}),
    ),
    Case(
        "every-indicator-unknown-trips-the-gate",
        "metrics",
        metrics(*[value("1", f"x{i}") for i in range(5)], n=5),
        Loaded({"unknown_indicator": 5}, code=1),
    ),
    Case(
        "xlsx-numbers-as-typed-cells",
        "metrics",
        metrics(("行政审批局", "online_service_rate", 95.5, "政务服务网"), suffix=".xlsx"),
        Loaded(),
    ),
    Case(
        "nul-and-formula-text",
        "metrics",
        metrics(("供电公司", "electricity_connection_days\x00", "12", "=1+1")),
        Loaded({"unknown_indicator": 1}),
    ),
]

# --- doubtful values and structure: number forms, durations, formulas, cut 问卷星 lines ---------


def cut_wjx_line(folder: Path) -> Path:
    """A 问卷星 CSV whose last respondent's line lacks its last three fields."""
    path = wjx(bad())(folder)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[-1] = ",".join(lines[-1].split(",")[:-3])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def metrics_line_cut(folder: Path) -> Path:
    path = metrics(value("95.5%"))(folder)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[-1] = ",".join(lines[-1].split(",")[:2])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


DOUBTFUL = [
    Case(
        "scale-points-in-undeclared-number-forms",
        "canonical-csv",
        csv_rows(*[bad(i, **answers(v)) for i, v in enumerate(["+5", "05", "1e0", "5.", "5.0"])], n=40),
        Loaded({"off_scale": 5}),
    ),
    Case(
        "duration-of-three-thousand-years",
        "canonical-csv",
        csv_rows(bad(0, duration_seconds="99999999999")),
        Loaded({"implausible_duration": 1}),
    ),
    Case(
        "answer-held-by-an-uncalculated-formula",
        "canonical-xlsx",
        xlsx_cells(set_cell(LABELS[0], "=2+2"), bad()),
        Loaded({"formula_without_value": 1}),
    ),
    Case(
        "header-cell-held-by-an-uncalculated-formula",
        "canonical-xlsx",
        xlsx_cells(set_cell("unit", '="un"&"it"', row=1), bad()),
        Unusable("the header cell holds a formula with no calculated value", row=1),
    ),
    Case(
        "wenjuanxing-line-cut-short",
        "wenjuanxing",
        cut_wjx_line,
        Loaded({"short_row": 1}, rows_in=GOOD + 1),
    ),
    Case(
        "metrics-line-cut-short",
        "metrics",
        metrics_line_cut,
        Loaded({"short_row": 1, "bad_value": 1}),
    ),
]

CASES = CANONICAL_CSV + CANONICAL_XLSX + WENJUANXING + METRICS + DOUBTFUL


# --- the warehouse ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.pg)])
def migrated(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[sa.Engine]:
    """One migrated warehouse per database for the whole corpus (as `warehouse_url` in conftest,
    but migrated once: a migration per case would double the PostgreSQL half's time)."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('corpus') / 'warehouse.sqlite'}"
        else:
            url = stack.enter_context(pg_schema())
        engine = make_engine(url)
        migrate(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def warehouse(migrated: sa.Engine) -> str:
    """The corpus warehouse emptied (the schema stays migrated): every case loads into a warehouse
    of its own. Returns its URL."""
    with migrated.begin() as conn:
        for table in reversed(t.metadata.sorted_tables):
            conn.execute(table.delete())
    return migrated.url.render_as_string(hide_password=False)


def test_the_corpus_is_large_and_its_ids_unique():
    ids = [f"{case.kind}:{case.id}" for case in CASES]
    assert len(set(ids)) == len(ids) >= 60


@pytest.mark.parametrize("case", [case.param() for case in CASES])
def test_bad_input(case: Case, migrated, warehouse, tmp_path, capsys):
    path = case.build(tmp_path)
    command = "load-metrics" if case.kind == "metrics" else "load-survey"
    code, summary, err = run_cli(capsys, command, str(path), "--period", case.period, "--db", warehouse)
    assert "Traceback" not in err
    if isinstance(case.expect, Unusable):
        assert code == 2, (code, summary, err)
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"bizenv: error: {path}"), err
        assert case.expect.says in lines[0]
        if case.expect.row is not None:
            assert f", row {case.expect.row}" in lines[0]
        if case.expect.column is not None:
            assert f", column {case.expect.column!r}: " in lines[0]
        assert summary == {
            "status": "error",
            "exit_code": 2,
            "message": lines[0].removeprefix("bizenv: error: "),
        }
        return
    assert code == case.expect.code, (code, summary, err)
    assert summary is not None and summary["reasons"] == case.expect.reasons
    assert summary["rows_in"] == summary["accepted"] + summary["quarantined"]
    assert summary["status"] == ("refused" if case.expect.code == 1 else "accepted")
    if case.expect.rows_in is not None:
        assert summary["rows_in"] == case.expect.rows_in
    with migrated.connect() as conn:
        stored = conn.execute(
            select(func.count()).where(t.quarantined_rows.c.batch_id == summary["batch_id"])
        ).scalar_one()
    assert stored == summary["quarantined"]
