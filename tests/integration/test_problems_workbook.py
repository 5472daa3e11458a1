"""The unit round trip by spreadsheet, on SQLite and PostgreSQL: export, edit with openpyxl as a
unit office would, import; every quarantine reason; the same file twice; no other unit's
problem in a unit's workbook."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bizenv.rectification import create_problems, transition
from bizenv.rectification.register import read_problems
from bizenv.rectification.workbook import export_workbooks, import_workbook
from bizenv.warehouse import tables as t

CREATED = datetime(2026, 7, 10, 2, 0, tzinfo=UTC)
EXPORTED = CREATED + timedelta(days=1)
RETURNED = datetime(2026, 8, 1, 2, 0, tzinfo=UTC)
THEMES = ["审批时限", "跑动次数", "服务态度", "政策兑现", "信息公开", "推诿扯皮", "吃拿卡要", "其他"]
OTHER_UNIT_SECRET = "税务局窗口只收现金,王五 13900001111 投诉无门"


def register(engine) -> tuple[list[str], str]:
    rows = [
        {"period": "2026H1", "unit_code": "ndrc", "source": "comment", "theme": theme,
         "description": f"{theme}问题", "evidence": {"comments": 3, "quotes": [f"{theme}太差"]}}
        for theme in THEMES
    ] + [
        {"period": "2026H1", "unit_code": "tax", "source": "low_score", "theme": "服务态度",
         "description": OTHER_UNIT_SECRET, "evidence": {"quotes": ["税务局的秘密引语"]}, "co_units": ["ndrc"]}
    ]  # fmt: skip
    with engine.begin() as conn:
        ids = create_problems(conn, pd.DataFrame(rows), "analyst", "test", now=CREATED)
    return ids[:-1], ids[-1]


def export(engine, tmp_path, unit="ndrc") -> Path:
    with engine.begin() as conn:
        summary = export_workbooks(conn, "2026H1", tmp_path / "out", unit=unit, actor="office", now=EXPORTED)
    [book] = summary["workbooks"]
    return Path(book["file"])


def rows_by_id(sheet) -> dict[str, int]:
    header = [c.value for c in sheet[1]]
    column = header.index("problem_id") + 1
    return {sheet.cell(r, column).value: r for r in range(2, sheet.max_row + 1)}


def fill(sheet, row: int, **values) -> None:
    header = [c.value for c in sheet[1]]
    for name, value in values.items():
        sheet.cell(row, header.index(name) + 1).value = value


def problems(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_problems(conn).set_index("problem_id")


def history(engine) -> pd.DataFrame:
    h = t.problem_history
    with engine.connect() as conn:
        return pd.DataFrame([dict(r) for r in conn.execute(select(h).order_by(h.c.id)).mappings()])


def test_a_units_workbook_holds_only_its_own_problems_and_hides_their_ids(engine, tmp_path):
    mine, theirs = register(engine)
    path = export(engine, tmp_path)
    assert path.name == "problems_2026H1_ndrc.xlsx"
    book = load_workbook(path)
    sheet = book["整改台账"]
    assert sorted(rows_by_id(sheet)) == sorted(mine)
    assert sheet.column_dimensions["A"].hidden
    assert sheet.protection.sheet
    assert book["_bizenv"].sheet_state == "veryHidden"
    header = [c.value for c in sheet[1]]
    assert {"单位反馈", "整改措施", "申报状态", "完成日期"} <= set(header)
    [claims] = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert claims.formula1 == '"整改中,已整改"'
    # nothing of the other unit anywhere in the file, hidden parts included
    with zipfile.ZipFile(path) as archive:
        text = "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    for secret in [theirs, OTHER_UNIT_SECRET, "王五", "13900001111", "税务局的秘密引语"]:
        assert secret not in text
    # handing the workbook over assigns its open problems, in the history with the file name
    assert set(problems(engine).loc[mine, "status"]) == {"assigned"}
    assert problems(engine).loc[theirs, "status"] == "open"
    assigned = history(engine).query("field == 'status'")
    assert set(assigned["via"]) == {"bizenv problems export problems_2026H1_ndrc.xlsx"}
    assert set(assigned["actor"]) == {"office"}


def test_the_other_units_workbook_masks_identities_in_its_evidence(engine, tmp_path):
    register(engine)
    path = export(engine, tmp_path, unit="tax")
    sheet = load_workbook(path)["整改台账"]
    cells = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    assert "13900001111" not in cells  # masked by the privacy patterns
    assert "市发改委" in cells  # co-units by name


def test_a_returned_workbook_is_imported_row_by_row_with_every_reason_and_only_once(engine, tmp_path):
    mine, theirs = register(engine)
    p = dict(zip(THEMES, mine, strict=True))
    path = export(engine, tmp_path)
    # after the export, the office verifies one problem the unit reported by telephone
    with engine.begin() as conn:
        transition(conn, p["其他"], "resolved", "unit", "phone", EXPORTED)
        transition(conn, p["其他"], "verified", "office", "test", EXPORTED)

    book = load_workbook(path)
    sheet = book["整改台账"]
    at = rows_by_id(sheet)
    fill(sheet, at[p["审批时限"]], 单位反馈="已成立专班", 整改措施="压缩审批环节", 申报状态="整改中")
    fill(
        sheet,
        at[p["跑动次数"]],
        申报状态="已整改",
        完成日期=date(2026, 7, 20),
        单位反馈="联系人李四 13812345678 已回访",
    )
    fill(sheet, at[p["服务态度"]], 申报状态="已核验")  # a unit cannot verify its own work
    fill(sheet, at[p["政策兑现"]], 申报状态="完成了")
    fill(sheet, at[p["信息公开"]], 完成日期="2026-13-45")
    fill(sheet, at[p["推诿扯皮"]], 完成日期="2026年7月1日")  # before the problem was registered
    fill(sheet, at[p["其他"]], 单位反馈="补充说明")  # verified meanwhile: closed
    # 吃拿卡要 left as exported: accepted, nothing changes
    end = sheet.max_row
    fill(sheet, end + 1, problem_id=theirs, 单位反馈="顺手也写了税务局的")
    fill(sheet, end + 2, problem_id="P2026H1-9999", 单位反馈="不存在的问题")
    fill(sheet, end + 3, 单位反馈="新加的一行，没有编号")
    fill(sheet, end + 4, problem_id=p["审批时限"], 单位反馈="重复的一行")
    book.save(path)
    before = history(engine)

    summary = import_workbook(engine, path, "ndrc-office", now=RETURNED)

    batch_id = hashlib.sha256(path.read_bytes()).hexdigest()
    assert summary["batch_id"] == batch_id
    assert (summary["unit"], summary["period"], summary["duplicate_batch"]) == ("ndrc", "2026H1", False)
    assert (summary["rows_in"], summary["accepted"], summary["quarantined"]) == (12, 3, 9)
    assert summary["changed"] == 2
    assert summary["reasons"] == {
        "unknown_problem": 2,
        "other_unit": 1,
        "duplicate_problem": 1,
        "closed_problem": 1,
        "bad_status": 1,
        "illegal_transition": 1,
        "bad_date": 1,
        "date_before_problem": 1,
    }
    found = problems(engine)
    first, second = found.loc[p["审批时限"]], found.loc[p["跑动次数"]]
    assert (first["status"], first["unit_response"], first["measures"]) == (
        "in_progress",
        "已成立专班",
        "压缩审批环节",
    )
    assert (second["status"], second["completed_on"]) == ("resolved", date(2026, 7, 20))
    assert second["resolved_at"] is not None
    assert "13812345678" not in second["unit_response"] and "李四" not in second["unit_response"]
    for theme in ["服务态度", "政策兑现", "信息公开", "推诿扯皮", "吃拿卡要"]:
        assert found.loc[p[theme], "status"] == "assigned"
        assert pd.isna(found.loc[p[theme], "completed_on"])
    assert found.loc[p["其他"], "status"] == "verified" and pd.isna(found.loc[p["其他"], "unit_response"])
    assert pd.isna(found.loc[theirs, "unit_response"])

    new = history(engine).iloc[len(before) :]
    assert set(new["via"]) == {"problems_2026H1_ndrc.xlsx"}
    assert set(new["batch_id"]) == {batch_id}
    assert set(new["actor"]) == {"ndrc-office"}
    assert sorted(zip(new["problem_id"], new["field"], strict=True)) == sorted(
        [
            (p["审批时限"], "unit_response"),
            (p["审批时限"], "measures"),
            (p["审批时限"], "status"),
            (p["跑动次数"], "unit_response"),
            (p["跑动次数"], "completed_on"),
            (p["跑动次数"], "status"),
            (p["跑动次数"], "resolved_at"),
        ]
    )

    q = t.problem_quarantine
    with engine.connect() as conn:
        kept = pd.DataFrame([dict(r) for r in conn.execute(select(q).order_by(q.c.source_row)).mappings()])
    assert len(kept) == 9 and set(kept["batch_id"]) == {batch_id}
    by_row = dict(zip(kept["source_row"], kept["reasons"], strict=True))
    assert by_row[at[p["服务态度"]]] == "illegal_transition"
    assert by_row[at[p["推诿扯皮"]]] == "date_before_problem"
    assert by_row[end + 1] == "other_unit"
    assert (
        json.loads(kept.loc[kept["source_row"] == end + 3, "raw"].iloc[0])["单位反馈"]
        == "新加的一行，没有编号"
    )
    assert summary["rows"][0]["row"] == at[p["服务态度"]]

    # the same file again: nothing changes, and the summary says so
    again = import_workbook(engine, path, "ndrc-office", now=RETURNED + timedelta(days=1))
    assert again["duplicate_batch"] is True and again["changed"] == 0
    assert (again["rows_in"], again["accepted"], again["quarantined"]) == (12, 3, 9)
    assert len(history(engine)) == len(before) + len(new)
    with engine.connect() as conn:
        assert len(conn.execute(select(q.c.id)).all()) == 9
        assert len(conn.execute(select(t.problem_batches.c.batch_id)).all()) == 1


def test_a_second_return_changes_only_what_differs_and_a_backwards_claim_is_refused(engine, tmp_path):
    mine, _ = register(engine)
    path = export(engine, tmp_path)
    book = load_workbook(path)
    sheet = book["整改台账"]
    row = rows_by_id(sheet)[mine[0]]
    fill(sheet, row, 单位反馈="已整改完毕", 申报状态="已整改", 完成日期="2026/7/25")
    book.save(path)
    assert import_workbook(engine, path, "ndrc-office", now=RETURNED)["changed"] == 1
    fill(sheet, row, 单位反馈="已整改完毕", 申报状态="整改中", 完成日期="2026/7/25")
    book.save(tmp_path / "second.xlsx")
    summary = import_workbook(engine, tmp_path / "second.xlsx", "ndrc-office", now=RETURNED)
    assert summary["reasons"] == {"illegal_transition": 1}
    assert problems(engine).loc[mine[0], "status"] == "resolved"


@pytest.mark.parametrize("completed", [date(2026, 8, 2), "next week"])
def test_a_completion_date_in_the_future_or_not_a_date_is_a_bad_date(engine, tmp_path, completed):
    mine, _ = register(engine)
    path = export(engine, tmp_path)
    book = load_workbook(path)
    sheet = book["整改台账"]
    fill(sheet, rows_by_id(sheet)[mine[0]], 完成日期=completed)
    book.save(path)
    assert import_workbook(engine, path, "x", now=RETURNED)["reasons"] == {"bad_date": 1}


# --- text that reads like a formula ---------------------------------------------------------------

FORMULA = '=HYPERLINK("http://x","y")'
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def register_hostile(engine) -> list[str]:
    rows = [
        {"period": "2026H1", "unit_code": "ndrc", "source": "comment", "theme": "审批时限",
         "description": FORMULA, "evidence": '"@SUM(A1)"'},
        {"period": "2026H1", "unit_code": "ndrc", "source": "comment", "theme": "-2",
         "description": "@SUM(A1)", "evidence": {"quotes": ["-2"]}},
        {"period": "2026H1", "unit_code": "ndrc", "source": "low_score", "theme": "服务态度",
         "description": "-2", "evidence": {"=cmd|' /C calc'!A0": 1}},
    ]  # fmt: skip
    with engine.begin() as conn:
        return create_problems(conn, pd.DataFrame(rows), "analyst", "test", now=CREATED)


def formula_cells(path: Path) -> list[str]:
    """Every cell of every sheet (hidden ones too) that a spreadsheet would run, or that starts
    like a formula; and every formula element in the file's XML."""
    found = []
    for sheet in load_workbook(path).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    found.append(f"{sheet.title}!{cell.coordinate}: formula {cell.value!r}")
                elif isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                    found.append(f"{sheet.title}!{cell.coordinate}: {cell.value!r}")
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and "<f>" in archive.read(name).decode("utf-8"):
                found.append(f"{name}: <f>")
    return found


