"""Rows whose shape or time cannot be trusted: short or truncated lines, submissions from the future."""

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from bizenv.errors import BizenvError
from bizenv.ingest import canonical
from bizenv.ingest.reading import _fields_by_python_parser, fields_per_row, read_table
from bizenv.ingest.rows import check_rows
from bizenv.periods import Period
from bizenv.schemas import load_questionnaire, load_registry
from tests.builders import LABELS, survey_row

Q = load_questionnaire()
HEADER = canonical.expected_columns(Q)


def csv_text(rows: list[dict]) -> str:
    return pd.DataFrame(rows)[HEADER].to_csv(index=False, lineterminator="\n")


def check_file(path: Path, loaded_at: datetime | None = None):
    return check_rows(
        canonical.to_standard(read_table(path), Q),
        period=Period.parse("2026H1"),
        registry=load_registry(),
        questionnaire=Q,
        salt="s",
        fieldwork_grace_days=45,
        loaded_at=loaded_at,
    )


def reasons(result) -> dict[int, str]:
    return dict(zip(result.quarantined["source_row"], result.quarantined["reasons"], strict=True))


@pytest.mark.parametrize(
    "text",
    [
        'a,b,c\n1,,\n2,"x,\ny"\n\n3,"",\n4,4',
        'a,b,c\r\n1,,\r\n"q""x",2,3\r\n4,4\r\n',
        'a,b,c\r1,2\r"x\r,y",,\r',
        'a,b,c\n"a""b,c",2\n,,\n',
        '单位,评价,意见\n市发改委,"满意,很好",\n"税务局\r\n""窗口""",一般\n鄂城区,,\n\n',
    ],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_fields_per_row_counts_what_the_python_parser_reads(text, encoding):
    data = text.encode(encoding)
    expected = _fields_by_python_parser(data, encoding)
    assert fields_per_row(data, encoding, len(expected)).tolist() == expected.tolist()


def test_a_row_with_fewer_fields_than_the_header_is_short_row(tmp_path):
    text = csv_text([survey_row(respondent=i) for i in range(1, 4)]).splitlines()
    text[2] = ",".join(text[2].split(",")[:15])  # 15 of 19 fields
    path = tmp_path / "short.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = check_file(path)
    assert reasons(result) == {3: "short_row"}
    assert "15 of the header's 19 fields" in result.quarantined["details"].iloc[0]
    assert len(result.accepted) == 2 and result.reason_counts == {"short_row": 1}


def test_a_file_cut_mid_row_quarantines_its_last_row(tmp_path):
    full = csv_text([survey_row(respondent=i) for i in range(1, 4)])
    cut = full.rstrip("\n").rsplit(",", len(LABELS) - 4 + 1)[0]  # 4 of the 10 items kept
    path = tmp_path / "cut.csv"
    path.write_text(cut, encoding="utf-8")
    result = check_file(path)
    assert reasons(result) == {4: "short_row"}
    assert len(result.accepted) == 2


def test_a_blank_comment_is_not_a_short_row_and_a_quoted_comma_is_one_field(tmp_path):
    rows = [survey_row(respondent=1), survey_row(respondent=2, comment='办事快,好\n"很好"')]
    path = tmp_path / "ok.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    result = check_file(path)
    assert result.quarantined.empty and len(result.accepted) == 2


def test_a_row_with_more_fields_than_the_header_is_unusable_input(tmp_path):
    text = csv_text([survey_row(respondent=1), survey_row(respondent=2)])
    path = tmp_path / "long.csv"
    path.write_text(text.rstrip("\n") + ",extra\n", encoding="utf-8")
    with pytest.raises(BizenvError, match="malformed CSV.*Expected 19 fields in line 3, saw 20"):
        read_table(path)


def test_an_xlsx_has_no_field_counts(tmp_path):
    path = tmp_path / "ok.xlsx"
    pd.DataFrame([survey_row(respondent=1)]).to_excel(path, index=False)
    assert read_table(path).fields is None
    assert check_file(path).quarantined.empty


@pytest.mark.parametrize(
    ("submitted_at", "future"),
    [
        ("2026-05-11T09:59:59", False),  # within a day of the load
        ("2026-05-11T10:00:00", False),
        ("2026-05-11T10:00:01", True),
        ("2026-05-11T03:00:01+01:00", True),  # 10:00:01 in the city
        ("2026/5/20 8:00:00", True),
    ],
)
def test_a_submission_after_the_load_time_plus_a_day_is_future_submitted_at(tmp_path, submitted_at, future):
    path = tmp_path / "times.csv"
    path.write_text(csv_text([survey_row(respondent=1, submitted_at=submitted_at)]), encoding="utf-8")
    loaded_at = datetime(2026, 5, 10, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
    result = check_file(path, loaded_at)
    assert reasons(result) == ({2: "future_submitted_at"} if future else {})
    naive_local = check_file(path, datetime(2026, 5, 10, 10, 0))
    assert reasons(naive_local) == reasons(result)
