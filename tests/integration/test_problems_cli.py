"""`bizenv problems ...`: exit codes, the one-line errors and the JSON last line."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from openpyxl import load_workbook

from bizenv.rectification import create_problems
from tests.builders import run_cli

CREATED = datetime(2026, 7, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def registered(engine, warehouse_url, monkeypatch):
    monkeypatch.setenv("BIZENV_ACTOR", "督查科")
    rows = [
        {"period": "2026H1", "unit_code": unit, "source": "comment", "theme": "审批时限", "description": "慢"}
        for unit in ("ndrc", "tax")
    ]
    with engine.begin() as conn:
        return create_problems(conn, pd.DataFrame(rows), "analyst", "test", now=CREATED)


def cli(capsys, warehouse_url, *argv):
    return run_cli(capsys, "problems", *argv, "--db", warehouse_url)


def test_export_edit_import_verify_and_list_through_the_command(registered, warehouse_url, tmp_path, capsys):
    ndrc, _ = registered
    code, summary, _ = cli(capsys, warehouse_url, "export", "--period", "2026H1", "--out", str(tmp_path))
    assert code == 0
    assert [b["unit"] for b in summary["workbooks"]] == ["ndrc", "tax"]
    path = tmp_path / "problems_2026H1_ndrc.xlsx"
    book = load_workbook(path)
    sheet = book["整改台账"]
    header = [c.value for c in sheet[1]]
    sheet.cell(2, header.index("申报状态") + 1).value = "已整改"
    sheet.cell(2, header.index("完成日期") + 1).value = datetime(2026, 7, 12)
    book.save(path)

    code, summary, _ = cli(capsys, warehouse_url, "import", str(path))
    assert (code, summary["accepted"], summary["changed"], summary["duplicate_batch"]) == (0, 1, 1, False)
    code, summary, _ = cli(capsys, warehouse_url, "import", str(path))
    assert (code, summary["duplicate_batch"], summary["changed"]) == (0, True, 0)
    assert "nothing changed" in summary["message"]

    code, summary, _ = cli(capsys, warehouse_url, "verify", ndrc, "--reopen", "--note", "企业反映仍未解决")
    assert (code, summary["from"], summary["to"]) == (0, "resolved", "reopened")
    code, summary, err = cli(capsys, warehouse_url, "verify", ndrc)
    assert code == 1 and summary["exit_code"] == 1
    assert err.startswith("bizenv: error: problem ") and "reopened: it cannot become verified" in err
    assert len(err.strip().splitlines()) == 1

    code, summary, _ = cli(capsys, warehouse_url, "list", "--unit", "市发改委")
    assert (code, summary["problems"], summary["by_status"]) == (0, 1, {"reopened": 1})
    out = run_cli(capsys, "problems", "list", "--status", "assigned", "--db", warehouse_url)
    assert out[1]["problems"] == 1

    from sqlalchemy import select

    from bizenv.warehouse import tables as t
    from bizenv.warehouse.engine import make_engine

    with make_engine(warehouse_url).connect() as conn:
        actors = set(conn.execute(select(t.problem_history.c.actor)).scalars())
    assert actors == {"analyst", "督查科"}


def test_escalate_acts_on_the_given_day_and_refuses_a_day_that_is_not_one(registered, warehouse_url, capsys):
    code, summary, _ = cli(capsys, warehouse_url, "escalate", "--today", "2026-08-10")
    assert (code, summary["moved"], summary["steps"]) == (0, 2, {"first": 2})
    code, summary, _ = cli(capsys, warehouse_url, "escalate", "--today", "2026-08-10")
    assert (code, summary["moved"]) == (0, 0)
    code, summary, err = cli(capsys, warehouse_url, "escalate", "--today", "10/08/2026")
    assert code == 2 and "--today '10/08/2026' is not a date" in err and summary["exit_code"] == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "file not found"),
        (b"PK\x03\x04 this is not really a workbook", "not a readable .xlsx workbook"),
        (b"", "not a readable .xlsx workbook"),
    ],
)
def test_a_missing_or_corrupt_file_is_one_line_and_exit_2(
    registered, warehouse_url, tmp_path, capsys, content, expected
):
    path = tmp_path / "returned.xlsx"
    if content is not None:
        path.write_bytes(content)
    code, summary, err = cli(capsys, warehouse_url, "import", str(path))
    assert code == 2
    assert err.startswith(f"bizenv: error: {path}: {expected}")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert summary == {"status": "error", "exit_code": 2, "message": summary["message"]}


def test_a_workbook_that_is_not_a_unit_workbook_or_lost_a_column_names_what_is_wrong(
    registered, warehouse_url, tmp_path, capsys
):
    from openpyxl import Workbook

    other = tmp_path / "other.xlsx"
    Workbook().save(other)
    code, _, err = cli(capsys, warehouse_url, "import", str(other))
    assert code == 2 and "not a problem workbook exported by `bizenv problems export`" in err

    assert (
        cli(capsys, warehouse_url, "export", "--period", "2026H1", "--unit", "ndrc", "--out", str(tmp_path))[
            0
        ]
        == 0
    )
    path = tmp_path / "problems_2026H1_ndrc.xlsx"
    book = load_workbook(path)
    sheet = book["整改台账"]
    header = [c.value for c in sheet[1]]
    sheet.cell(1, header.index("申报状态") + 1).value = "状态"
    book.save(path)
    code, _, err = cli(capsys, warehouse_url, "import", str(path))
    assert code == 2
    assert err.strip() == f"bizenv: error: {path}, row 1, column '申报状态': column missing"


def test_usage_errors_are_exit_2(registered, warehouse_url, tmp_path, capsys):
    assert cli(capsys, warehouse_url, "verify", "P2026H1-9999")[0] == 2
    assert cli(capsys, warehouse_url, "list", "--status", "done")[0] == 2
    assert (
        cli(
            capsys, warehouse_url, "export", "--period", "2026H1", "--unit", "nowhere", "--out", str(tmp_path)
        )[0]
        == 2
    )
    assert cli(capsys, warehouse_url, "export", "--period", "2026Q1", "--out", str(tmp_path))[0] == 2


def test_returned_workbooks_are_imported_in_one_call_dated_by_today(
    registered, warehouse_url, tmp_path, capsys
):
    from sqlalchemy import select

    from bizenv.demo import returned_workbook
    from bizenv.warehouse import tables as t
    from bizenv.warehouse.engine import make_engine

    code, _, _ = cli(capsys, warehouse_url, "export", "--period", "2026H1", "--out", str(tmp_path / "sent"))
    assert code == 0
    returned = [
        returned_workbook(path, tmp_path / "back" / path.name, seed=i)
        for i, path in enumerate(sorted((tmp_path / "sent").glob("*.xlsx")))
    ]
    # Completion dates up to three weeks past the deadline (9 August): a day after them all.
    code, summary, _ = cli(capsys, warehouse_url, "import", *map(str, returned), "--today", "2026-09-01")
    assert code == 0
    assert [w["unit"] for w in summary["workbooks"]] == ["ndrc", "tax"]
    assert (summary["rows_in"], summary["accepted"], summary["quarantined"]) == (2, 2, 0)
    with make_engine(warehouse_url).connect() as conn:
        loaded = conn.execute(select(t.problem_batches.c.loaded_at)).scalars().all()
    assert {str(moment)[:10] for moment in loaded} == {"2026-09-01"}


def test_today_in_the_future_of_a_completion_date_is_what_import_checks_against(
    registered, warehouse_url, tmp_path, capsys
):
    from bizenv.demo import returned_workbook

    cli(
        capsys,
        warehouse_url,
        "export",
        "--period",
        "2026H1",
        "--unit",
        "ndrc",
        "--out",
        str(tmp_path / "sent"),
    )
    path = returned_workbook(
        tmp_path / "sent" / "problems_2026H1_ndrc.xlsx", tmp_path / "back.xlsx", seed=0, faulty=False
    )
    code, summary, _ = cli(capsys, warehouse_url, "import", str(path), "--today", "2026-07-11")
    assert code == 0 and summary["quarantined"] == summary["rows_in"] == 1
    assert summary["reasons"] == {"bad_date": 1}  # completed after the day it was reported


def test_list_totals_the_problems_as_of_a_day(registered, warehouse_url, engine, capsys):
    from bizenv.rectification import transition

    ndrc, _ = registered
    with engine.begin() as conn:
        transition(conn, ndrc, "resolved", "unit", "test", CREATED)  # the day it was created: on time
    code, summary, _ = cli(capsys, warehouse_url, "list", "--period", "2026H1", "--today", "2026-08-10")
    assert code == 0
    # tax's problem: deadline 9 August (30 days from 10 July), still open on the 10th.
    assert {k: summary[k] for k in ("raised", "solved", "solved_on_time", "open", "overdue")} == {
        "raised": 2, "solved": 1, "solved_on_time": 1, "open": 1, "overdue": 1,
    }  # fmt: skip
    assert summary["closure_rate"] == 0.5 and summary["rectification_rate"] == 50.0
    code, summary, _ = cli(capsys, warehouse_url, "list", "--period", "2025H2")
    assert (code, summary["problems"], summary["raised"], summary["closure_rate"]) == (0, 0, 0, None)
