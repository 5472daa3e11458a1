"""XLSX cells holding formulas: read as their stored value, or quarantined when none is stored."""

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from bizenv.errors import BizenvError
from bizenv.ingest import canonical
from bizenv.ingest.reading import read_table
from bizenv.ingest.rows import check_rows
from bizenv.ingest.survey_batch import standard_batch
from bizenv.periods import Period
from bizenv.schemas import load_questionnaire, load_registry
from tests.builders import LABELS, survey_row, wenjuanxing_export, write_frame, write_survey

Q = load_questionnaire()
CODES = [item.code for item in Q.items()]
HEADER = canonical.expected_columns(Q)


def cell(column: str, row: int, header: list[str] = HEADER) -> str:
    return f"{get_column_letter(header.index(column) + 1)}{row}"


def with_formulas(path: Path, formulas: dict[str, str]) -> Path:
    """The workbook with formulas written into cells by openpyxl, which stores no value for them
    (as any program writing a workbook that Excel never calculated)."""
    book = openpyxl.load_workbook(path)
    for ref, formula in formulas.items():
        book.active[ref] = formula
    book.save(path)
    return path


def calculated(path: Path, values: dict[str, str]) -> Path:
    """The workbook as Excel saves it once calculated: each formula cell keeps its formula and
    stores its value. (openpyxl writes the uncalculated cell with an empty `<v/>`, or with none
    when lxml is installed.)"""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, value in values.items():
        sheet, found = re.subn(
            rf'(<c r="{ref}"[^>]*>)(<f>.*?</f>)(<v\s*/>|<v>\s*</v>)?',
            rf"\g<1>\g<2><v>{value}</v>",
            sheet,
        )
        assert found == 1
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def check(path: Path):
    return check_rows(
        standard_batch(read_table(path), Q),
        period=Period.parse("2026H1"),
        registry=load_registry(),
        questionnaire=Q,
        salt="s",
        fieldwork_grace_days=45,
    )


def reasons(result) -> dict[int, str]:
    return dict(zip(result.quarantined["source_row"], result.quarantined["reasons"], strict=True))


def workbook(tmp_path: Path, n: int = 3) -> Path:
    return write_survey(tmp_path / "survey.xlsx", [survey_row(respondent=i) for i in range(1, n + 1)])


def test_a_formula_without_a_stored_value_quarantines_its_row_naming_the_column(tmp_path):
    path = with_formulas(workbook(tmp_path), {cell(LABELS[2], 3): "=2+2"})
    result = check(path)
    assert reasons(result) == {3: "formula_without_value"}
    assert (
        result.quarantined["details"]
        .iloc[0]
        .startswith(f"formula_without_value: {LABELS[2]} holds a formula with no calculated value")
    )
    assert len(result.accepted) == 2


def test_every_column_holding_a_formula_without_value_is_named(tmp_path):
    path = with_formulas(workbook(tmp_path), {cell(LABELS[2], 3): "=2+2", cell("unit", 3): '="市发改委"'})
    details = check(path).quarantined["details"].iloc[0]
    assert details.count("holds a formula with no calculated value") == 2
    assert "unit holds a formula" in details and f"{LABELS[2]} holds a formula" in details


def test_a_formula_with_a_stored_value_is_read_as_that_value(tmp_path):
    path = with_formulas(workbook(tmp_path), {cell(LABELS[2], 3): "=2+2"})
    result = check(calculated(path, {cell(LABELS[2], 3): "4"}))
    assert result.quarantined.empty
    assert result.accepted.loc[3, CODES[2]] == 4


def test_a_text_cell_starting_with_an_equals_sign_is_text(tmp_path):
    path = workbook(tmp_path, n=2)
    book = openpyxl.load_workbook(path)
    book.active[cell("comment", 2)] = "=1+1"
    book.active[cell("comment", 2)].data_type = "s"  # typed as text, not a formula
    book.save(path)
    result = check(with_formulas(path, {cell("comment", 3): "=1+1"}))
    assert reasons(result) == {3: "formula_without_value"}
    assert result.accepted.loc[2, "comment"] == "=1+1"


