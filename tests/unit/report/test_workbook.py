"""report.xlsx read back with openpyxl: the tables equal the CSVs, every sheet is a filterable
table with its header frozen, numbers carry display formats, scores and flags are coloured, and
each dimension's sheet holds its items' scores as an independent computation gives them."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from bizenv.report.workbook import display_width, write_workbook

TABLES = [
    "排名 rankings", "排名稳健性 sensitivity", "综合权重 composite", "问责与表彰 flags", "维度得分 dimensions",
    "部门指标 indicators", "问卷信度 reliability", "隔离数据 quarantine",
]  # fmt: skip
RED, ORANGE, GREEN = "FFFFC7CE", "FFFFDDB3", "FFC6EFCE"


@pytest.fixture(scope="module")
def published(evaluated_demo):
    return evaluated_demo.outputs["2026H1"] / "report.xlsx"


@pytest.fixture(scope="module")
def book(published):
    return load_workbook(published)


def header(ws) -> dict[str, int]:
    """Column number (1-based) of each header."""
    return {cell.value: cell.column for cell in ws[1]}


def column_values(ws, name: str) -> list:
    col = header(ws)[name]
    return [row[0] for row in ws.iter_rows(min_row=2, min_col=col, max_col=col, values_only=True)]


def number_formats(ws, name: str) -> set[str]:
    col = header(ws)[name]
    return {
        c[0].number_format
        for c in ws.iter_rows(min_row=2, min_col=col, max_col=col)
        if c[0].value is not None
    }


def colour_scaled(ws) -> dict[str, int]:
    """Header of each column under a colour scale → number of colours of its scale."""
    names = {get_column_letter(col): name for name, col in header(ws).items()}
    found = {}
    for rng in ws.conditional_formatting:
        for rule in rng.rules:
            if rule.type == "colorScale":
                for cells in rng.sqref.ranges:
                    assert cells.min_row == 2 and cells.max_row == ws.max_row
                    found[names[get_column_letter(cells.min_col)]] = len(rule.colorScale.color)
    return found


def test_the_tables_come_first_then_one_sheet_per_dimension(book, evaluated_demo):
    dimensions = evaluated_demo.report.questionnaire.dimensions
    assert book.sheetnames[: len(TABLES)] == TABLES
    assert book.sheetnames[len(TABLES) :] == [f"{d.label} {d.code}" for d in dimensions]


def test_the_rankings_sheet_equals_rankings_csv(published, evaluated_demo):
    sheet = pd.read_excel(published, sheet_name="排名 rankings")
    csv = pd.read_csv(evaluated_demo.outputs["2026H1"] / "rankings.csv")
    pd.testing.assert_frame_equal(sheet, csv, check_dtype=False)


def test_every_sheet_is_a_table_with_its_header_frozen_and_a_filter(book):
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref == f"A1:{get_column_letter(ws.max_column)}{ws.max_row}", ws.title


def test_numbers_carry_display_formats(book):
    expected = {
        "排名 rankings": {
            "satisfaction_index": "0.0", "satisfaction_ci_low": "0.0", "indicator_score": "0.0",
            "composite_score": "0.00", "n_respondents": "0", "rank": "0", "rank_ci_high": "0",
        },
        "排名稳健性 sensitivity": {"p_bottom_n": "0%", "p_top_n": "0%", "composite_score": "0.00", "rank_median": "0"},
        "综合权重 composite": {"share_satisfaction": "0%", "weight_indicators": "0%", "n_units": "0"},
        "维度得分 dimensions": {"服务态度": "0.0", "公开透明": "0.0"},
        "部门指标 indicators": {"frontier_score": "0.0"},
        "问卷信度 reliability": {"alpha": "0.00", "n": "0"},
        "隔离数据 quarantine": {"file_row": "0"},
        "服务态度 attitude": {"n_answered": "0", "服务态度(维度)": "0.0", "工作人员态度热情周到": "0.0"},
    }  # fmt: skip
    for sheet, columns in expected.items():
        for column, fmt in columns.items():
            assert number_formats(book[sheet], column) == {fmt}, (sheet, column)


def test_scores_are_on_a_three_colour_scale(book, evaluated_demo):
    q = evaluated_demo.report.questionnaire
    assert colour_scaled(book["排名 rankings"]) == dict.fromkeys(
        ["satisfaction_index", "indicator_score", "composite_score"], 3
    )
    assert colour_scaled(book["维度得分 dimensions"]) == {d.label: 3 for d in q.dimensions}
    assert colour_scaled(book["部门指标 indicators"]) == {"frontier_score": 3}
    for d in q.dimensions:
        scaled = colour_scaled(book[f"{d.label} {d.code}"])
        assert scaled == dict.fromkeys([f"{d.label}(维度)", *(i.label for i in d.items)], 3)


def test_flag_rows_are_filled_by_kind(book):
    ws = book["问责与表彰 flags"]
    flag_letter = get_column_letter(header(ws)["flag"])
    fills = {}
    for rng in ws.conditional_formatting:
        assert str(rng.sqref) == f"A2:{get_column_letter(ws.max_column)}{ws.max_row}"
        for rule in rng.rules:
            (formula,) = rule.formula
            prefix = f"${flag_letter}2="
            assert formula.startswith(prefix)
            fills[formula.removeprefix(prefix).strip('"')] = rule.dxf.fill.bgColor.rgb
    assert fills == {
        "REPEATED_BOTTOM_N": RED, "RECTIFICATION_OVERDUE": RED, "BOTTOM_N": RED,
        "SIGNIFICANTLY_LOW": ORANGE, "TOP_N": GREEN, "MOST_IMPROVED": GREEN,
    }  # fmt: skip
    assert {"BOTTOM_N", "TOP_N"} <= set(column_values(ws, "flag"))


def independent_item_scores(report, unit: str) -> dict[str, float | None]:
    """Item code → the weighted mean on 0-100 over the unit's respondents who answered it (None
    under the suppression threshold), by a plain loop."""
    k = report.questionnaire.scale.points
    rows = report.responses[report.responses["unit_code"] == unit]
    out: dict[str, float | None] = {}
    for item in report.questionnaire.items():
        total = weight = 0.0
        n = 0
        for index, points in rows[item.code].items():
            if pd.isna(points):
                continue
            w = float(report.weights.loc[index])
            total += w * (points - 1) / (k - 1) * 100
            weight += w
            n += 1
        out[item.code] = total / weight if n >= report.policy.suppression_min else None
    return out


def sheet_rows(ws) -> dict[str, dict]:
    """unit_code → {header: value}."""
    names = [c.value for c in ws[1]]
    return {
        row[names.index("unit_code")]: dict(zip(names, row, strict=True))
        for row in ws.iter_rows(min_row=2, values_only=True)
    }


def test_each_dimension_sheet_holds_its_items_scores_per_unit(book, evaluated_demo):
    report = evaluated_demo.report
    ranked = report.rankings[report.rankings["ranked"]]
    bottom = ranked.sort_values("composite_score")["unit_code"].iloc[0]
    expected = independent_item_scores(report, bottom)
    assert all(v is not None for v in expected.values())
    for d in report.questionnaire.dimensions:
        ws = book[f"{d.label} {d.code}"]
        rows = sheet_rows(ws)
        assert list(rows) == report.rankings["unit_code"].tolist()  # every registered unit, in order
        row = rows[bottom]
        for item in d.items:
            assert row[item.label] == pytest.approx(expected[item.code], rel=1e-9)
            assert 0 <= row[item.label] <= 100
        answered = report.responses.loc[report.responses["unit_code"] == bottom, [i.code for i in d.items]]
        assert row["n_answered"] == answered.notna().any(axis=1).sum()


def test_units_under_the_suppression_threshold_are_blank(book, evaluated_demo):
    report = evaluated_demo.report
    counts = report.responses["unit_code"].value_counts()
    small = counts[counts < report.policy.suppression_min].index.tolist()
    assert small, "the demo has a unit under the suppression threshold"
    unseen = sorted(set(report.rankings["unit_code"]) - set(counts.index))
    for d in report.questionnaire.dimensions:
        rows = sheet_rows(book[f"{d.label} {d.code}"])
        for unit in small + unseen:
            assert all(rows[unit][i.label] is None for i in d.items), (d.code, unit)
            assert rows[unit][f"{d.label}(维度)"] is None
        assert rows[small[0]]["n_answered"] >= 1


def test_suppression_applies_per_item_to_the_respondents_who_answered_it(evaluated_demo, tmp_path):
    """A unit whose respondents left one item blank but for three: that item is blank, the
    others are shown."""
    report = evaluated_demo.report
    minimum = report.policy.suppression_min
    responses = report.responses.copy()
    unit = report.rankings.sort_values("n_respondents", ascending=False)["unit_code"].iloc[0]
    rows = responses.index[responses["unit_code"] == unit]
    item = report.questionnaire.dimensions[0].items[0]
    responses.loc[rows[minimum - 1 :], item.code] = float("nan")
    path = write_workbook(tmp_path / "r.xlsx", dataclasses.replace(report, responses=responses))
    d = report.questionnaire.dimensions[0]
    row = sheet_rows(load_workbook(path)[f"{d.label} {d.code}"])[unit]
    assert row[item.label] is None
    assert row[d.items[1].label] == pytest.approx(
        independent_item_scores(dataclasses.replace(report, responses=responses), unit)[d.items[1].code]
    )


def test_columns_fit_their_text_counting_chinese_characters_twice(book, evaluated_demo):
    assert display_width("市发改委") == 8 and display_width("ndrc") == 4 and display_width("P(后5名)") == 8
    ws = book["排名 rankings"]
    widest_name = max(display_width(n) for n in evaluated_demo.report.rankings["unit_name"])
    width = ws.column_dimensions[get_column_letter(header(ws)["unit_name"])].width
    assert widest_name < width <= widest_name + 8
    for ws in book.worksheets:
        for letter, dimension in ws.column_dimensions.items():
            assert dimension.width <= 61, (ws.title, letter)


def test_hostile_text_is_neither_a_formula_nor_a_link(evaluated_demo, tmp_path):
    report = evaluated_demo.report
    hostile = [
        '=HYPERLINK("http://x","y")',
        "@SUM(A1)",
        "+1",
        "-2",
        "\tx",
        "http://x.example/",
        "mailto:a@b.c",
    ]
    quarantine = pd.DataFrame(
        {
            "file": hostile,
            "batch_id": "b",
            "file_row": range(2, 2 + len(hostile)),
            "reasons": "unknown_unit",
            "details": hostile,
            "original_values": hostile,
        }
    )
    quarantine["reasons"] = pd.Categorical(hostile)  # categories are text from outside too
    # A questionnaire whose item label (a column heading of its dimension's sheet) is a formula.
    data = report.questionnaire.model_dump()
    data["dimensions"][0]["items"][0]["label"] = "=SUM(A1)"
    questionnaire = type(report.questionnaire).model_validate(data)
    path = write_workbook(
        tmp_path / "r.xlsx", dataclasses.replace(report, quarantine=quarantine, questionnaire=questionnaire)
    )
    book = load_workbook(path)
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f" and cell.hyperlink is None, (ws.title, cell.coordinate)
                text = cell.value if isinstance(cell.value, str) else ""
                assert not text.startswith(("=", "+", "-", "@", "\t")), (ws.title, cell.coordinate)
    ws = book["隔离数据 quarantine"]
    quoted = ["'" + v if v[0] in "=+-@\t" else v for v in hostile]
    assert column_values(ws, "file") == column_values(ws, "reasons") == quoted
    d = questionnaire.dimensions[0]
    assert "'=SUM(A1)" in header(book[f"{d.label} {d.code}"])
