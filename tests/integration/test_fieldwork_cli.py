"""`bizenv fieldwork`: the JSON summary and files of a good run, and one-line errors for bad
input."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from bizenv.warehouse import tables as t
from tests.builders import load_rows, run_cli, survey_row


def test_fieldwork_writes_the_period_folder_and_summarises_it(engine, warehouse_url, tmp_path, capsys):
    code, loaded, _ = load_rows(
        capsys,
        tmp_path / "batch.csv",
        [survey_row(respondent=i, submitted_at="2026-04-15T10:00:00") for i in range(31)],
        warehouse_url,
    )
    assert code == 0 and loaded["accepted"] == 31
    with engine.begin() as conn:  # as if it had arrived on 20 April
        conn.execute(update(t.survey_batches).values(loaded_at=datetime(2026, 4, 20, 2, tzinfo=UTC)))
    out = tmp_path / "out" / "2026H1"

    code, summary, err = run_cli(
        capsys,
        "fieldwork",
        "--period",
        "2026H1",
        "--as-of",
        "2026-04-23",
        "--out",
        str(out),
        "--db",
        warehouse_url,
    )

    assert (code, err) == (0, "")
    # 113 of 226 fieldwork days gone: 31 enterprises project to 62, over the target of 60.
    assert summary["statuses"] == {"will_miss": 34, "at_risk": 0, "on_track": 1, "reached": 0}
    assert {
        key: summary[key] for key in ("period", "as_of", "fieldwork_close", "days_elapsed", "days_left")
    } == {
        "period": "2026H1",
        "as_of": "2026-04-23",
        "fieldwork_close": "2026-08-14",
        "days_elapsed": 113,
        "days_left": 113,
    }
    assert (summary["min_respondents"], summary["target_respondents"]) == (30, 60)
    assert (summary["units"], summary["respondents"], summary["at_risk"]) == (35, 31, [])
    assert summary["will_miss"][0] == {
        "unit_code": "admin_approval",
        "unit_name": "行政审批局",
        "respondents": 0,
        "projected": 0.0,
    }
    assert "ndrc" not in {unit["unit_code"] for unit in summary["will_miss"]}
    assert summary["last_batch"] == "2026-04-20"
    assert (summary["days_since_last_batch"], summary["quiet"], summary["quiet_days"]) == (3, False, 7)
    assert summary["outputs"] == {
        "csv": str(out / "fieldwork" / "fieldwork.csv"),
        "html": str(out / "fieldwork" / "fieldwork.html"),
    }
    assert all(Path(path).stat().st_size > 0 for path in summary["outputs"].values())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--period", "2026H3"], "bizenv: error: period '2026H3' is not a half-year label like 2026H1"),
        (
            ["--period", "2026H1", "--as-of", "2026-02-30"],
            "bizenv: error: --as-of '2026-02-30' is not a date like 2026-04-23",
        ),
        (
            ["--period", "2026H1", "--as-of", "20260423"],
            "bizenv: error: --as-of '20260423' is not a date like 2026-04-23",
        ),
        (
            ["--period", "2026H2", "--as-of", "2026-06-30"],
            "bizenv: error: fieldwork for 2026H2 starts on 2026-07-01, after 2026-06-30",
        ),
    ],
)
def test_bad_period_or_date_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    db = f"sqlite:///{tmp_path / 'w.sqlite'}"
    assert run_cli(capsys, "init-db", "--db", db)[0] == 0

    code, last, err = run_cli(capsys, "fieldwork", *argv, "--out", str(tmp_path / "out"), "--db", db)

    assert code == 2
    assert err.splitlines() == [message]
    assert last == {"status": "error", "exit_code": 2, "message": message.removeprefix("bizenv: error: ")}
    assert not (tmp_path / "out").exists()


def test_fieldwork_is_listed_in_the_help(capsys):
    from bizenv.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    assert "fieldwork" in capsys.readouterr().out


def test_status_reports_the_fieldwork_of_open_periods(engine, tmp_path, capsys):
    from bizenv.status import warehouse_status

    rows = [survey_row(respondent=i, submitted_at="2026-04-15T10:00:00") for i in range(31)]
    assert (
        load_rows(capsys, tmp_path / "batch.csv", rows, engine.url.render_as_string(hide_password=False))[0]
        == 0
    )
    with engine.begin() as conn:
        conn.execute(update(t.survey_batches).values(loaded_at=datetime(2026, 4, 10, 2, tzinfo=UTC)))

    status = warehouse_status(engine, today=date(2026, 4, 23))

    assert status["fieldwork"] == [
        {
            "period": "2026H1",
            "as_of": "2026-04-23",
            "fieldwork_close": "2026-08-14",
            "days_left": 113,
            "statuses": {"will_miss": 34, "at_risk": 0, "on_track": 1, "reached": 0},
            "last_batch": "2026-04-10",
            "days_since_last_batch": 13,
            "quiet": True,
        }
    ]
    assert (
        "2026H1  fieldwork until 2026-08-14 (113 day(s) left): 34 will miss, 0 at risk, 1 on track, "
        "0 reached; last batch 2026-04-10 (13 day(s) ago)"
    ) in status["lines"]
    assert status["attention"] == [
        "2026H1: 34 unit(s) will miss the minimum of 30 respondents by 2026-08-14 at their rate so far "
        "(行政审批局, 临空物流发展服务中心, 安泰天然气公司, 银保监分局, 人防办, …): see `bizenv fieldwork --period 2026H1`",
        "2026H1: no survey batch accepted for 13 day(s) (since 2026-04-10); fieldwork closes on 2026-08-14",
    ]
    assert status["healthy"] is False
    # Once its fieldwork has closed the period is no longer watched: nothing needs anyone.
    closed = warehouse_status(engine, today=date(2026, 8, 15))
    assert (closed["fieldwork"], closed["attention"], closed["healthy"]) == ([], [], True)