def test_a_workbook_with_a_formula_only_on_another_sheet_marks_nothing(tmp_path):
    path = workbook(tmp_path)
    book = openpyxl.load_workbook(path)
    book.create_sheet("合计")["A1"] = "=COUNTA(Sheet1!A:A)"
    book.save(path)
    table = read_table(path)
    assert table.uncalculated is not None and not table.uncalculated.to_numpy().any()
    assert check(path).quarantined.empty


def test_a_last_row_of_only_uncalculated_formulas_is_quarantined_not_skipped_as_blank(tmp_path):
    path = with_formulas(workbook(tmp_path), {cell("respondent_id", 5): "=A4", cell(LABELS[0], 5): "=5"})
    table = read_table(path)
    assert table.blank_rows == 0 and list(table.frame.index) == [2, 3, 4, 5]
    result = check(path)
    assert reasons(result) == {
        5: "formula_without_value;missing_respondent_key;missing_unit;bad_submitted_at"
    }


def test_a_formula_without_value_in_the_header_is_refused_naming_the_cell(tmp_path):
    path = with_formulas(workbook(tmp_path), {"B1": '="unit"'})
    with pytest.raises(BizenvError) as error:
        read_table(path)
    assert str(error.value) == (
        f"{path}, row 1, column 'B': the header cell holds a formula with no calculated value: "
        "open the workbook in Excel and save it, or type the column name"
    )


WJX_UNITS = ["市发改委", "人行鄂州中支", "市中级人民法院"]


def wenjuanxing_workbook(tmp_path: Path) -> tuple[Path, list[str]]:
    """Two respondents: the first rates 市发改委 and 市中级人民法院, the second 市发改委."""
    rows = [survey_row(1, WJX_UNITS[0]), survey_row(1, WJX_UNITS[2]), survey_row(2, WJX_UNITS[0])]
    wide = wenjuanxing_export(rows, WJX_UNITS, first_number=3)
    return write_frame(tmp_path / "wjx.xlsx", wide), list(wide.columns)


def grid_column(unit: str, label: str) -> str:
    number = 3 + 5 + WJX_UNITS.index(unit)
    return f"{number}、请您对{unit}的服务进行评价—{label}"


def test_a_wenjuanxing_grid_formula_without_value_quarantines_only_that_unit_row(tmp_path):
    path, header = wenjuanxing_workbook(tmp_path)
    path = with_formulas(path, {cell(grid_column(WJX_UNITS[2], LABELS[4]), 2, header): "=4"})
    result = check(path)
    assert result.quarantined["reasons"].tolist() == ["formula_without_value"]
    assert (
        result.quarantined["details"]
        .iloc[0]
        .startswith(f"formula_without_value: {grid_column(WJX_UNITS[2], LABELS[4])} holds a formula")
    )
    assert sorted(result.accepted["unit_code"]) == ["ndrc", "ndrc"]


def test_a_wenjuanxing_grid_whose_only_filled_cell_is_an_uncalculated_formula_is_a_rated_unit(tmp_path):
    path, header = wenjuanxing_workbook(tmp_path)
    path = with_formulas(path, {cell(grid_column(WJX_UNITS[1], LABELS[0]), 3, header): "=4"})
    result = check(path)
    assert result.quarantined["reasons"].tolist() == ["formula_without_value"]
    assert result.quarantined["raw"].str.contains(WJX_UNITS[1]).all()


def test_a_wenjuanxing_respondent_cell_formula_without_value_quarantines_all_their_unit_rows(tmp_path):
    path, header = wenjuanxing_workbook(tmp_path)
    path = with_formulas(path, {cell("4、企业规模", 2, header): '="小型"'})
    result = check(path)
    assert reasons(result) == {2: "formula_without_value"}
    assert len(result.quarantined) == 2 and result.accepted["unit_code"].tolist() == ["ndrc"]
