"""bulletin.docx read back with python-docx: the ranking tables are the official ranking, the
bottom-five units and the rule are named, the letterhead comes from the policy, values from data
stay literal text whatever they hold, and a broken template is a one-line error naming it."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from datetime import date
from pathlib import Path

import docx
import pandas as pd
import pytest
from docx.oxml.ns import qn

from bizenv.errors import BizenvError
from bizenv.report.bulletin import cn_count, cn_number, write_bulletin
from tests.tools import program

ISSUED = date(2026, 7, 10)


def _write(report, folder: Path, **kwargs) -> docx.document.Document:
    path = write_bulletin(folder / "bulletin.docx", report, issued=ISSUED, **kwargs)
    return docx.Document(str(path))


@pytest.fixture(scope="module")
def bulletin(evaluated_demo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bulletin")
    return evaluated_demo.report, _write(evaluated_demo.report, folder), folder / "bulletin.docx"


def _texts(document) -> list[str]:
    return [p.text for p in document.paragraphs if p.text.strip()]


def _expected_tables(report) -> list[list[tuple[str, str]]]:
    """(名次, 单位) of each group's rows in rankings.csv, ranked units by rank, then the others,
    groups in the registry's order."""
    csv = report.rankings_csv.merge(report.rankings[["unit_code", "level"]], on="unit_code")
    order = list(report.registry.groups)
    tables = []
    for _, rows in sorted(csv.groupby(["group", "level"]), key=lambda item: order.index(item[0][0])):
        rows = rows.assign(unranked=rows["ranked"] == "false").sort_values(["unranked", "rank", "unit_code"])
        tables.append(
            [("—" if pd.isna(r["rank"]) else str(int(r["rank"])), r["unit_name"]) for _, r in rows.iterrows()]
        )
    return tables


def test_ranking_tables_match_the_rankings_csv_group_by_group(bulletin):
    report, document, _ = bulletin
    assert [[c.text for c in t.rows[0].cells] for t in document.tables] == [
        ["名次", "单位", "满意度指数", "综合得分"]
    ] * len(document.tables)
    found = [[(row.cells[0].text, row.cells[1].text) for row in t.rows[1:]] for t in document.tables]
    assert found == _expected_tables(report)
    # The figures beside them are the rounded ones of rankings.csv.
    figures = {
        row.cells[1].text: (row.cells[2].text, row.cells[3].text)
        for t in document.tables
        for row in t.rows[1:]
    }
    for _, r in report.rankings_csv[report.rankings_csv["ranked"] == "true"].iterrows():
        index, composite = figures[r["unit_name"]]
        assert abs(float(index) - r["satisfaction_index"]) <= 0.05 + 1e-9
        assert abs(float(composite) - r["composite_score"]) <= 0.05 + 1e-9


def test_a_suppressed_index_is_not_in_the_table(bulletin):
    report, document, _ = bulletin
    under = report.rankings[report.rankings["n_respondents"] < report.policy.suppression_min]
    assert not under.empty
    cells = {row.cells[1].text: row.cells[2].text for t in document.tables for row in t.rows[1:]}
    for name in under["unit_name"]:
        assert cells[name] == "—"


def test_bottom_five_and_repeated_units_are_named_with_the_rule(bulletin):
    report, document, _ = bulletin
    texts = _texts(document)
    bottom = report.flags.loc[report.flags["flag"] == "BOTTOM_N", "unit_name"].tolist()
    repeated = report.flags.loc[report.flags["flag"] == "REPEATED_BOTTOM_N", "unit_name"].tolist()
    assert bottom and repeated, "the demo has bottom-five units, some of them twice running"
    listing = next(t for t in texts if t.startswith("本期排名后五位的单位"))
    assert all(name in listing for name in bottom)
    run = next(t for t in texts if t.startswith("连续两次排名后五位的单位"))
    assert all(name in run for name in repeated)
    assert "按规定启动问责" in run
    assert any("连续两次排名后五位的单位,按规定启动问责" in t for t in texts)
    recognised = report.flags.loc[report.flags["flag"].isin(["TOP_N", "MOST_IMPROVED"]), "unit_name"]
    assert all(any(name in t for t in texts) for name in recognised)


def test_summary_paragraph_carries_the_counts(bulletin):
    report, document, _ = bulletin
    summary = next(t for t in _texts(document) if t.startswith("本次测评共有"))
    for key in ("respondents", "responses", "units", "ranked"):
        assert str(report.summary[key]) in summary
    assert "总体满意度指数为" in summary