def test_the_checks_for_formulas_find_them(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active["A1"] = FORMULA
    book.active["A2"] = "-2"
    book.save(tmp_path / "bad.xlsx")
    assert len(formula_cells(tmp_path / "bad.xlsx")) == 3  # the formula, its <f>, text like one


def test_text_like_a_formula_is_exported_inert_and_a_round_trip_keeps_the_units_text(engine, tmp_path):
    ids = register_hostile(engine)
    first = export(engine, tmp_path)
    assert formula_cells(first) == []
    sheet = load_workbook(first)["整改台账"]
    header = [c.value for c in sheet[1]]
    at = rows_by_id(sheet)

    def cell(problem_id: str, column: str):
        return sheet.cell(at[problem_id], header.index(column) + 1).value

    assert cell(ids[0], "问题描述") == "'" + FORMULA
    assert cell(ids[0], "证据") == "'@SUM(A1)"
    assert (cell(ids[1], "主题"), cell(ids[1], "问题描述")) == ("'-2", "'@SUM(A1)")
    assert cell(ids[2], "证据") == "'=cmd|' /C calc'!A0: 1"

    # The unit types its answers as text (a spreadsheet keeps typed text's quote as a style).
    book = load_workbook(first)
    returned = book["整改台账"]
    for problem_id, response, measures in [
        (ids[0], FORMULA, "@SUM(A1)"),
        (ids[1], "-2", "+86 热线回访"),
        (ids[2], "@SUM(A1)", "=1+1"),
    ]:
        fill(returned, at[problem_id], 单位反馈=response, 整改措施=measures, 申报状态="整改中")
        for column in ("单位反馈", "整改措施"):
            returned.cell(at[problem_id], header.index(column) + 1).data_type = "s"
    book.save(tmp_path / "returned.xlsx")
    assert import_workbook(engine, tmp_path / "returned.xlsx", "ndrc-office", now=RETURNED)["changed"] == 3
    texts = problems(engine).loc[ids, ["unit_response", "measures"]].to_numpy().tolist()
    assert texts == [[FORMULA, "@SUM(A1)"], ["-2", "+86 热线回访"], ["@SUM(A1)", "=1+1"]]

    # Exported again, the unit's own text is inert too; returned unchanged, it changes nothing.
    with engine.begin() as conn:
        export_workbooks(
            conn, "2026H1", tmp_path / "again", unit="ndrc", actor="office", now=RETURNED + timedelta(days=1)
        )
    again = tmp_path / "again" / "problems_2026H1_ndrc.xlsx"
    assert formula_cells(again) == []
    sheet = load_workbook(again)["整改台账"]
    assert cell(ids[0], "单位反馈") == "'" + FORMULA and cell(ids[1], "单位反馈") == "'-2"
    assert cell(ids[2], "整改措施") == "'=1+1"
    before = history(engine)
    summary = import_workbook(engine, again, "ndrc-office", now=RETURNED + timedelta(days=2))
    assert (summary["accepted"], summary["quarantined"], summary["changed"]) == (3, 0, 0)
    assert len(history(engine)) == len(before)
    assert problems(engine).loc[ids, ["unit_response", "measures"]].to_numpy().tolist() == texts
