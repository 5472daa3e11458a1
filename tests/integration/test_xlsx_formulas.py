"""A workbook whose formulas were never calculated, then the same workbook calculated, on SQLite
and PostgreSQL."""

import re
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from bizenv.ingest import canonical
from bizenv.schemas import load_questionnaire
from bizenv.warehouse import tables as t
from tests.builders import LABELS, run_cli, survey_row, write_survey

HEADER = canonical.expected_columns(load_questionnaire())
ANSWER_CELL = f"{get_column_letter(HEADER.index(LABELS[2]) + 1)}7"  # file row 7


def uncalculated(path: Path) -> Path:
    """Ten rows; file row 7 answers its third item with a formula openpyxl stores no value for."""
    write_survey(path, [survey_row(respondent=i) for i in range(10)])
    book = openpyxl.load_workbook(path)
    book.active[ANSWER_CELL] = "=2+2"
    book.save(path)
    return path


def calculated(source: Path, path: Path) -> Path:
    """The workbook as Excel saves it once calculated: the formula kept, its value stored.
    (openpyxl writes the uncalculated cell with an empty `<v/>`, or with none when lxml is
    installed.)"""
    with zipfile.ZipFile(source) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = re.sub(
        rf'(<c r="{ANSWER_CELL}"[^>]*>)(<f>.*?</f>)(<v\s*/>|<v>\s*</v>)?', r"\g<1>\g<2><v>4</v>", sheet
    )
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def load(capsys, path: Path, db: str) -> dict:
    code, summary, _ = run_cli(capsys, "load-survey", str(path), "--period", "2026H1", "--db", db)
    assert code == 0
    return summary


def test_a_row_with_a_formula_never_calculated_is_quarantined_naming_the_column(
    engine, warehouse_url, tmp_path, capsys
):
    summary = load(capsys, uncalculated(tmp_path / "survey.xlsx"), warehouse_url)
    assert (summary["rows_in"], summary["accepted"], summary["quarantined"]) == (10, 9, 1)
    assert summary["reasons"] == {"formula_without_value": 1}
    q = t.quarantined_rows
    with engine.connect() as conn:
        row = conn.execute(select(q.c.source_row, q.c.reasons, q.c.details)).one()
    assert (row.source_row, row.reasons) == (7, "formula_without_value")
    assert row.details.startswith(
        f"formula_without_value: {LABELS[2]} holds a formula with no calculated value"
    )


def test_the_calculated_workbook_after_the_uncalculated_one_accepts_the_row_with_its_value(
    engine, warehouse_url, tmp_path, capsys
):
    first = uncalculated(tmp_path / "survey.xlsx")
    load(capsys, first, warehouse_url)
    second = load(capsys, calculated(first, tmp_path / "saved.xlsx"), warehouse_url)
    assert (second["accepted"], second["quarantined"], second["reasons"]) == (1, 9, {"duplicate": 9})
    r, items = t.survey_responses, t.response_items
    with engine.connect() as conn:
        answers = conn.execute(
            select(items.c.item_code, items.c.score)
            .join(r, items.c.response_id == r.c.response_id)
            .where(r.c.source_row == 7)
        ).all()
    assert dict(answers)[load_questionnaire().items()[2].code] == 4
