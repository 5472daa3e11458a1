"""report.pdf through headless Chromium: written whole when a browser works, otherwise nothing
written, False returned and one warning logged — never an error."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from bizenv.report.pdf import print_pdf
from tests.tools import program

HTML = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>报告</title>
<style>@media print { @page { size: A4; } }</style></head>
<body><h1>鄂州市企业评议机关满意度评价</h1><p>Satisfaction report</p>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 40" width="200" height="40" role="img"
aria-label="示例"><title>示例</title><text x="4" y="24">市发改委 72.4</text></svg></body></html>"""


@pytest.fixture
def html(tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(HTML, encoding="utf-8")
    return path


def fake_browser(tmp_path: Path, body: str) -> Path:
    """A stand-in for Chromium: a shell script that gets the real command line."""
    script = tmp_path / "bin" / "chromium"
    script.parent.mkdir(exist_ok=True)
    script.write_text(
        '#!/bin/sh\nfor a in "$@"; do case "$a" in --print-to-pdf=*) out="${a#--print-to-pdf=}";; esac; done\n'
        + body
        + "\n"
    )
    script.chmod(0o755)
    return script


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_without_chromium_on_path_it_returns_false_writes_nothing_and_warns_once(
    html, tmp_path, monkeypatch, caplog
):
    monkeypatch.delenv("BIZENV_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    pdf = tmp_path / "out" / "report.pdf"
    assert print_pdf(html, pdf) is False
    assert not pdf.exists() and not pdf.parent.exists()
    assert len(warnings(caplog)) == 1 and "no Chromium" in warnings(caplog)[0]


def test_a_configured_chromium_that_is_missing_is_not_replaced_by_one_on_path(
    html, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("BIZENV_CHROMIUM", str(tmp_path / "no-such-browser"))
    fake_browser(tmp_path, 'printf "%%PDF-1.4 fake" > "$out"')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    pdf = tmp_path / "report.pdf"
    assert print_pdf(html, pdf) is False
    assert not pdf.exists()
    assert len(warnings(caplog)) == 1 and "no-such-browser" in warnings(caplog)[0]


def test_it_prints_the_html_file_with_headless_chromium_and_no_header_or_footer(html, tmp_path, monkeypatch):
    args = tmp_path / "args.txt"
    browser = fake_browser(tmp_path, f'printf "%s\\n" "$@" > {args}; printf "%%PDF-1.4 fake" > "$out"')
    monkeypatch.setenv("BIZENV_CHROMIUM", str(browser))
    pdf = tmp_path / "report.pdf"
    assert print_pdf(html, pdf) is True
    assert pdf.read_bytes() == b"%PDF-1.4 fake"
    given = args.read_text().splitlines()
    assert {"--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer"} <= set(given)
    assert given[-1] == html.resolve().as_uri()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_failing_chromium_leaves_no_pdf_and_an_older_one_untouched(html, tmp_path, monkeypatch, caplog):
    browser = fake_browser(tmp_path, 'printf "%%PDF-1.4 half" > "$out"; echo "crashed" >&2; exit 3')
    monkeypatch.setenv("BIZENV_CHROMIUM", str(browser))
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4 last time")
    assert print_pdf(html, pdf) is False
    assert pdf.read_bytes() == b"%PDF-1.4 last time"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert len(warnings(caplog)) == 1 and "exit code 3 (crashed)" in warnings(caplog)[0]


def test_a_chromium_that_writes_no_pdf_is_a_failure(html, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("BIZENV_CHROMIUM", str(fake_browser(tmp_path, 'printf "<html>" > "$out"')))
    pdf = tmp_path / "report.pdf"
    assert print_pdf(html, pdf) is False
    assert not pdf.exists() and len(warnings(caplog)) == 1


def test_a_hanging_chromium_is_killed_at_the_timeout(html, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("BIZENV_CHROMIUM", str(fake_browser(tmp_path, "sleep 30 & sleep 30")))
    pdf = tmp_path / "report.pdf"
    started = time.monotonic()
    assert print_pdf(html, pdf, timeout=1) is False
    assert time.monotonic() - started < 10
    assert not pdf.exists() and len(warnings(caplog)) == 1 and "after 1 s" in warnings(caplog)[0]


def test_a_missing_html_file_is_not_printed(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("BIZENV_CHROMIUM", str(fake_browser(tmp_path, 'printf "%%PDF-1.4" > "$out"')))
    assert print_pdf(tmp_path / "missing.html", tmp_path / "report.pdf") is False
    assert not (tmp_path / "report.pdf").exists() and len(warnings(caplog)) == 1


@pytest.mark.documents
def test_chromium_prints_a_pdf_with_the_reports_text(html, tmp_path, monkeypatch):
    monkeypatch.setenv("BIZENV_CHROMIUM", program("chromium", "chromium-browser", "google-chrome"))
    pdf = tmp_path / "report.pdf"
    assert print_pdf(html, pdf, timeout=120) is True
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, check=True, text=True
        ).stdout
        assert "满意度评价" in text and "Satisfaction report" in text
    else:
        assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 1
