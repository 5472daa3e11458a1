import pytest

from bizenv.errors import BizenvError
from bizenv.ingest.reading import read_table
from tests.builders import survey_row, write_survey


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_are_detected(tmp_path, encoding):
    path = write_survey(tmp_path / "s.csv", [survey_row(unit="市场监管局", comment="办事很方便")], encoding)
    table = read_table(path)
    assert table.frame.loc[2, "unit"] == "市场监管局"
    assert table.frame.loc[2, "comment"] == "办事很方便"
    assert table.frame.columns[0] == "respondent_id"


def test_xlsx_is_read_as_strings(tmp_path):
    path = write_survey(tmp_path / "s.xlsx", [survey_row(answers=5)])
    table = read_table(path)
    assert table.file_format == "xlsx"
    assert table.frame.loc[2, "办理时限"] == "5"


def test_batch_id_is_the_sha256_of_the_bytes(tmp_path):
    import hashlib

    path = write_survey(tmp_path / "s.csv", [survey_row()])
    assert read_table(path).batch_id == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"respondent_id,unit\n", "no rows"), (b"\xff\xfe\x00\x00\x81\x30", "not readable")],
)
def test_unusable_files_give_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(BizenvError, match=message) as info:
        read_table(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_file_type_is_refused(tmp_path):
    path = tmp_path / "survey.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(BizenvError, match="unsupported file type"):
        read_table(path)


def test_rows_are_numbered_as_a_spreadsheet_shows_them_and_blank_rows_skipped(tmp_path):
    path = write_survey(tmp_path / "s.csv", [survey_row(respondent=1), survey_row(respondent=2)])
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0], lines[1], "", ",,,", lines[2]]) + "\n", encoding="utf-8")
    table = read_table(path)
    assert table.frame.index.tolist() == [2, 5]
    assert table.blank_rows == 2


def test_blank_rows_inside_a_workbook_are_skipped_too(tmp_path):
    import pandas as pd

    frame = pd.DataFrame([survey_row(respondent=1), {}, survey_row(respondent=2)])
    path = tmp_path / "s.xlsx"
    frame.to_excel(path, index=False)
    table = read_table(path)
    assert table.frame.index.tolist() == [2, 4]


def test_a_duplicated_column_is_named_with_its_positions(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("respondent_id,unit,unit\n1,2,3\n", encoding="utf-8")
    with pytest.raises(BizenvError, match=r"column 'unit' appears twice \(positions 2 and 3\)"):
        read_table(path)
