"""Hostile text from the input is inert in every document the pipeline writes.

A registry with two units named like a formula and like markup (their aliases too), survey
answers whose comments and attributes are formulas, markup and tab-led text, a survey file whose
name is both, quarantined survey and metric rows holding such values, and inbox batches (one
loaded with quarantined rows, one refused): the period is evaluated with `bizenv evaluate --out`
and its fieldwork written into the same folder. Then every file found, recursively:

- CSV: no cell starts with `= + - @`, tab or carriage return unless it is a plain number
  (a negative number is data, not a formula);
- XLSX: no cell is a formula, a hyperlink, or text starting like one;
- HTML: no script element or event attribute carries anything from the data, and the hostile
  markup appears only escaped;
- DOCX (the bulletin): no field code or hyperlink from the data.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

from bizenv.cli import main
from bizenv.config import schemas_dir
from bizenv.ingest.inbox import Landing, process_file
from tests.builders import LABELS, run_cli, survey_row, unit_sample

FORMULA = '=HYPERLINK("http://x","y")'
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
HOSTILE = [SCRIPT, FORMULA, "@SUM(A1)", "+1", "-2", "\t=1+1", "\r=2+2", IMG, "=cmd|' /C calc'!A0"]
# What a hostile value leaves behind when it runs: used to look inside scripts and handlers.
MARKERS = ("alert(", "HYPERLINK", "SUM(A1)", "calc'")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

HOSTILE_UNITS = [
    {
        "code": "hostile_formula",
        "name": FORMULA,
        "full_name": "=cmd|' /C calc'!A0",
        "aliases": ["@SUM(A1)", "+1", "-2"],
        "group": "government",
    },
    {
        "code": "hostile_markup",
        "name": SCRIPT,
        "full_name": "<b>加粗</b>局",
        "aliases": [IMG],
        "group": "government",
    },
]


@pytest.fixture
def hostile_registry(tmp_path, monkeypatch) -> Path:
    """A copy of the schema folder whose registry also holds the two hostile units."""
    folder = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), folder)
    registry = yaml.safe_load((folder / "units.yaml").read_text(encoding="utf-8"))
    registry["units"] += HOSTILE_UNITS
    (folder / "units.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("BIZENV_SCHEMAS_DIR", str(folder))
    return folder


def with_comments(rows: list[dict], start: int = 0) -> list[dict]:
    for i, row in enumerate(rows):
        row["comment"] = HOSTILE[(start + i) % len(HOSTILE)] + f" 第{i}条意见"
    return rows


def survey_rows() -> list[dict]:
    rows = with_comments(unit_sample("市发改委", 40, "满意"))
    rows += with_comments(unit_sample("@SUM(A1)", 35, "一般", start=100), start=3)  # alias
    rows += with_comments(unit_sample(IMG, 35, "不满意", start=200), start=5)  # alias
    rows += [
        # Quarantined: an unknown unit, attributes off the list, a bad credit code, off-scale answers.
        survey_row(respondent=900, unit=FORMULA + "X", comment=SCRIPT),
        survey_row(respondent=901, district="\t=1+1", industry=FORMULA, comment="@SUM(A1)"),
        survey_row(respondent=902, respondent_id="=1+1", comment="-2"),
        survey_row(respondent=903, **{LABELS[0]: "+1", LABELS[1]: SCRIPT}),
        survey_row(respondent=904, unit=SCRIPT + "局", enterprise_size="-2"),
    ]
    return rows


def write_quoted(path: Path, rows: list[dict]) -> Path:
    """A canonical CSV with every field quoted, as spreadsheet programs write a cell holding a
    carriage return (unquoted, it ends the line)."""
    pd.DataFrame(rows).to_csv(path, index=False, quoting=csv.QUOTE_ALL)
    return path


def drop(landing: Landing, name: str, rows: list[dict]) -> Path:
    folder = landing.inbox / "2026H1"
    folder.mkdir(parents=True, exist_ok=True)
    path = write_quoted(folder / name, rows)
    old = time.time() - 3600
    os.utime(path, (old, old))
    return path


def csv_problems(path: Path) -> list[str]:
    problems = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        for r, row in enumerate(csv.reader(f), start=1):
            for c, cell in enumerate(row, start=1):
                if cell.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(cell):
                    problems.append(f"{path.name} row {r} column {c}: {cell[:40]!r}")
    return problems


def xlsx_problems(path: Path) -> list[str]:
    problems = []
    for ws in load_workbook(path).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                where = f"{path.name} {ws.title}!{cell.coordinate}"
                if cell.data_type == "f":
                    problems.append(f"{where}: formula {cell.value!r}")
                if cell.hyperlink is not None:
                    problems.append(f"{where}: hyperlink {cell.hyperlink.target!r}")
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                    problems.append(f"{where}: {cell.value[:40]!r}")
    return problems


class ActiveContent(HTMLParser):
    """Collects what a browser would run: script elements' text and sources, event handler
    attributes, javascript: links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.active: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.active.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self._in_script = True
            self.active.append(f"<script src={dict(attrs).get('src')!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.active.append(data)


def html_problems(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    problems = [f"{path.name}: raw {raw!r}" for raw in (SCRIPT, IMG, "<b>加粗</b>") if raw in text]
    parser = ActiveContent()
    parser.feed(text)
    problems += [
        f"{path.name}: active content {item[:60]!r}"
        for item in parser.active
        if any(marker in item for marker in MARKERS)
    ]
    return problems


def docx_problems(path: Path) -> list[str]:
    from docx import Document

    document = Document(str(path))
    xml = "".join(
        part.blob.decode("utf-8", "replace")
        for part in document.part.package.parts
        if part.partname.endswith(".xml")
    )
    problems = [f"{path.name}: field code {m!r}" for m in re.findall(r"<w:instrText[^>]*>([^<]*)", xml)]
    problems += [f"{path.name}: field {m!r}" for m in re.findall(r'w:fldSimple [^>]*w:instr="([^"]*)"', xml)]
    problems += [f"{path.name}: hyperlink" for _ in re.findall(r"<w:hyperlink ", xml)]
    return problems


def test_hostile_values_are_inert_in_every_file_written(
    engine, warehouse_url, hostile_registry, tmp_path, capsys
):
    # A survey file named like a formula and like markup, through the real loader.
    survey = write_quoted(tmp_path / "=SUM(1,2)<script>.csv", survey_rows())
    code, summary, err = run_cli(
        capsys, "load-survey", str(survey), "--period", "2026H1", "--db", warehouse_url
    )
    assert code == 0, (
        err,
        {k: summary[k] for k in ("status", "reasons", "validation", "rows_in", "quarantined")},
    )
    assert summary["quarantined"] == 5, summary
    metrics = tmp_path / "@metrics.csv"
    pd.DataFrame(
        [
            ("市场监管局", "business_startup_days", "1", FORMULA),
            ("行政审批局", "online_service_rate", "95.5%", SCRIPT),
            ("供电公司", "electricity_connection_days", "12", "\t=1+1"),
            ("-2", "tax_payment_hours", "100", "+1"),  # unknown unit: quarantined
            ("税务局", "@SUM(A1)", "1", IMG),  # unknown indicator: quarantined
        ],
        columns=["unit", "indicator", "value", "source"],
    ).to_csv(metrics, index=False)
    code, summary, err = run_cli(
        capsys, "load-metrics", str(metrics), "--period", "2026H1", "--db", warehouse_url
    )
    assert code in (0, 1) and summary["quarantined"] >= 2, err

    # The inbox: a batch loaded with quarantined rows, and a refused one (its errors file).
    landing = Landing(tmp_path / "landing")
    loaded = with_comments(unit_sample("市发改委", 9, "满意", start=300)) + [
        survey_row(respondent=399, unit=FORMULA + "局", industry=SCRIPT, comment="\t=1+1")
    ]
    refused = [survey_row(respondent=400 + i, unit=f"{FORMULA}{i}", comment=SCRIPT) for i in range(3)]
    first = process_file(engine, landing, drop(landing, "+1 batch.csv", loaded), "2026H1")
    second = process_file(engine, landing, drop(landing, "@refused.csv", refused), "2026H1")
    assert first["status"] == "accepted" and first.get("quarantine_report"), first
    assert second["status"] == "refused" and second["errors"].endswith(".errors.csv"), second

    out = tmp_path / "out"
    assert (
        main(
            [
                "fieldwork",
                "--period",
                "2026H1",
                "--as-of",
                "2026-05-20",
                "--out",
                str(out),
                "--db",
                warehouse_url,
            ]
        )
        == 0
    )
    assert main(["evaluate", "--period", "2026H1", "--out", str(out), "--db", warehouse_url]) == 0
    capsys.readouterr()

    # Every file of the output folder; of the landing folder the reports the inbox wrote beside
    # the files it moved (those are the evaluators' own input, kept as delivered).
    reports = [p for p in landing.root.rglob("*.csv") if p.name.endswith((".quarantine.csv", ".errors.csv"))]
    files = sorted([p for p in out.rglob("*") if p.is_file()] + reports)
    by_suffix = {
        suffix: [p for p in files if p.suffix == suffix] for suffix in (".csv", ".xlsx", ".html", ".docx")
    }
    assert {"rankings.csv", "flags.csv", "quarantine.csv", "fieldwork.csv", "ranking.csv"} <= {
        p.name for p in by_suffix[".csv"]
    }
    assert any(p.name.endswith(".quarantine.csv") for p in by_suffix[".csv"])
    assert any(p.name.endswith(".errors.csv") for p in by_suffix[".csv"])
    assert {
        "report.html",
        "fieldwork.html",
        "ranking.html",
        "hostile_formula.html",
        "hostile_markup.html",
    } <= {p.name for p in by_suffix[".html"]}
    assert [p.name for p in by_suffix[".xlsx"]] == ["report.xlsx"]
    assert [p.name for p in by_suffix[".docx"]] == ["bulletin.docx"]

    problems = [p for path in by_suffix[".csv"] for p in csv_problems(path)]
    problems += [p for path in by_suffix[".xlsx"] for p in xlsx_problems(path)]
    problems += [p for path in by_suffix[".html"] for p in html_problems(path)]
    problems += [p for path in by_suffix[".docx"] for p in docx_problems(path)]
    assert problems == []

    # The hostile values did reach the documents, neutralised.
    rankings = pd.read_csv(out / "rankings.csv", keep_default_na=False).set_index("unit_code")
    assert rankings.loc["hostile_formula", "unit_name"] == "'" + FORMULA
    assert rankings.loc["hostile_markup", "unit_name"] == SCRIPT
    assert rankings.loc[["hostile_formula", "hostile_markup"], "ranked"].tolist() == [True, True]
    quarantine = pd.read_csv(out / "quarantine.csv", encoding="utf-8-sig", keep_default_na=False)
    assert set(quarantine["file"]) >= {"'=SUM(1,2)<script>.csv", "'@metrics.csv", "'+1 batch.csv"}
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report  # the unit's name, escaped
    book = load_workbook(out / "report.xlsx")
    names = [c.value for c in book["排名 rankings"]["D"]]
    assert "'" + FORMULA in names and SCRIPT in names


def test_the_checks_find_what_they_look_for(tmp_path):
    """Each check above fails on a file that holds what it looks for (else passing proves nothing)."""
    import docx
    from openpyxl import Workbook

    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text('a,b\n-2,"=1+1"\n1.5,"\t@x"\n', encoding="utf-8")
    assert [p.split(": ", 1)[1] for p in csv_problems(bad_csv)] == ["'=1+1'", "'\\t@x'"]

    book = Workbook()
    book.active["A1"] = "=1+1"
    book.active["A2"] = "@SUM(A1)"
    book.active["A3"] = "site"
    book.active["A3"].hyperlink = "http://x.example/"
    book.save(tmp_path / "bad.xlsx")
    assert len(xlsx_problems(tmp_path / "bad.xlsx")) == 4  # a formula (also text like one), text, a link

    page = tmp_path / "bad.html"
    page.write_text(
        f"<p>{SCRIPT}</p><a href='javascript:alert(3)'>x</a><div onclick=\"alert(4)\">", encoding="utf-8"
    )
    assert len(html_problems(page)) == 4  # the raw markup, its script, the link, the handler
    page.write_text(
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><script>const x = 1;</script>", encoding="utf-8"
    )
    assert html_problems(page) == []

    document = docx.Document()
    run = document.add_paragraph().add_run()
    instr = docx.oxml.OxmlElement("w:instrText")
    instr.text = 'HYPERLINK "http://x"'
    run._r.append(instr)
    document.save(str(tmp_path / "bad.docx"))
    assert docx_problems(tmp_path / "bad.docx") == ["bad.docx: field code 'HYPERLINK \"http://x\"'"]
