"""The period's report and a unit's page opened in a real Chromium (the system's, driven by
Playwright): they load without a console or page error, show one ranking row per unit, and
render their Chinese text in the CJK font the documents ask for. Full-page screenshots are kept
in $BIZENV_ARTIFACTS_DIR (default var/test-artifacts/) for a person to look at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.tools import program

pytestmark = pytest.mark.documents

CJK_FONT = "Noto Sans CJK SC"


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("BIZENV_ARTIFACTS_DIR", ROOT / "var" / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One Chromium for the module: the system's browser, never a downloaded one."""
    chromium = program("chromium", "chromium-browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


class Opened:
    """A page loaded from a file, with every console error and uncaught exception it raised."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.page.on(
            "console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        self.page.evaluate("document.fonts.ready")

    def platform_fonts(self, selector: str) -> dict[str, int]:
        """The fonts Chromium actually drew `selector`'s text with → glyphs drawn in each."""
        cdp = self.page.context.new_cdp_session(self.page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        cdp.detach()
        return {f["familyName"]: f["glyphCount"] for f in fonts}

    def screenshot(self, path: Path) -> None:
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000


def assert_chinese_renders(opened: Opened, selector: str = "h1") -> None:
    page = opened.page
    assert page.evaluate(f"document.fonts.check('12px \"{CJK_FONT}\"', '满意度')")
    drawn = opened.platform_fonts(selector)
    assert any("CJK" in family and count > 0 for family, count in drawn.items()), drawn
    # A CJK glyph drawn in the font is a full em wide and is not the missing-glyph box.
    width, same_as_missing = page.evaluate(
        """(font) => {
            const canvas = document.createElement('canvas');
            canvas.width = canvas.height = 40;
            const ctx = canvas.getContext('2d');
            ctx.font = `32px "${font}"`;
            const draw = (text) => {
                ctx.clearRect(0, 0, 40, 40); ctx.fillText(text, 2, 34);
                return Array.from(ctx.getImageData(0, 0, 40, 40).data).join();
            };
            return [ctx.measureText('满').width, draw('满') === draw('\\u{10FFFD}')];
        }""",
        CJK_FONT,
    )
    assert width == pytest.approx(32, abs=1) and not same_as_missing


def test_the_report_in_chromium(browser, evaluated_demo, artifacts):
    folder = evaluated_demo.outputs["2026H1"]
    opened = Opened(browser, folder / "report.html")
    assert opened.errors == []
    rows = opened.page.evaluate(
        """() => Array.from(document.querySelectorAll('table'))
            .filter(t => t.querySelector('tr th')?.textContent.trim() === '名次')
            .flatMap(t => Array.from(t.querySelectorAll('tr')).filter(r => r.querySelector('td')))
            .map(r => Array.from(r.querySelectorAll('td')).slice(0, 3).map(c => c.textContent.trim()))"""
    )
    csv = pd.read_csv(folder / "rankings.csv")
    shown = pd.DataFrame(rows, columns=["rank", "unit_name", "n_respondents"])
    assert len(shown) == len(csv) and shown["unit_name"].is_unique
    expected = csv.assign(
        rank=csv["rank"].map(lambda r: "—" if pd.isna(r) else str(int(r))),
        n_respondents=csv["n_respondents"].astype(str),
    )[["rank", "unit_name", "n_respondents"]]
    pd.testing.assert_frame_equal(
        shown.sort_values("unit_name").reset_index(drop=True),
        expected.sort_values("unit_name").reset_index(drop=True),
    )
    links = opened.page.evaluate(
        """() => Array.from(document.querySelectorAll('table'))
            .filter(t => t.querySelector('tr th')?.textContent.trim() === '名次')
            .flatMap(t => Array.from(t.querySelectorAll('tr td:nth-child(2) a')))
            .map(a => a.getAttribute('href'))"""
    )
    assert sorted(links) == sorted(f"units/{code}.html" for code in csv["unit_code"])
    assert all((folder / link).is_file() for link in links)
    # The same evaluation printed the report with this Chromium.
    assert (folder / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert_chinese_renders(opened, "h1")
    assert_chinese_renders(opened, "table td:nth-child(2)")
    opened.screenshot(artifacts / "report-2026H1.png")
    opened.page.close()
    assert opened.errors == []


def bottom_ranked(report) -> pd.Series:
    """The ranked unit last in its group, the lowest composite among those (the page a reader
    of an accountability flag opens first)."""
    ranked = report.rankings[report.rankings["ranked"]]
    return ranked.sort_values(["rank", "composite_score"], ascending=[False, True]).iloc[0]


def test_the_bottom_ranked_units_page_in_chromium(browser, evaluated_demo, artifacts):
    unit = bottom_ranked(evaluated_demo.report)
    path = evaluated_demo.outputs["2026H1"] / "units" / f"{unit['unit_code']}.html"
    opened = Opened(browser, path)
    assert opened.errors == []
    page = opened.page
    assert unit["unit_name"] in page.locator("h1").inner_text()
    comments = page.locator("h2", has_text="企业意见")
    assert comments.count() == 1 and comments.is_visible()
    written = evaluated_demo.report.comments
    if (written["unit_code"] == unit["unit_code"]).any():
        assert page.locator("li .text").count() > 0
    assert_chinese_renders(opened, "h1")
    opened.screenshot(artifacts / f"unit-{unit['unit_code']}.png")
    page.close()
    assert opened.errors == []
