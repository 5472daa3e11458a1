"""Metric files cut short, and metric workbooks never calculated, are quarantined like survey
files, on SQLite and PostgreSQL."""

import openpyxl
import pandas as pd

from tests.builders import run_cli

GOOD = [
    ("市场监管局", "business_startup_days", "1", "年报"),
    ("行政审批局", "online_service_rate", "95.5%", "政务服务网"),
    ("供电公司", "electricity_connection_days", "12", "国网统计"),
    ("税务局", "tax_payment_hours", "100", "抽样"),
    ("行政审批局", "business_startup_days", "3", "抽样"),
]


def load(capsys, path, warehouse_url):
    return run_cli(capsys, "load-metrics", str(path), "--period", "2026H1", "--db", warehouse_url)


def test_a_metric_row_cut_short_is_short_row_not_a_value_left_blank(engine, warehouse_url, tmp_path, capsys):
    path = tmp_path / "m.csv"
    lines = (
        pd.DataFrame(GOOD, columns=["unit", "indicator", "value", "source"]).to_csv(index=False).splitlines()
    )
    lines[5] = "行政审批局,business_startup_days"  # file row 6: 2 of 4 fields
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, summary, err = load(capsys, path, warehouse_url)
    assert code == 0, err
    # The value it lacks is also a bad value; the row is quarantined once, with both reasons.
    assert summary["reasons"] == {"short_row": 1, "bad_value": 1}
    assert summary["rows_in"] == summary["accepted"] + summary["quarantined"] == 5


def test_a_metric_value_held_by_an_uncalculated_formula_is_quarantined(
    engine, warehouse_url, tmp_path, capsys
):
    path = tmp_path / "m.xlsx"
    pd.DataFrame(GOOD, columns=["unit", "indicator", "value", "source"]).to_excel(path, index=False)
    book = openpyxl.load_workbook(path)
    book.active["C3"] = "=90+5.5"  # file row 3's value, never calculated
    book.save(path)
    code, summary, err = load(capsys, path, warehouse_url)
    assert code == 0, err
    assert summary["reasons"] == {"formula_without_value": 1, "bad_value": 1}
    assert (summary["accepted"], summary["quarantined"]) == (4, 1)
