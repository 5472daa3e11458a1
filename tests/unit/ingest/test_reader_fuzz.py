"""Fuzzing the file readers and row checks, without a warehouse: whatever the bytes, a survey or
metrics file is either refused with a `BizenvError` (one line, naming the file: exit 2), or read
with every row accounted for, accepted or quarantined, never both and never lost. Any other
exception escaping is a bug (the command would call it an internal error, exit 3).

The stages are those `bizenv.ingest.batch.load` runs before it touches the warehouse: `read_table`,
the kind's `read` (the format reader: canonical, 问卷星 or metrics) and `check` (the row checks),
then the gate and the masking of what quarantine would store. The budget is fixed (`FUZZ`) and
the examples derandomized, so every run tests the same inputs.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from bizenv.errors import BizenvError
from bizenv.ingest import canonical, gate
from bizenv.ingest.batch import BatchKind, private_quarantine
from bizenv.ingest.metrics_batch import MetricsKind
from bizenv.ingest.reading import read_table
from bizenv.ingest.survey_batch import SurveyKind
from bizenv.periods import Period
from bizenv.schemas import load_questionnaire
from tests.builders import survey_row, unit_sample, wenjuanxing_export

Q = load_questionnaire()
HEADER = canonical.expected_columns(Q)
PERIOD = Period.parse("2026H1")
# A fixed load time, so `future_submitted_at` does not depend on the day the tests run.
SURVEY = SurveyKind(Q, loaded_at=datetime(2026, 11, 1, tzinfo=UTC))
METRICS = MetricsKind()
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Writing a workbook costs more than a CSV: fewer of them.
FUZZ_XLSX = settings(FUZZ, max_examples=40)


def read_and_check(kind: BatchKind, path: Path) -> None:
    """Run the stages on `path`. A broken promise is an AssertionError; any exception other than
    a BizenvError propagates."""
    try:
        rows = kind.read(read_table(path))
        checked = kind.check(rows, PERIOD)
    except BizenvError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message, message
        assert str(path) in message, message
        event("refused")
        return
    index = rows.content.frame.index if isinstance(kind, SurveyKind) else rows.content.index
    accepted, quarantined = checked.accepted.index, checked.quarantined.index
    assert len(accepted) + len(quarantined) == rows.count == len(index)
    assert accepted.intersection(quarantined).empty
    assert accepted.union(quarantined).sort_values().equals(index.sort_values())
    assert (checked.quarantined["reasons"] != "").all()
    gate.refusals(checked.quarantined, rows.count, [], kind.policy)
    private_quarantine(checked.quarantined)
    event("read, some rows quarantined" if len(quarantined) else "read, every row accepted")


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# --- strategies ---------------------------------------------------------------------------------

# Cell values that have broken, or could break, a reader: quoting, line ends, NUL, BOM, numbers that
# are not finite, formulas, dates and labels in odd forms.
HOSTILE = [
    "", " ", '"', '""', '"a"b', ",", ",,", "\n", "\r", "\r\n", "\x00", "\ufeff", "\u2028", "\x1a", "\\N",
    "NULL", "None", "nan", "NaN", "inf", "-Infinity", "1e400", "1e-400", "-1", "0", "5", "6", "3.5",
    "+5", "05", "5.", "1e0", "0x1F", "=1+1", "@SUM(A1)", "#N/A", "#DIV/0!", "非常满意", "(跳过)", "(空)",
    "不了解", "市发改委", "ndrc", "发改委 ", "2026-05-10T10:00:00", "2026/5/10 8:00:00", "2026-13-45",
    "now", "0001-01-01", "9999-12-31T23:59:59", "2026-05-10T10:00:00+25:00", "300秒", "-5", "9" * 40,
    "𝟓", "５", "五", "😀", "%", "95%", "1,000", "9,5", " 满意 ", "\t", "a" * 3000,
]  # fmt: skip
# Characters a mutation inserts: the CSV's own syntax first.
SPECIAL = [",", '"', "\n", "\r", "\x00", "\ufeff", " ", "\\", "=", "秒", "%"]
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030"]


def cell() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))


@st.composite
def hostile_cells(draw, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with up to eight cells replaced by hostile values."""
    frame = frame.copy()
    for _ in range(draw(st.integers(0, 8))):
        row = draw(st.integers(0, len(frame) - 1))
        column = draw(st.integers(0, len(frame.columns) - 1))
        frame.iloc[row, column] = draw(cell())
    return frame


@st.composite
def mutated(draw, text: str) -> str:
    """`text` with characters dropped, duplicated or inserted, or cut short at any point: anywhere,
    or (as often) below the header line, so that most files get as far as the row checks."""
    chars = list(text)
    start = draw(st.sampled_from([0, text.find("\n") + 1]))
    for _ in range(draw(st.integers(0, 5))):
        operation = draw(st.sampled_from(["drop", "duplicate", "insert", "cut"]))
        last = max(len(chars) - 1, 0)
        at = draw(st.integers(min(start, last), last))
        if operation == "drop" and chars:
            del chars[at]
        elif operation == "duplicate" and chars:
            chars.insert(at, chars[at])
        elif operation == "insert":
            chars.insert(at, draw(st.one_of(st.sampled_from(SPECIAL), st.characters(codec="utf-8"))))
        elif operation == "cut":
            del chars[at:]
    return "".join(chars)


