"""evaluate --out writes the four files of the contract; the reports say what the CSVs say."""

import pandas as pd
from openpyxl import load_workbook

from bizenv.cli import main
from tests.builders import load_rows, survey_row, unit_sample


def test_evaluate_writes_the_html_report_and_the_workbook(engine, warehouse_url, tmp_path, capsys):
    rows = unit_sample("市发改委", 30, "满意") + unit_sample("公安局", 3, "一般", start=500)
    rows += [survey_row(respondent=900, unit="市教育局")]
    load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)
    out = tmp_path / "out"
    assert main(["evaluate", "--period", "2026H1", "--out", str(out), "--db", warehouse_url]) == 0
    capsys.readouterr()
    assert {"rankings.csv", "flags.csv", "report.html", "report.xlsx"} <= {p.name for p in out.iterdir()}

    html = (out / "report.html").read_text(encoding="utf-8")
    assert "鄂州市 企业评议机关满意度评价 · 2026H1" in html
    assert "市发改委" in html and "75.0 (" in html  # all 满意: 75 with its interval
    assert "有效评价企业3家,少于最低样本量30家" in html  # 公安局's flag, with its reason
    assert 'href="quarantine.csv"' in html and "unknown_unit" in html
    assert "<script" not in html

    book = load_workbook(out / "report.xlsx", read_only=True)
    assert book.sheetnames == [  # then one sheet per dimension
        "排名 rankings", "排名稳健性 sensitivity", "综合权重 composite", "问责与表彰 flags", "维度得分 dimensions",
        "部门指标 indicators", "问卷信度 reliability", "隔离数据 quarantine",
        "服务态度 attitude", "办事效率 efficiency", "政策落实 policy", "廉洁自律 integrity",
        "公开透明 transparency",
    ]  # fmt: skip
    ranked = pd.read_excel(out / "report.xlsx", sheet_name="排名 rankings")
    pd.testing.assert_frame_equal(ranked, pd.read_csv(out / "rankings.csv"), check_dtype=False)
    dims = pd.read_excel(out / "report.xlsx", sheet_name="维度得分 dimensions").set_index("unit_code")
    assert dims.loc["ndrc", "服务态度"] == 75.0
    assert pd.isna(dims.loc["public_security", "服务态度"])  # 3 respondents: suppressed
