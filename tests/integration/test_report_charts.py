"""report.html of the evaluated demo's 2026H1 carries its charts as inline SVG: a dot plot per
comparison group, the funnel plot, the dimension heat map and the rank trend, each with one mark
per unit it covers, and nothing fetched from elsewhere."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from bizenv.flags.rules import funnel_limits
from bizenv.report.publication import dimension_table, write_html

SVG = "{http://www.w3.org/2000/svg}"


def classes(element: ET.Element) -> set[str]:
    return set((element.get("class") or "").split())


def units(chart: ET.Element) -> list[str]:
    return [str(e.get("data-unit")) for e in chart.iter() if "mark" in classes(e)]


@pytest.fixture(scope="module")
def rendered(evaluated_demo, tmp_path_factory) -> tuple[str, dict[str, list[ET.Element]]]:
    report = evaluated_demo.report
    path = write_html(tmp_path_factory.mktemp("charts") / "report.html", report, report.summary, None)
    html = path.read_text(encoding="utf-8")
    charts: dict[str, list[ET.Element]] = {}
    for svg in re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL):
        root = ET.fromstring(svg)  # each chart is well-formed XML on its own
        kind = next(c for c in classes(root) if c.startswith("chart-"))
        charts.setdefault(kind, []).append(root)
    return html, charts


def test_report_has_a_dot_plot_per_group_with_one_mark_per_ranked_unit(evaluated_demo, rendered):
    rankings = evaluated_demo.report.rankings
    _, charts = rendered
    drawn = [units(c) for c in charts["chart-dots"]]
    expected = [
        group.sort_values(["rank", "unit_code"])["unit_code"].tolist()
        for _, group in rankings[rankings["ranked"]].groupby(["group_code", "level"], sort=True)
    ]
    assert drawn == expected  # in the groups' order, rank 1 first


def test_report_dot_plots_mark_the_bottom_n_units_the_flags_name(evaluated_demo, rendered):
    flags = evaluated_demo.report.flags
    _, charts = rendered
    bottom = {
        str(e.get("data-unit")) for c in charts["chart-dots"] for e in c.iter() if "bottom" in classes(e)
    }
    assert bottom == set(flags.loc[flags["flag"] == "BOTTOM_N", "unit_code"])


def test_report_funnel_plot_has_one_mark_per_compared_unit_and_the_flagged_below_the_limit(
    evaluated_demo, rendered
):
    report = evaluated_demo.report
    (funnel,) = rendered[1]["chart-funnel"]
    assert sorted(units(funnel)) == sorted(funnel_limits(report.rankings, report.policy)["unit_code"])
    low = set(report.flags.loc[report.flags["flag"] == "SIGNIFICANTLY_LOW", "unit_code"])
    assert low  # the demo has one, so the check below checks something
    below = {str(e.get("data-unit")) for e in funnel.iter() if "below-limit" in classes(e)}
    assert below == low
    checked = 0
    for panel in (p for p in funnel.iter(SVG + "g") if "panel" in classes(p)):
        limit = next(e for e in panel.iter(SVG + "path") if "limit-low" in classes(e))
        points = [tuple(map(float, p.strip("ML ").split(","))) for p in (limit.get("d") or "").split(" L")]
        xs, ys = zip(*points, strict=True)
        for dot in (e for e in panel.iter(SVG + "circle") if e.get("data-unit") in low):
            assert float(dot.get("cy", "nan")) > float(np.interp(float(dot.get("cx", "nan")), xs, ys))
            checked += 1
    assert checked == len(low)  # drawn below the 99.8% curve at its n (y grows downwards)


def test_report_heatmap_has_one_row_per_unit_of_the_dimension_table(evaluated_demo, rendered):
    report = evaluated_demo.report
    (heat,) = rendered[1]["chart-heatmap"]
    table = dimension_table(report.scores, report.questionnaire, report.policy)
    assert sorted(units(heat)) == sorted(table.index)


def test_report_trend_has_one_mark_per_unit_and_the_repeated_bottom_n_marked(evaluated_demo, rendered):
    report = evaluated_demo.report
    (trend,) = rendered[1]["chart-trend"]
    assert sorted(units(trend)) == sorted(report.trend["unit_code"].unique())
    repeated = {str(e.get("data-unit")) for e in trend.iter() if {"mark", "repeated"} <= classes(e)}
    assert repeated == set(report.flags.loc[report.flags["flag"] == "REPEATED_BOTTOM_N", "unit_code"])


def test_report_with_charts_fetches_nothing_and_prints_on_a4(rendered):
    html, _ = rendered
    assert "<script" not in html
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "@media print" in html and "size: A4" in html
