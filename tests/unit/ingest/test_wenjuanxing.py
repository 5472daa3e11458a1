import json

import pandas as pd
import pytest

from bizenv.errors import BizenvError
from bizenv.ingest.reading import read_table
from bizenv.ingest.rows import check_rows
from bizenv.ingest.survey_batch import standard_batch
from bizenv.periods import Period
from bizenv.schemas import load_questionnaire, load_registry
from tests.builders import LABELS, survey_row, wenjuanxing_export, write_frame

Q = load_questionnaire()
CODES = [item.code for item in Q.items()]
# Three units, named as in seed 000, numbered differently from the demo's export.
UNITS = ["市发改委", "人行鄂州中支", "市中级人民法院"]


def sample_rows() -> list[dict]:
    return [
        survey_row(
            1,
            "市发改委",
            ["非常满意", "满意", "一般", "不满意", "非常不满意", "满意", "满意", "不了解", "一般", "满意"],
        ),
        survey_row(1, "市中级人民法院", "一般"),
        survey_row(2, "人行鄂州中支", "满意", comment="办事快,电话13912345678"),
    ]


def load(path):
    batch = standard_batch(read_table(path), Q)
    checked = check_rows(
        batch,
        period=Period.parse("2026H1"),
        registry=load_registry(),
        questionnaire=Q,
        salt="s",
        fieldwork_grace_days=45,
    )
    return batch, checked


@pytest.mark.parametrize(("suffix", "encoding"), [(".csv", "gbk"), (".csv", "utf-8-sig"), (".xlsx", None)])
def test_wide_export_becomes_one_row_per_rated_unit_with_the_right_scores(tmp_path, suffix, encoding):
    wide = wenjuanxing_export(sample_rows(), UNITS, first_number=12)
    path = write_frame(tmp_path / f"wjx{suffix}", wide, encoding or "utf-8")
    batch, checked = load(path)
    assert batch.file_rows == 2
    assert len(checked.accepted) == 3 and checked.quarantined.empty
    scores = checked.accepted.set_index("unit_code")[CODES]
    assert scores.loc["ndrc"].tolist() == pytest.approx(
        [5, 4, 3, 2, 1, 4, 4, float("nan"), 3, 4], nan_ok=True
    )
    assert scores.loc["intermediate_court"].tolist() == [3.0] * 10
    assert scores.loc["pboc_ezhou"].tolist() == [4.0] * 10
    court = checked.accepted.set_index("unit_code").loc["intermediate_court"]
    assert court["submitted_at"] == pd.Timestamp("2026-05-10 10:00:00")
    assert court["duration_seconds"] == 300.0
    assert court["enterprise_size"] == "小型" and court["comment"] == ""
    assert checked.accepted.set_index("unit_code").loc["pboc_ezhou", "comment"] == "办事快,电话[电话]"


def test_grid_rows_joined_by_a_hyphen_are_read_too(tmp_path):
    path = write_frame(tmp_path / "wjx.csv", wenjuanxing_export(sample_rows(), UNITS, separator="-"))
    _, checked = load(path)
    assert sorted(checked.accepted["unit_code"]) == ["intermediate_court", "ndrc", "pboc_ezhou"]


def test_a_respondent_who_rated_no_unit_is_quarantined_not_lost(tmp_path):
    wide = wenjuanxing_export(sample_rows(), UNITS)
    nobody = wide.iloc[[0]].copy()
    grid = [c for c in wide.columns if "请您对" in c]
    nobody[grid] = "(跳过)"
    path = write_frame(tmp_path / "wjx.csv", pd.concat([wide, nobody], ignore_index=True))
    batch, checked = load(path)
    assert len(batch.frame) == len(checked.accepted) + len(checked.quarantined) == 4
    assert checked.quarantined["reasons"].tolist() == ["missing_unit"]
    assert checked.quarantined["source_row"].tolist() == [4]


def test_quarantine_keeps_the_respondent_cells_and_only_that_units_grid(tmp_path):
    rows = sample_rows()
    rows[1][LABELS[0]] = "很好"
    path = write_frame(tmp_path / "wjx.csv", wenjuanxing_export(rows, UNITS))
    _, checked = load(path)
    bad = checked.quarantined.iloc[0]
    assert bad["reasons"] == "off_scale"
    raw = json.loads(bad["raw"])
    assert raw["1、贵企业的统一社会信用代码"].startswith("sha256:")  # never the code itself
    assert rows[0]["respondent_id"] not in bad["raw"]
    grid_keys = [k for k in raw if "请您对" in k]
    assert len(grid_keys) == 10 and all("市中级人民法院" in k for k in grid_keys)


def test_a_grid_naming_an_unknown_unit_quarantines_its_rows(tmp_path):
    rows = [survey_row(1, "市教育局", "满意"), survey_row(1, "市发改委", "满意")]
    path = write_frame(tmp_path / "wjx.csv", wenjuanxing_export(rows, ["市发改委", "市教育局"]))
    _, checked = load(path)
    assert checked.quarantined["reasons"].tolist() == ["unknown_unit"]
    assert "unit='市教育局'" in checked.quarantined["details"].iloc[0]


def test_a_grid_lacking_an_item_row_is_a_header_error_naming_the_unit(tmp_path):
    wide = wenjuanxing_export(sample_rows(), UNITS)
    wide = wide.drop(columns=[c for c in wide.columns if "人行鄂州中支" in c and c.endswith(LABELS[3])])
    path = write_frame(tmp_path / "wjx.csv", wide)
    with pytest.raises(BizenvError, match=f"the grid rating 人行鄂州中支 lacks the row\\(s\\) {LABELS[3]}"):
        load(path)


def test_an_export_without_the_credit_code_question_is_refused(tmp_path):
    wide = wenjuanxing_export(sample_rows(), UNITS)
    wide = wide.drop(columns=[c for c in wide.columns if "统一社会信用代码" in c])
    with pytest.raises(BizenvError, match="no question matching the respondent key") as info:
        load(write_frame(tmp_path / "wjx.csv", wide))
    assert "row 1" in str(info.value)
