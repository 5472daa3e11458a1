import numpy as np
import pandas as pd
import pytest

from bizenv.report.cells import XLSX_OPTIONS, restore_cell, safe_cell, safe_cells


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "=1+1.csv"])
def test_formula_like_text_gets_a_leading_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["市发改委", "", "1=1", "a-b", "'=1", None, -1, -2.5, np.nan, True])
def test_other_values_are_unchanged(value):
    assert safe_cell(value) is value or (pd.isna(value) and pd.isna(safe_cell(value)))


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://x","y")', "@SUM(A1)", "-2", "+86", "\t=1", "\r=1", "'a", "市发改委", None, -2],
)
def test_restore_cell_undoes_safe_cell(value):
    assert restore_cell(safe_cell(value)) == value


def test_restore_cell_drops_only_the_quote_before_a_formula_start():
    texts = ["'=1", "''=1", "'a", "'", "a'=1"]
    assert [restore_cell(v) for v in texts] == ["=1", "''=1", "'a", "'", "a'=1"]
    # The one text a round trip changes: one that starts with a quote before a formula start.
    assert restore_cell(safe_cell("'=1")) == "=1"


def test_only_text_columns_change_and_the_input_is_untouched():
    frame = pd.DataFrame(
        {
            "file": ["=1+1.csv", "ok.csv"],
            "score": [-1.5, 2.0],
            "rank": [-3, 4],
            "text": pd.Series(["-x", None], dtype="string"),
        }
    )
    out = safe_cells(frame)
    assert out["file"].tolist() == ["'=1+1.csv", "ok.csv"]
    assert out["score"].tolist() == [-1.5, 2.0] and out["score"].dtype == frame["score"].dtype
    assert out["rank"].tolist() == [-3, 4] and out["rank"].dtype == frame["rank"].dtype
    assert out["text"].iloc[0] == "'-x" and pd.isna(out["text"].iloc[1])
    assert frame["file"].tolist() == ["=1+1.csv", "ok.csv"]


def test_duplicate_column_names_are_handled():
    frame = pd.DataFrame([["=a", "@b"]], columns=["x", "x"])
    assert safe_cells(frame).iloc[0].tolist() == ["'=a", "'@b"]


def test_xlsx_strings_are_never_formulas():
    assert XLSX_OPTIONS["strings_to_formulas"] is False
