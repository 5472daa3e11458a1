"""units/<unit_code>.html: one page per unit, from the evaluated demo's 2026H1 PeriodReport."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bizenv.report.publication import PeriodReport
from bizenv.report.unit_pages import item_scores, weakest_items, with_group_median, write_unit_pages
from bizenv.schemas import load_questionnaire

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "source", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag, self.attrs = tag, attrs
        self.children: list[Node | str] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and all(
                    (child.attrs.get(k.rstrip("_").replace("_", "-")) or "").split().count(v) > 0
                    if k == "class_"
                    else child.attrs.get(k.replace("_", "-")) == v
                    for k, v in attrs.items()
                ):
                    found.append(child)
                found += child.find_all(tag, **attrs)
        return found

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        (node,) = self.find_all(tag, **attrs)
        return node


class StrictTree(HTMLParser):
    """A DOM of the page that fails on any end tag that does not close the open element (the
    template writes every end tag), so a page that parses here is well formed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(path: Path) -> Node:
    parser = StrictTree()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    assert parser.stack == [parser.root], [n.tag for n in parser.stack]
    return parser.root


@pytest.fixture(scope="module")
def report(evaluated_demo) -> PeriodReport:
    return evaluated_demo.report


@pytest.fixture(scope="module")
def pages(report: PeriodReport, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    paths = write_unit_pages(tmp_path_factory.mktemp("units"), report)
    return {p.stem: p for p in paths}


def ranked_unit(report: PeriodReport) -> str:
    """The ranked unit with the most comments."""
    ranked = set(report.rankings.loc[report.rankings["ranked"], "unit_code"])
    counts = report.comments["unit_code"].value_counts()
    return str(counts[counts.index.isin(ranked)].index[0])


def suppressed_unit(report: PeriodReport) -> str:
    small = report.rankings[report.rankings["n_respondents"] < report.policy.suppression_min]
    assert not small.empty, "the demo has a unit under the suppression threshold"
    return str(small["unit_code"].iloc[0])


def test_one_page_per_active_unit_and_each_parses(report: PeriodReport, pages: dict[str, Path]) -> None:
    active = {u.code for u in report.registry.units if u.active}
    assert set(pages) == set(report.rankings["unit_code"]) & active
    assert len(pages) == 35
    for unit, path in pages.items():
        page = parse(path)
        name = report.rankings.set_index("unit_code").loc[unit, "unit_name"]
        assert name in page.one("h1").text()
        assert page.find_all("a", href="../report.html")


def test_the_headline_is_the_units_own_ranking_row(report: PeriodReport, pages: dict[str, Path]) -> None:
    unit = ranked_unit(report)
    row = report.rankings.set_index("unit_code").loc[unit]
    text = parse(pages[unit]).one(id="index").text()
    assert f"{row['satisfaction_index']:.1f}" in text
    assert f"{row['satisfaction_ci_low']:.1f}–{row['satisfaction_ci_high']:.1f}" in text
    html = pages[unit].read_text(encoding="utf-8")
    assert f"{int(row['rank'])} / {int(row['group_ranked'])}" in html
    assert f"{int(row['rank_ci_low'])}–{int(row['rank_ci_high'])}" in html
    assert f"{row['p_bottom_n']:.2f}" in html


def test_item_scores_on_a_small_frame_by_hand() -> None:
    questionnaire = load_questionnaire()
    codes = [i.code for i in questionnaire.items()]
    responses = pd.DataFrame(np.nan, index=[10, 11, 12, 13], columns=codes)
    responses.insert(0, "unit_code", ["a", "a", "a", "b"])
    first = codes[0]
    responses[first] = [5, 3, np.nan, 1]  # 100, 50, unanswered; 0
    responses[codes[1]] = [4, 4, 2, np.nan]  # 75, 75, 25
    weights = pd.Series([1.0, 2.0, 5.0, 3.0], index=[10, 11, 12, 13])
    scores = item_scores(responses, weights, questionnaire).set_index(["unit_code", "item"])
    assert scores.loc[("a", first), "score"] == pytest.approx((100 * 1 + 50 * 2) / 3)
    assert scores.loc[("a", first), "n_answered"] == 2
    assert scores.loc[("a", codes[1]), "score"] == pytest.approx((75 * 1 + 75 * 2 + 25 * 5) / 8)
    assert scores.loc[("b", first), "score"] == 0
    assert np.isnan(scores.loc[("b", codes[1]), "score"])
    assert scores.loc[("b", codes[1]), "n_answered"] == 0


def test_item_scores_on_the_page_equal_a_plain_groupby(report: PeriodReport, pages: dict[str, Path]) -> None:
    unit = ranked_unit(report)
    k = report.questionnaire.scale.points
    mine = report.responses[report.responses["unit_code"] == unit]
    w = report.weights.loc[mine.index]
    expected = {}
    for item in report.questionnaire.items():
        answered = mine[item.code].notna()
        percent = (mine.loc[answered, item.code] - 1) / (k - 1) * 100
        expected[item.code] = float(np.average(percent, weights=w[answered]))
    computed = item_scores(report.responses, report.weights, report.questionnaire)
    computed = computed[computed["unit_code"] == unit].set_index("item")["score"]
    assert computed.to_dict() == pytest.approx(expected, rel=1e-12)
    rows = parse(pages[unit]).one("table", id="items").find_all("tr")[1:]
    shown = {r.attrs["data-item"]: r.one("td", class_="score").text() for r in rows}
    assert shown == {code: f"{value:.1f}" for code, value in expected.items()}


def test_the_weakest_items_are_the_lowest(report: PeriodReport, pages: dict[str, Path]) -> None:
    unit = ranked_unit(report)
    labels = {i.code: i.label for i in report.questionnaire.items()}
    items = with_group_median(
        item_scores(report.responses, report.weights, report.questionnaire), "item", report
    )
    mine = items[items["unit_code"] == unit]
    page = parse(pages[unit])
    named = [b.text() for b in page.one("p", id="lowest").find_all("b")]
    assert named == [labels[c] for c in mine.sort_values("score", kind="stable")["item"].head(3)]
    below = [b.text() for b in page.one("p", id="below").find_all("b")]
    furthest = mine[mine["gap"] < 0].sort_values("gap", kind="stable")["item"].head(3)
    assert below == [labels[c] for c in furthest]


def test_weakest_items_rules() -> None:
    lowest, below = weakest_items(
        pd.DataFrame(
            {
                "unit_code": ["a"] * 4,
                "item": ["i1", "i2", "i3", "i4"],
                "score": [70.0, 60.0, np.nan, 60.0],
                "gap": [-1.0, 2.0, np.nan, -5.0],
            }
        ),
        n=2,
    )
    assert lowest["item"].tolist() == ["i2", "i4"]  # a tie keeps questionnaire order
    assert below["item"].tolist() == ["i4", "i1"]


def test_median_over_published_units_only(report: PeriodReport) -> None:
    unit = suppressed_unit(report)
    group = report.rankings.set_index("unit_code").loc[unit, ["group_code", "level"]]
    values = pd.DataFrame({"unit_code": report.rankings["unit_code"], "key": "x", "score": 50.0})
    values.loc[values["unit_code"] == unit, "score"] = -1000.0
    out = with_group_median(values, "key", report).set_index("unit_code")
    assert out.loc[unit, "group_median"] == 50.0
    same = report.rankings[
        (report.rankings["group_code"] == group["group_code"]) & (report.rankings["level"] == group["level"])
    ]
    assert (out.loc[same["unit_code"], "group_median"] == 50.0).all()


def with_comments(report: PeriodReport, rows: list[tuple[str, str]]) -> PeriodReport:
    extra = pd.DataFrame(rows, columns=["unit_code", "comment"]).astype(report.comments.dtypes.to_dict())
    return dataclasses.replace(report, comments=pd.concat([report.comments, extra], ignore_index=True))


def comments_on(page: Node) -> dict[str, list[tuple[str, int]]]:
    return {
        str(theme.attrs["data-theme"]): [
            (li.one("span", class_="text").text(), int(str(li.attrs["data-count"])))
            for li in theme.find_all("li")
        ]
        for theme in page.find_all("div", class_="theme")
    }


def test_a_page_shows_its_own_comments_by_theme_and_not_another_units(
    report: PeriodReport, tmp_path: Path
) -> None:
    unit = ranked_unit(report)
    other = next(u for u in report.rankings.loc[report.rankings["ranked"], "unit_code"] if u != unit)
    changed = with_comments(
        report,
        [
            (unit, "甲单位:材料交了三次还要补,跑了好几趟"),
            (unit, "甲单位:材料交了三次还要补,跑了好几趟"),
            (unit, "甲单位:审批太慢,窗口态度冷漠"),
            (unit, "甲单位:暂无意见"),
            (other, "乙单位:科室之间互相踢皮球"),
        ],
    )
    pages = {p.stem: p for p in write_unit_pages(tmp_path, changed)}
    mine = comments_on(parse(pages[unit]))
    assert ("甲单位:材料交了三次还要补,跑了好几趟", 2) in mine["trips"]
    assert ("甲单位:审批太慢,窗口态度冷漠", 1) in mine["time_limit"]
    assert ("甲单位:审批太慢,窗口态度冷漠", 1) in mine["attitude"]
    assert ("甲单位:暂无意见", 1) in mine["other"]
    assert list(mine)[-1] == "other"
    assert "乙单位" not in pages[unit].read_text(encoding="utf-8")
    theirs = comments_on(parse(pages[other]))
    assert ("乙单位:科室之间互相踢皮球", 1) in theirs["buck_passing"]
    assert "甲单位" not in pages[other].read_text(encoding="utf-8")
    # Every comment of the unit is counted under at least one theme; each theme's total is its rows.
    page = parse(pages[unit])
    for theme in page.find_all("div", class_="theme"):
        assert int(str(theme.attrs["data-total"])) == sum(n for _, n in mine[str(theme.attrs["data-theme"])])
    written = changed.comments[changed.comments["unit_code"] == unit]["comment"]
    shown = {text for rows in mine.values() for text, _ in rows}
    assert shown == set(written)


def test_hostile_comments_are_inert_and_personal_numbers_masked(report: PeriodReport, tmp_path: Path) -> None:
    unit = ranked_unit(report)
    changed = with_comments(
        report,
        [
            (unit, "<script>alert(1)</script>"),
            (unit, '=HYPERLINK("x")'),
            (unit, "补贴迟迟不兑现,联系人张三,电话13912345678"),
        ],
    )
    path = {p.stem: p for p in write_unit_pages(tmp_path, changed)}[unit]
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "=HYPERLINK(&#34;x&#34;)" in html
    page = parse(path)
    assert not page.find_all("script")
    assert [a.attrs["href"] for a in page.find_all("a")] == ["../report.html"]
    texts = {text for rows in comments_on(page).values() for text, _ in rows}
    assert {"<script>alert(1)</script>", '=HYPERLINK("x")'} <= texts
    assert "13912345678" not in html and "张三" not in html
    assert "补贴迟迟不兑现,联系人[姓名],电话[电话]" in texts


def test_a_suppressed_unit_shows_no_scores_items_or_comments(report: PeriodReport, tmp_path: Path) -> None:
    unit = suppressed_unit(report)
    row = report.rankings.set_index("unit_code").loc[unit]
    changed = with_comments(report, [(unit, "丙单位:办事指南看不懂")])
    path = {p.stem: p for p in write_unit_pages(tmp_path, changed)}[unit]
    page = parse(path)
    html = path.read_text(encoding="utf-8")
    assert page.one(id="index").find_all("b")[0].text() == "—"
    assert page.one(id="composite").find_all("b")[0].text() == "—"
    assert not page.find_all("table", id="items")
    assert not page.find_all("p", id="lowest")
    assert not page.find_all("div", class_="theme")
    assert "丙单位" not in html
    assert f"少于公布门槛 {report.policy.suppression_min} 家" in html
    cards = "".join(card.text() for card in page.find_all("div", class_="card"))
    for value in (row["satisfaction_index"], row["satisfaction_ci_low"], row["composite_score"]):
        if pd.notna(value):
            assert f"{value:.1f}" not in cards
    periods = page.one("table", id="trend").find_all("tr")[1:]
    suppressed = report.trend[(report.trend["unit_code"] == unit) & (report.trend["n_respondents"] < 5)]
    assert not suppressed.empty
    for tr in periods:
        period, _, index, composite, n, _ = (td.text() for td in tr.find_all("td"))
        if period in set(suppressed["period"]):
            assert (index, composite) == ("—", "—")


def test_flags_and_trend_of_a_flagged_unit(report: PeriodReport, pages: dict[str, Path]) -> None:
    flags = report.flags[report.flags["flag"] == "REPEATED_BOTTOM_N"]
    assert not flags.empty
    flag = flags.iloc[0]
    html = pages[str(flag["unit_code"])].read_text(encoding="utf-8")
    page = parse(pages[str(flag["unit_code"])])
    assert str(flag["reason"]) in page.text() and str(flag["reason_en"]) in page.text()
    trend = report.trend[report.trend["unit_code"] == flag["unit_code"]]
    assert f"有 <b>{int(trend['bottom_n'].sum())}</b> 期位列本组后" in html
    for period in trend["period"]:
        assert period in html


def test_indicators_with_levels_and_the_city_level(report: PeriodReport, pages: dict[str, Path]) -> None:
    rows = report.indicator_rows
    unit = str(rows["unit_code"].value_counts().index[0])
    text = parse(pages[unit]).text()
    for x in rows[rows["unit_code"] == unit].itertuples():
        assert f"{x.frontier_score:.1f}" in text
        assert str(x.level) in text


def test_a_period_without_metrics_has_pages_without_indicators(report: PeriodReport, tmp_path: Path) -> None:
    # A period without metrics: its frontier-score frame has no columns at all.
    changed = dataclasses.replace(report, indicator_rows=pd.DataFrame(), city=report.city.iloc[0:0])
    paths = write_unit_pages(tmp_path, changed)
    assert len(paths) == 35
    unit = str(report.indicator_rows["unit_code"].iloc[0])
    assert "No department metrics for this unit." in parse(tmp_path / f"{unit}.html").text()


def test_a_retired_unit_gets_no_page(report: PeriodReport, tmp_path: Path) -> None:
    retired = ranked_unit(report)
    units = [
        u.model_copy(update={"active": False}) if u.code == retired else u for u in report.registry.units
    ]
    changed = dataclasses.replace(report, registry=report.registry.model_copy(update={"units": units}))
    paths = write_unit_pages(tmp_path, changed)
    assert len(paths) == 34
    assert not (tmp_path / f"{retired}.html").exists()


def test_the_group_and_trend_charts_mark_the_unit(report: PeriodReport, pages: dict[str, Path]) -> None:
    unit = ranked_unit(report)
    row = report.rankings.set_index("unit_code").loc[unit]
    page = parse(pages[unit])
    dots = page.one("svg", class_="chart-dots")
    marked = dots.find_all("g", data_unit=unit)
    assert len(marked) == 1 and "highlight" in str(marked[0].attrs["class"]).split()
    group = report.rankings[
        (report.rankings["group_code"] == row["group_code"])
        & (report.rankings["level"] == row["level"])
        & report.rankings["ranked"]
    ]
    assert {g.attrs["data-unit"] for g in dots.find_all("g", class_="mark")} == set(group["unit_code"])
    trend = page.one("svg", class_="chart-trend")
    assert trend.find_all(data_unit=unit)
    assert "highlight" in str(trend.find_all(data_unit=unit)[0].attrs["class"]).split()
