"""Hostile cell values load the same way on SQLite and PostgreSQL: non-finite numbers are
quarantined, NUL characters are stripped, a comment `\\N` stays text, and a period created by two
batches at once is created once."""

import pandas as pd
import pytest
from sqlalchemy import event, select

from bizenv.periods import Period
from bizenv.warehouse import tables as t
from bizenv.warehouse.writes import ensure_period
from tests.builders import LABELS, load_rows, run_cli, survey_row, unit_sample

# Texts pandas reads as numbers that are not finite, or too large to be a whole number.
NON_FINITE = ["inf", "-inf", "Infinity", "-Infinity", "nan", "NaN", "1e400", "-1e400", "1e300"]


def stored(engine, *columns):
    with engine.connect() as conn:
        return conn.execute(select(*columns)).all()


def test_non_finite_scores_are_off_scale(engine, warehouse_url, tmp_path, capsys):
    hostile = [survey_row(respondent=100 + i, **{LABELS[i]: v}) for i, v in enumerate(NON_FINITE)]
    code, summary, err = load_rows(
        capsys, tmp_path / "s.csv", unit_sample("市发改委", 40, "满意") + hostile, warehouse_url
    )
    assert code == 0, err
    assert summary["reasons"] == {"off_scale": len(NON_FINITE)}
    assert summary["rows_in"] == summary["accepted"] + summary["quarantined"] == 40 + len(NON_FINITE)
    assert len(stored(engine, t.quarantined_rows.c.id)) == len(NON_FINITE)


def test_non_finite_durations_are_bad_durations(engine, warehouse_url, tmp_path, capsys):
    durations = ["inf", "-inf", "Infinity", "nan", "1e400", "1e400秒"]
    hostile = [survey_row(respondent=100 + i, duration_seconds=v) for i, v in enumerate(durations)]
    code, summary, err = load_rows(
        capsys, tmp_path / "s.csv", unit_sample("市发改委", 40, "满意") + hostile, warehouse_url
    )
    assert code == 0, err
    assert summary["reasons"] == {"bad_duration": len(durations)}
    assert summary["rows_in"] == summary["accepted"] + summary["quarantined"] == 40 + len(durations)


def test_non_finite_metric_values_are_bad_values(engine, warehouse_url, tmp_path, capsys):
    good = [
        ("市场监管局", "business_startup_days", "1", "年报"),
        ("行政审批局", "online_service_rate", "95.5%", "政务服务网"),
        ("供电公司", "electricity_connection_days", "12", "国网统计"),
        ("税务局", "tax_payment_hours", "100", "抽样"),
    ]
    hostile = [
        ("行政审批局", "business_startup_days", v, "") for v in ["inf", "-inf", "nan", "1e400", "Infinity"]
    ]
    path = tmp_path / "m.csv"
    pd.DataFrame(good * 5 + hostile, columns=["unit", "indicator", "value", "source"]).to_csv(
        path, index=False
    )
    code, summary, err = run_cli(
        capsys, "load-metrics", str(path), "--period", "2026H1", "--db", warehouse_url
    )
    assert code in (0, 1), err
    assert summary["reasons"]["bad_value"] == len(hostile)
    assert "implausible_value" not in summary["reasons"]
    assert summary["rows_in"] == summary["accepted"] + summary["quarantined"] == 25


def test_nul_characters_are_stripped_from_text_on_both_databases(engine, warehouse_url, tmp_path, capsys):
    rows = unit_sample("市发改委", 40, "满意") + [
        survey_row(respondent=100, comment="营商\x00环境", industry="制造\x00业"),
        survey_row(respondent=101, unit="市发\x00改委X"),  # unknown unit, its detail keeps the text
    ]
    code, summary, err = load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)
    assert code == 0, err
    assert summary["reasons"] == {"unknown_unit": 1}
    r = t.survey_responses
    with engine.connect() as conn:
        kept = conn.execute(select(r.c.comment, r.c.industry).where(r.c.source_row == 42)).one()
        details = conn.execute(select(t.quarantined_rows.c.details)).scalar_one()
    assert tuple(kept) == ("营商环境", "制造业")
    assert "市发改委X" in details and "\x00" not in details

    metrics = tmp_path / "m.csv"
    pd.DataFrame(
        [("供电公司", "electricity_connection_days", "12", "国网\x00统计")],
        columns=["unit", "indicator", "value", "source"],
    ).to_csv(metrics, index=False)
    code, summary, err = run_cli(
        capsys, "load-metrics", str(metrics), "--period", "2026H1", "--db", warehouse_url
    )
    assert code == 0, err
    assert stored(engine, t.department_metrics.c.source) == [("国网统计",)]


def test_a_comment_of_backslash_n_is_text_not_null(engine, warehouse_url, tmp_path, capsys):
    comments = ["\\N", "", "\\n", '"\\N"', "NULL", "a,b\nc", "\\.", ","]
    rows = unit_sample("市发改委", 40, "满意")
    for i, comment in enumerate(comments):
        rows[i]["comment"] = comment
    code, summary, err = load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)
    assert code == 0, err
    r = t.survey_responses
    with engine.connect() as conn:
        back = dict(conn.execute(select(r.c.source_row, r.c.comment).where(r.c.source_row <= 9)).all())
    # A blank comment is no comment (NULL) on both databases.
    assert back == {2 + i: comment or None for i, comment in enumerate(comments)}


# --- ensure_period ------------------------------------------------------------------------------


def periods(engine):
    return stored(engine, t.periods.c.period)


def test_ensure_period_twice_in_separate_transactions(engine):
    period = Period.parse("2026H1")
    with engine.begin() as conn:
        ensure_period(conn, period)
    with engine.begin() as conn:
        ensure_period(conn, period)
    assert periods(engine) == [("2026H1",)]


def test_ensure_period_when_the_period_appears_meanwhile(engine):
    """Another batch creates the period after this one looked and before it inserts (simulated: the
    row is committed from another connection just before this transaction's insert runs)."""
    period = Period.parse("2026H1")
    created = []

    def create_elsewhere(conn, cursor, statement, parameters, context, executemany):
        if not created and statement.lstrip().upper().startswith("INSERT") and "periods" in statement:
            created.append(True)
            with engine.begin() as other:
                other.execute(
                    t.periods.insert().values(
                        period=period.label, start_date=period.start, end_date=period.end
                    )
                )

    event.listen(engine, "before_cursor_execute", create_elsewhere)
    try:
        with engine.begin() as conn:
            ensure_period(conn, period)
    finally:
        event.remove(engine, "before_cursor_execute", create_elsewhere)
    assert created
    assert periods(engine) == [("2026H1",)]


def test_ensure_period_keeps_an_existing_period(engine):
    period = Period.parse("2026H1")
    with engine.begin() as conn:
        conn.execute(
            t.periods.insert().values(period=period.label, start_date=period.start, end_date=period.end)
        )
    with engine.begin() as conn:
        ensure_period(conn, period)
    with engine.connect() as conn:
        row = conn.execute(select(t.periods)).one()
    assert (row.period, row.start_date, row.end_date) == ("2026H1", period.start, period.end)


@pytest.mark.parametrize("label", ["2026H1", "2026H2"])
def test_ensure_period_creates_a_missing_period(engine, label):
    with engine.begin() as conn:
        ensure_period(conn, Period.parse(label))
    assert periods(engine) == [(label,)]