@st.composite
def csv_file(draw, frames: Callable[[], pd.DataFrame]) -> bytes:
    """The table `frames()` builds as a CSV: cells replaced by hostile values, then its text
    mutated and encoded in one of the encodings bizenv reads."""
    frame = draw(hostile_cells(frames()))
    text = draw(mutated(frame.to_csv(index=False, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))))
    return text.encode(draw(st.sampled_from(ENCODINGS)))


def canonical_frame() -> pd.DataFrame:
    rows = unit_sample("市发改委", 3, "满意") + [
        survey_row(
            10, "人行鄂州中支", ["非常满意", "满意", "一般", "不满意", "非常不满意", 5, 4, 3, "不了解", ""]
        ),
        survey_row(11, "市中级人民法院", "一般", comment='办事快,"很好"\n下次再来'),
    ]
    return pd.DataFrame(rows)[HEADER]


def wenjuanxing_frame() -> pd.DataFrame:
    rows = unit_sample("市发改委", 2, "满意") + [
        survey_row(10, "人行鄂州中支", "非常满意", comment="电话13912345678"),
        survey_row(10, "市发改委", "一般"),
    ]
    return wenjuanxing_export(rows, ["市发改委", "人行鄂州中支"], first_number=7)


def metrics_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("市场监管局", "business_startup_days", "1", "年报"),
            ("行政审批局", "online_service_rate", "95.5%", "政务服务网"),
            ("供电公司", "electricity_connection_days", "12", ""),
            ("税务局", "tax_payment_hours", "1,000", "抽样"),
        ],
        columns=["unit", "indicator", "value", "source"],
    )


# --- the properties -----------------------------------------------------------------------------


HEADER_LINES = [b"", ",".join(HEADER).encode() + b"\n", b"\xef\xbb\xbfunit,indicator,value,source\r\n"]


@FUZZ
@given(
    head=st.sampled_from(HEADER_LINES),
    data=st.binary(max_size=3000),
    suffix=st.sampled_from([".csv", ".txt", ".xlsx"]),
)
def test_arbitrary_bytes_are_refused_or_read_whole(folder, head, data, suffix):
    """Any bytes, alone or under a survey or metrics header."""
    read_and_check(SURVEY, write(folder, f"bytes{suffix}", head + data))
    read_and_check(METRICS, write(folder, f"bytes{suffix}", head + data))


@FUZZ
@given(
    body=st.text(
        alphabet=st.one_of(st.sampled_from([*SPECIAL, "满", "意", "5"]), st.characters(codec="utf-8")),
        max_size=400,
    )
)
def test_a_header_over_arbitrary_text_is_refused_or_read_whole(folder, body):
    for header, kind in [(",".join(HEADER), SURVEY), ("unit,indicator,value,source", METRICS)]:
        read_and_check(kind, write(folder, "text.csv", (header + "\n" + body).encode("utf-8")))


@FUZZ
@given(data=csv_file(canonical_frame))
def test_a_mutated_canonical_csv_is_refused_or_read_whole(folder, data):
    read_and_check(SURVEY, write(folder, "canonical.csv", data))


@FUZZ
@given(data=csv_file(wenjuanxing_frame))
def test_a_mutated_wenjuanxing_csv_is_refused_or_read_whole(folder, data):
    read_and_check(SURVEY, write(folder, "wenjuanxing.csv", data))


@FUZZ
@given(data=csv_file(metrics_frame))
def test_a_mutated_metrics_csv_is_refused_or_read_whole(folder, data):
    read_and_check(METRICS, write(folder, "metrics.csv", data))


def legal_in_xlsx(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without characters a workbook cannot hold (openpyxl refuses to write them)."""
    return frame.map(lambda v: ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v)


@FUZZ_XLSX
@given(
    frame=st.one_of(hostile_cells(canonical_frame()), hostile_cells(wenjuanxing_frame())),
)
def test_a_workbook_of_hostile_cells_is_refused_or_read_whole(folder, frame):
    path = folder / "hostile.xlsx"
    legal_in_xlsx(frame).to_excel(path, index=False)
    read_and_check(SURVEY, path)


def xlsx_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    return buffer.getvalue()


GOOD_XLSX = xlsx_bytes(canonical_frame())


@FUZZ_XLSX
@given(
    changes=st.lists(
        st.tuples(st.integers(0, len(GOOD_XLSX) - 1), st.integers(0, 255)), min_size=1, max_size=4
    )
)
def test_a_damaged_workbook_is_refused_or_read_whole(folder, changes):
    data = bytearray(GOOD_XLSX)
    for at, byte in changes:
        data[at] = byte
    read_and_check(SURVEY, write(folder, "damaged.xlsx", bytes(data)))


def test_the_fuzzed_files_start_from_files_that_read_whole(folder):
    """The mutations start from good files: unmutated, each is read with nothing quarantined."""
    for kind, name, data in [
        (SURVEY, "canonical.csv", canonical_frame().to_csv(index=False).encode()),
        (SURVEY, "wenjuanxing.csv", wenjuanxing_frame().to_csv(index=False).encode()),
        (METRICS, "metrics.csv", metrics_frame().to_csv(index=False).encode()),
        (SURVEY, "good.xlsx", GOOD_XLSX),
    ]:
        path = write(folder, name, data)
        rows = kind.read(read_table(path))
        checked = kind.check(rows, PERIOD)
        assert checked.quarantined.empty and len(checked.accepted) == rows.count > 0, name
    with zipfile.ZipFile(io.BytesIO(GOOD_XLSX)) as book:
        assert book.testzip() is None