def test_title_office_and_number_come_from_the_policy(bulletin, evaluated_demo, tmp_path):
    report, document, _ = bulletin
    texts = _texts(document)
    letterhead = report.policy.bulletin
    assert texts[0] == f"{letterhead.number_prefix}〔2026〕\u3000\u3000号"
    assert texts[1] == letterhead.title.replace("{period}", "2026年上半年")
    assert texts[-2:] == [letterhead.issuing_office, "2026年7月10日"]

    other = report.policy.bulletin.model_copy(
        update={
            "issuing_office": "测试发文机关",
            "title": "关于{period}{{ 7*7 }}的通报",
            "number_prefix": "测试办",
        }
    )
    policy = report.policy.model_copy(update={"bulletin": other})
    texts = _texts(_write(dataclasses.replace(report, policy=policy), tmp_path))
    assert texts[0].startswith("测试办〔2026〕")
    assert texts[1] == "关于2026年上半年{{ 7*7 }}的通报"
    assert texts[-2] == "测试发文机关"


def test_layout_a4_margins_and_east_asian_fonts(bulletin):
    _, document, _ = bulletin
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    assert round(section.top_margin.cm, 1) == 3.7 and round(section.left_margin.cm, 1) == 2.8
    title = next(p for p in document.paragraphs if p.text.startswith("关于"))
    assert title.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
    fonts = {
        p.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia"))
        for p in document.paragraphs
        if p.runs and p.text.strip()
    }
    assert {"方正小标宋简体", "黑体", "楷体", "仿宋"} <= fonts


def test_no_field_code_or_hyperlink_anywhere(bulletin):
    _, document, _ = bulletin
    xml = "".join(
        part.blob.decode("utf-8") for part in document.part.package.parts if part.partname.endswith(".xml")
    )
    assert "<w:fldSimple" not in xml and "<w:instrText" not in xml and "<w:hyperlink" not in xml


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ('=HYPERLINK("x")', '=HYPERLINK("x")'),
        ("{{ 7*7 }}{% raw %}", "{{ 7*7 }}{% raw %}"),
        ("市财政局\n## 伪造标题\n{{ group.table }}", "市财政局 ## 伪造标题 {{ group.table }}"),
    ],
)
def test_values_from_data_are_written_literally(evaluated_demo, tmp_path, name, written):
    report = evaluated_demo.report
    # The unit is in the bottom five, so its name reaches the tables and the paragraphs.
    code = report.flags.loc[report.flags["flag"] == "REPEATED_BOTTOM_N", "unit_code"].iloc[0]
    rankings = report.rankings.copy()
    rankings.loc[rankings["unit_code"] == code, "unit_name"] = name
    document = _write(dataclasses.replace(report, rankings=rankings), tmp_path)
    cells = [row.cells[1].text for t in document.tables for row in t.rows[1:]]
    assert written in cells
    assert len(document.tables) == len(_expected_tables(report))
    group = report.registry.groups[report.rankings.set_index("unit_code").loc[code, "group_code"]].name
    texts = _texts(document)
    assert any(f"{written}({group}第" in t for t in texts)
    assert "伪造标题" not in texts and "## 伪造标题" not in texts


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("# {{ title }}\n{% for group in groups %}\n{{ group.name }\n", "line 3"),
        ("# {{ title }}\n{{ no_such_variable }}\n", "no_such_variable"),
        ("{% for group in groups %}排名:{{ group.table }}{% endfor %}\n", "line of its own"),
    ],
)
def test_a_bad_template_is_a_one_line_error_naming_the_file(evaluated_demo, tmp_path, source, message):
    template = tmp_path / "bad_bulletin.md.j2"
    template.write_text(source, encoding="utf-8")
    with pytest.raises(BizenvError) as caught:
        write_bulletin(tmp_path / "out.docx", evaluated_demo.report, template=template)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(str(template)) and message in text
    assert not (tmp_path / "out.docx").exists()


def test_a_missing_template_names_the_file(evaluated_demo, tmp_path):
    with pytest.raises(BizenvError, match="not found"):
        write_bulletin(tmp_path / "out.docx", evaluated_demo.report, template=tmp_path / "absent.md.j2")


def test_numbers_in_words():
    assert [cn_number(n) for n in (1, 2, 5, 10, 12, 20, 21)] == [
        "一",
        "二",
        "五",
        "十",
        "十二",
        "二十",
        "二十一",
    ]
    assert cn_count(2) == "两" and cn_count(5) == "五"


@pytest.mark.documents
def test_libreoffice_converts_the_bulletin_to_pdf(bulletin, tmp_path):
    report, _, path = bulletin
    soffice = program("soffice", "libreoffice")
    command = [
        soffice,
        f"-env:UserInstallation=file://{tmp_path / 'lo'}",
        "--headless",
        "--convert-to",
        "pdf",
        "--outdir",
        str(tmp_path),
        str(path),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "bulletin.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        return  # poppler-utils is not among the document tools: then the PDF is what is checked
    text = subprocess.run(
        [pdftotext, str(pdf), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode()
    first = report.rankings_csv.sort_values("rank").iloc[0]["unit_name"]
    assert first in text.replace(" ", "")
