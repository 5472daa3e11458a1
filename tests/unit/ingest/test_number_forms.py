"""Answers written as numbers: only the forms the questionnaire declares are scores."""

import openpyxl
import pandas as pd
import pytest
from pydantic import ValidationError

from bizenv.ingest import canonical
from bizenv.ingest.reading import RawTable, read_table
from bizenv.ingest.rows import check_rows
from bizenv.periods import Period
from bizenv.schemas import load_questionnaire, load_registry
from bizenv.schemas.models import Questionnaire, Scale
from tests.builders import LABELS, survey_row

Q = load_questionnaire()
CODES = [item.code for item in Q.items()]
HEADER = canonical.expected_columns(Q)


def with_number_forms(*forms: str) -> Questionnaire:
    return Q.model_copy(update={"scale": Q.scale.model_copy(update={"number_forms": list(forms)})})


def check(rows: list[dict], questionnaire: Questionnaire = Q, table: RawTable | None = None):
    if table is None:
        frame = pd.DataFrame(rows, index=pd.RangeIndex(2, 2 + len(rows)))
        table = RawTable(path="batch.csv", frame=frame, file_format="csv", encoding="utf-8", batch_id="x")
    return check_rows(
        canonical.to_standard(table, questionnaire),
        period=Period.parse("2026H1"),
        registry=load_registry(),
        questionnaire=questionnaire,
        salt="s",
        fieldwork_grace_days=45,
    )


def one_answer(text: str) -> dict:
    """A row answering the third item with `text`, every other item with a plain 4."""
    answers = ["4"] * len(LABELS)
    answers[2] = text
    return survey_row(answers=answers)


@pytest.mark.parametrize("text", ["1e0", "+5", "05", "5.", "5.0", "5.00", "4.0 ", "0005", "5e0"])
def test_a_scale_point_written_in_a_form_the_questionnaire_does_not_declare_is_off_scale(text):
    result = check([one_answer(text)])
    assert result.accepted.empty
    assert result.quarantined["reasons"].tolist() == ["off_scale"]
    assert result.quarantined["details"].iloc[0] == (
        f"off_scale: {LABELS[2]}='{text}' is not an answer on the scale (the questionnaire accepts "
        "numbers only as plain digits (5) from 1 to 5: scale.number_forms)"
    )


def test_plain_digits_on_the_scale_are_scores_whatever_the_spaces_around_them():
    result = check([survey_row(answers=["1", "2", "3", "4", "5", " 5 ", "4", "3", "2", "1"])])
    assert result.quarantined.empty
    assert result.accepted.iloc[0][CODES].tolist() == [1, 2, 3, 4, 5, 5, 4, 3, 2, 1]


@pytest.mark.parametrize("text", ["0", "6", "4.5", "-1", "10"])
def test_a_number_off_the_scale_says_only_that_it_is_off_the_scale(text):
    result = check([one_answer(text)])
    assert result.quarantined["details"].tolist() == [
        f"off_scale: {LABELS[2]}='{text}' is not an answer on the scale"
    ]


def test_decimal_zero_is_a_score_when_the_questionnaire_declares_it():
    questionnaire = with_number_forms("integer", "decimal_zero")
    result = check(
        [survey_row(answers=["5.0", "3.00", "4", "2", "1", "5", "4", "3", "2", "1"])], questionnaire
    )
    assert result.quarantined.empty
    assert result.accepted.iloc[0][CODES].tolist()[:3] == [5, 3, 4]


@pytest.mark.parametrize("text", ["05", "5.", "05.0", "+5.0", "5.5", "6.0"])
def test_decimal_zero_does_not_open_the_door_to_other_forms(text):
    result = check([one_answer(text)], with_number_forms("integer", "decimal_zero"))
    assert result.quarantined["reasons"].tolist() == ["off_scale"]


def test_without_number_forms_only_labels_are_answers():
    result = check([survey_row(answers="满意"), survey_row(respondent=2, answers="4")], with_number_forms())
    assert result.quarantined["source_row"].tolist() == [3]
    assert result.quarantined["details"].iloc[0].startswith(f"off_scale: {LABELS[0]}='4' is not an answer")
    assert "accepts labels only" in result.quarantined["details"].iloc[0]


def test_the_suite_sees_an_undeclared_number_form_as_written_and_a_declared_one_as_its_point():
    rows = [one_answer("05"), survey_row(respondent=2, answers="5")]
    assert check(rows).parsed[CODES[2]].tolist() == ["05", "5"]
    declared = check([one_answer("5.0")], with_number_forms("integer", "decimal_zero"))
    assert declared.parsed[CODES[2]].tolist() == ["5"]
    assert check([one_answer("5.0")]).parsed[CODES[2]].tolist() == ["5.0"]


def test_an_unknown_number_form_is_refused_by_the_schema():
    with pytest.raises(ValidationError, match="number_forms"):
        Scale.model_validate({"points": 5, "labels": {"满意": 4}, "number_forms": ["float"]})


def test_a_scale_without_number_forms_declared_is_refused_by_the_schema():
    with pytest.raises(ValidationError, match="number_forms"):
        Scale.model_validate({"points": 5, "labels": {"满意": 4}})


def test_answers_typed_as_whole_numbers_in_an_xlsx_are_scores(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    row = survey_row()
    sheet.append([row[column] for column in HEADER])
    for position, value in enumerate([5, 4.0, 3, 2.0, 1, 5, 4, 3, 2, 1]):
        sheet.cell(row=2, column=HEADER.index(LABELS[position]) + 1, value=value)
    path = tmp_path / "typed.xlsx"
    book.save(path)
    table = read_table(path)
    assert table.frame.loc[2, LABELS[:2]].tolist() == ["5", "4"]
    result = check([], table=table)
    assert result.quarantined.empty
    assert result.accepted.iloc[0][CODES].tolist() == [5, 4, 3, 2, 1, 5, 4, 3, 2, 1]
