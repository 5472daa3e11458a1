"""Flags across periods through the CLI, on SQLite and PostgreSQL."""

from pathlib import Path

import pandas as pd
from sqlalchemy import select, text

from bizenv.cli import main
from bizenv.warehouse import tables as t
from tests.builders import run_cli, survey_row, write_survey

SQL = Path(__file__).resolve().parents[2] / "sql"
# Twelve government departments, ten of which are ranked comfortably; the last two swap places.
UNITS = ["市发改委", "科技局", "经信局", "公安局", "司法局", "财政局", "人社局", "生态环境局", "住建局", "交通局",
         "商务局", "统计局"]  # fmt: skip
ANSWERS = ["非常满意", "满意", "一般", "不满意", "非常不满意"]


def batch(period: str, bottom: str, start: int) -> list[dict]:
    """30 respondents per unit; units score by their place in UNITS, `bottom` scores worst."""
    month = "2026-05-10" if period.endswith("H1") else "2025-11-10"
    rows = []
    for u, unit in enumerate(UNITS):
        for i in range(30):
            level = 0 if u < 4 else (1 if u < 9 else 2)
            if unit == bottom:
                level = 4
            answers = [ANSWERS[min(level + (i + j) % 2, 4)] for j in range(10)]
            rows.append(
                survey_row(
                    respondent=start + u * 100 + i,
                    unit=unit,
                    answers=answers,
                    submitted_at=f"{month}T10:00:00",
                )
            )
    return rows


def load_and_evaluate(capsys, tmp_path, db, period, rows, name):
    path = write_survey(tmp_path / f"{name}.csv", rows)
    assert main(["load-survey", str(path), "--period", period, "--db", db]) == 0
    return run_cli(capsys, "evaluate", "--period", period, "--out", str(tmp_path / period), "--db", db)


def test_bottom_twice_in_a_row_is_flagged_and_re_evaluating_the_past_re_derives_it(
    engine, warehouse_url, tmp_path, capsys
):
    load_and_evaluate(capsys, tmp_path, warehouse_url, "2025H2", batch("2025H2", "统计局", 0), "a")
    _, summary, _ = load_and_evaluate(
        capsys, tmp_path, warehouse_url, "2026H1", batch("2026H1", "统计局", 5000), "b"
    )
    flags = pd.read_csv(tmp_path / "2026H1" / "flags.csv")
    repeated = flags[flags["flag"] == "REPEATED_BOTTOM_N"]
    assert "statistics" in set(repeated["unit_code"])
    reason = repeated.set_index("unit_code").loc["statistics", "reason"]
    assert reason == "连续2期位列本组后5名(2025H2第12名/共12家;2026H1第12名/共12家),按规定启动问责"

    # New answers for 2025H2 lift 统计局 out of the bottom five then: 2026H1's flag must go.
    lift = [
        survey_row(
            respondent=90000 + i, unit="统计局", answers="非常满意", submitted_at="2025-12-01T10:00:00"
        )
        for i in range(400)
    ]
    assert (
        main(
            [
                "load-survey",
                str(write_survey(tmp_path / "c.csv", lift)),
                "--period",
                "2025H2",
                "--db",
                warehouse_url,
            ]
        )
        == 0
    )
    _, summary, _ = run_cli(capsys, "evaluate", "--period", "2025H2", "--db", warehouse_url)
    assert summary["rederived_later_periods"] == ["2026H1"]
    assert "re-run evaluate" in summary["stale_outputs"]
    with engine.connect() as conn:
        now = (
            conn.execute(
                select(t.flags.c.flag).where(
                    t.flags.c.period == "2026H1", t.flags.c.unit_code == "statistics"
                )
            )
            .scalars()
            .all()
        )
    assert "BOTTOM_N" in now and "REPEATED_BOTTOM_N" not in now


def test_the_trend_query_lists_every_period_with_its_flags(engine, warehouse_url, tmp_path, capsys):
    load_and_evaluate(capsys, tmp_path, warehouse_url, "2025H2", batch("2025H2", "统计局", 0), "a")
    load_and_evaluate(capsys, tmp_path, warehouse_url, "2026H1", batch("2026H1", "统计局", 5000), "b")
    with engine.connect() as conn:
        rows = conn.execute(text((SQL / "unit_trend.sql").read_text())).mappings().all()
    statistics = [r for r in rows if r["unit_code"] == "statistics"]
    assert [(r["period"], r["rank"], r["bottom_n"], r["repeated_bottom_n"]) for r in statistics] == [
        ("2025H2", 12, 1, 0),
        ("2026H1", 12, 1, 1),
    ]
    ndrc = [r for r in rows if r["unit_code"] == "ndrc"]
    assert all(r["top_n"] == 1 for r in ndrc)
