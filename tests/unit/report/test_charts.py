"""The report's SVG charts, on frames built here: each parses, draws one mark per unit where the
numbers put it, escapes every text from data and marks the bottom N."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from bizenv.flags.rules import funnel_limits, significantly_low
from bizenv.report.charts import funnel_plot, group_dot_plot, heatmap, trend_chart
from bizenv.report.publication import dimension_table
from bizenv.schemas import load_policy, load_questionnaire

SVG = "{http://www.w3.org/2000/svg}"
SCRIPT = "<script>alert(1)</script>"
POLICY = load_policy()
QUESTIONNAIRE = load_questionnaire()


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def classes(element: ET.Element) -> set[str]:
    return set((element.get("class") or "").split())


def marks(root: ET.Element) -> dict[str, ET.Element]:
    found = [e for e in root.iter() if "mark" in classes(e)]
    codes = [e.get("data-unit") for e in found]
    assert len(codes) == len(set(codes)), codes  # one mark per unit
    return {str(c): e for c, e in zip(codes, found, strict=True)}


def first(element: ET.Element, tag: str, kind: str | None = None) -> ET.Element:
    return next(e for e in element.iter(SVG + tag) if kind is None or kind in classes(e))


def texts(root: ET.Element) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(SVG + "text")]


def group_rows(n: int = 12, names: dict[int, str] | None = None) -> pd.DataFrame:
    """A comparison group of n ranked units, u01 best, scores falling with rank."""
    rank = np.arange(1, n + 1)
    score = 70.0 - 2.0 * rank
    satisfaction = 85.0 - 1.5 * rank
    return pd.DataFrame(
        {
            "unit_code": [f"u{i:02d}" for i in rank],
            "unit_name": [(names or {}).get(int(i), f"单位{i}") for i in rank],
            "group_code": "government",
            "level": "department",
            "ranked": True,
            "rank": rank,
            "composite_score": score,
            "satisfaction_index": satisfaction,
            "satisfaction_ci_low": satisfaction - 2.0,
            "satisfaction_ci_high": satisfaction + 2.0,
            "rank_median": rank.astype(float),
            "rank_ci_low": np.maximum(rank - 2, 1),
            "rank_ci_high": np.minimum(rank + 2, n),
            "n_respondents": 100 + 10 * rank,
        }
    )


# --- group_dot_plot -----------------------------------------------------------------------------


def test_dot_plot_is_an_svg_image_with_a_title():
    root = parse(group_dot_plot(group_rows(), bottom_n=5, top_n=5))
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img" and root.get("aria-label")
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root.find(SVG + "title") is not None


def test_dot_plot_draws_one_mark_per_ranked_unit_and_none_for_unranked():
    rows = group_rows()
    rows.loc[rows["unit_code"] == "u12", ["ranked", "rank"]] = [False, np.nan]
    assert set(marks(parse(group_dot_plot(rows, bottom_n=5, top_n=5)))) == {f"u{i:02d}" for i in range(1, 12)}


def test_dot_plot_puts_rank_one_at_the_top():
    found = marks(parse(group_dot_plot(group_rows().sample(frac=1, random_state=1), bottom_n=5, top_n=5)))
    heights = [float(first(found[f"u{i:02d}"], "circle", "dot").get("cy", "nan")) for i in range(1, 13)]
    assert heights == sorted(heights) and len(set(heights)) == 12


def test_dot_plot_draws_a_higher_score_further_right():
    rows = group_rows()
    rows.loc[rows["unit_code"] == "u12", "composite_score"] = 10.0
    found = marks(parse(group_dot_plot(rows, bottom_n=5, top_n=5)))
    x = {code: float(first(m, "circle", "dot").get("cx", "nan")) for code, m in found.items()}
    by_score = rows.sort_values("composite_score")["unit_code"].tolist()
    assert [x[c] for c in by_score] == sorted(x.values())


def test_dot_plot_marks_the_bottom_n_with_ties_at_the_boundary():
    rows = group_rows()
    rows.loc[rows["unit_code"] == "u09", "rank"] = 10  # tied with u10 at the boundary of the bottom 3
    found = marks(parse(group_dot_plot(rows, bottom_n=3, top_n=3)))
    assert {c for c, m in found.items() if "bottom" in classes(m)} == {"u09", "u10", "u11", "u12"}
    assert {c for c, m in found.items() if "top" in classes(m)} == {"u01", "u02", "u03"}


def test_dot_plot_marks_no_bottom_n_in_a_group_too_small_for_the_rule():
    found = marks(parse(group_dot_plot(group_rows(4), bottom_n=5, top_n=5, min_group_size=10)))
    assert not any({"bottom", "top"} & classes(m) for m in found.values())


def test_dot_plot_highlights_only_the_given_unit():
    found = marks(parse(group_dot_plot(group_rows(), bottom_n=5, top_n=5, highlight="u07")))
    assert [c for c, m in found.items() if "highlight" in classes(m)] == ["u07"]


def test_dot_plot_of_satisfaction_draws_its_confidence_interval_around_the_dot():
    rows = group_rows()
    found = marks(parse(group_dot_plot(rows, bottom_n=5, top_n=5, value="satisfaction_index")))
    for mark in found.values():
        line, dot = first(mark, "line", "interval"), first(mark, "circle", "dot")
        assert float(line.get("x1", "nan")) < float(dot.get("cx", "nan")) < float(line.get("x2", "nan"))


def test_dot_plot_draws_the_rank_interval_from_its_low_to_its_high_rank():
    found = marks(parse(group_dot_plot(group_rows(), bottom_n=5, top_n=5)))
    narrow, wide = first(found["u01"], "rect", "rank-interval"), first(found["u06"], "rect", "rank-interval")
    assert float(narrow.get("width", "nan")) < float(wide.get("width", "nan"))  # 1–3 against 4–8


def test_dot_plot_escapes_unit_names():
    svg = group_dot_plot(group_rows(names={3: SCRIPT}), bottom_n=5, top_n=5)
    assert SCRIPT not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert any(SCRIPT in t for t in texts(parse(svg)))  # the name itself, as text


def test_dot_plot_is_deterministic():
    rows = group_rows()
    assert group_dot_plot(rows, bottom_n=5, top_n=5) == group_dot_plot(rows.copy(), bottom_n=5, top_n=5)


# --- funnel_plot --------------------------------------------------------------------------------


def funnel_rankings(names: dict[int, str] | None = None) -> pd.DataFrame:
    """Twelve ranked units around 72 with SE = 14 / √n, and u12 far below the others."""
    rows = group_rows(12, names)
    spread = np.array([0.4, -0.6, 0.9, -0.2, 0.1, -0.8, 0.5, -0.3, 0.7, -0.5, 0.2, 0.0])
    index = 72.0 + spread * 2
    index[-1] = 50.0
    n = rows["n_respondents"].to_numpy()
    return rows.assign(satisfaction_index=index, satisfaction_se=14 / np.sqrt(n), group_ranked=12)


def funnel_svg(rankings: pd.DataFrame, **kwargs: object) -> str:
    flags = POLICY.flags
    return funnel_plot(
        rankings,
        funnel_limits(rankings, POLICY),
        limit=flags.funnel_limit,
        warning=flags.funnel_warning,
        overdispersion=flags.funnel_overdispersion,
        **kwargs,  # type: ignore[arg-type]
    )


def curve_y_at(path: ET.Element, x: float) -> float:
    points = [tuple(map(float, p.strip("ML ").split(","))) for p in (path.get("d") or "").split(" L")]
    xs, ys = zip(*points, strict=True)
    return float(np.interp(x, xs, ys))


def test_funnel_plot_draws_one_mark_per_unit_with_a_satisfaction_index():
    rankings = funnel_rankings()
    rankings.loc[rankings["unit_code"] == "u05", "satisfaction_index"] = np.nan
    assert set(marks(parse(funnel_svg(rankings)))) == set(rankings["unit_code"]) - {"u05"}


def test_funnel_plot_draws_a_significantly_low_unit_below_the_lower_limit_curve_at_its_n():
    rankings = funnel_rankings()
    assert significantly_low(rankings, POLICY)["unit_code"].tolist() == ["u12"]
    root = parse(funnel_svg(rankings))
    lower = first(root, "path", "limit-low")
    for code, mark in marks(root).items():
        below = float(mark.get("cy", "nan")) > curve_y_at(lower, float(mark.get("cx", "nan")))  # y grows down
        assert below == (code == "u12"), code
        assert ("below-limit" in classes(mark)) == (code == "u12")


def test_funnel_plot_places_a_larger_sample_further_right():
    found = marks(parse(funnel_svg(funnel_rankings())))
    x = [float(found[f"u{i:02d}"].get("cx", "nan")) for i in range(1, 13)]  # n rises with i
    assert x == sorted(x)


def test_funnel_plot_draws_the_warning_limits_inside_the_control_limits():
    root = parse(funnel_svg(funnel_rankings()))
    limit, warning = first(root, "path", "limit-low"), first(root, "path", "warning-low")
    x = float(marks(root)["u06"].get("cx", "nan"))
    assert curve_y_at(warning, x) < curve_y_at(limit, x)


def test_funnel_plot_gives_a_small_group_the_panel_of_its_level():
    rankings = funnel_rankings()
    small = group_rows(2).assign(
        unit_code=["s1", "s2"], group_code="judicial", satisfaction_index=[71.0, 73.0], satisfaction_se=1.0
    )
    root = parse(funnel_svg(pd.concat([rankings, small], ignore_index=True)))
    panels = {p.get("data-panel"): p for p in root.iter(SVG + "g") if "panel" in classes(p)}
    assert set(panels) == {"government", "level:department"}
    assert set(marks(panels["level:department"])) == {"s1", "s2"}


def test_funnel_plot_escapes_unit_names():
    svg = funnel_svg(funnel_rankings(names={12: SCRIPT}))
    assert SCRIPT not in svg and "&lt;script&gt;" in svg
    parse(svg)


# --- heatmap ------------------------------------------------------------------------------------


def scores_frame(units: dict[str, int]) -> pd.DataFrame:
    """unit_scores rows: each unit's dimensions 60 + i (i the dimension's position) and n."""
    dims = [d.code for d in QUESTIONNAIRE.dimensions]
    return pd.DataFrame(
        [
            {"unit_code": u, "dimension": d, "score": 60.0 + i + k, "n_respondents": n}
            for k, (u, n) in enumerate(units.items())
            for i, d in enumerate([*dims, "overall"])
        ]
    )


def heatmap_svg(units: dict[str, int], names: dict[str, str] | None = None) -> str:
    table = dimension_table(scores_frame(units), QUESTIONNAIRE, POLICY)
    labels = {d.code: d.label for d in QUESTIONNAIRE.dimensions}
    return heatmap(table, labels, unit_names=names, suppress=POLICY.suppression_min)


def test_heatmap_draws_one_row_mark_per_unit():
    assert set(marks(parse(heatmap_svg({"a": 40, "b": 50, "c": 60})))) == {"a", "b", "c"}


def test_heatmap_prints_the_value_in_each_cell():
    root = parse(heatmap_svg({"a": 40, "b": 50}))
    found = marks(root)
    dims = len(QUESTIONNAIRE.dimensions)
    assert [t for t in texts(found["a"])[1:]] == [f"{60.0 + i:.1f}" for i in range(dims)]
    assert len(list(found["b"].iter(SVG + "rect"))) == dims


def test_heatmap_hatches_a_suppressed_unit_instead_of_drawing_zero():
    small = POLICY.suppression_min - 1
    found = marks(parse(heatmap_svg({"a": 40, "tiny": small})))
    cells = [e for e in found["tiny"].iter(SVG + "g") if "suppressed" in classes(e)]
    assert len(cells) == len(QUESTIONNAIRE.dimensions)
    assert texts(found["tiny"]) == ["tiny"]  # its name, and no number at all


def test_heatmap_outlines_each_units_weakest_dimension():
    found = marks(parse(heatmap_svg({"a": 40})))
    weakest = [e for e in found["a"].iter(SVG + "rect") if "weakest" in classes(e)]
    assert [e.get("data-dimension") for e in weakest] == [QUESTIONNAIRE.dimensions[0].code]


def test_heatmap_escapes_unit_names():
    svg = heatmap_svg({"a": 40}, names={"a": SCRIPT})
    assert SCRIPT not in svg and "&lt;script&gt;" in svg
    parse(svg)


# --- trend_chart --------------------------------------------------------------------------------


def trend_rows(units: int = 6, periods: tuple[str, ...] = ("2025H1", "2025H2", "2026H1")) -> pd.DataFrame:
    """unit_trend rows of one group: u01 best in every period; the last two units in the bottom
    two each period (so REPEATED_BOTTOM_N from the second period on)."""
    rows = []
    for period in periods:
        for i in range(1, units + 1):
            bottom = i > units - 2
            rows.append(
                {
                    "unit_code": f"u{i:02d}",
                    "unit_name": f"单位{i}",
                    "group_name": "政府部门",
                    "period": period,
                    "rank": float(i),
                    "ranked": 1,
                    "satisfaction_index": 80.0 - i,
                    "composite_score": 60.0 - i,
                    "bottom_n": int(bottom),
                    "repeated_bottom_n": int(bottom and period != periods[0]),
                }
            )
    return pd.DataFrame(rows)


def test_trend_chart_draws_one_mark_per_unit():
    assert set(marks(parse(trend_chart(trend_rows(), bottom_n=2)))) == {f"u{i:02d}" for i in range(1, 7)}


def test_trend_chart_puts_rank_one_at_the_top():
    found = marks(parse(trend_chart(trend_rows(), bottom_n=2)))
    y = [float(first(found[f"u{i:02d}"], "circle").get("cy", "nan")) for i in range(1, 7)]
    assert y == sorted(y) and len(set(y)) == 6


def test_trend_chart_marks_each_period_in_the_bottom_n():
    found = marks(parse(trend_chart(trend_rows(), bottom_n=2)))
    points = {(c, p.get("data-period")): classes(p) for c, m in found.items() for p in m.iter(SVG + "circle")}
    assert {k for k, v in points.items() if "bottom" in v} == {
        (u, p) for u in ("u05", "u06") for p in ("2025H1", "2025H2", "2026H1")
    }
    assert {k for k, v in points.items() if "repeated" in v} == {
        (u, p) for u in ("u05", "u06") for p in ("2025H2", "2026H1")
    }
    assert {c for c, m in found.items() if {"bottom", "repeated"} <= classes(m)} == {"u05", "u06"}


def test_trend_chart_breaks_a_line_at_a_period_the_unit_was_not_ranked():
    trend = trend_rows()
    gap = (trend["unit_code"] == "u03") & (trend["period"] == "2025H2")
    trend.loc[gap, ["rank", "ranked"]] = [np.nan, 0]
    found = marks(parse(trend_chart(trend, bottom_n=2)))
    assert len(list(found["u03"].iter(SVG + "polyline"))) == 0  # two single points, no segment
    assert len(list(found["u03"].iter(SVG + "circle"))) == 2
    assert len(list(found["u02"].iter(SVG + "polyline"))) == 1


def test_trend_chart_with_highlight_emphasises_only_that_unit():
    found = marks(parse(trend_chart(trend_rows(), bottom_n=2, highlight="u04")))
    assert [c for c, m in found.items() if "highlight" in classes(m)] == ["u04"]
    assert {c for c, m in found.items() if "muted" in classes(m)} == set(found) - {"u04"}


def test_trend_chart_escapes_unit_and_group_names():
    trend = trend_rows().assign(group_name="<b>组</b>")
    trend.loc[trend["unit_code"] == "u02", "unit_name"] = SCRIPT
    svg = trend_chart(trend, bottom_n=2)
    assert SCRIPT not in svg and "<b>" not in svg and "&lt;script&gt;" in svg
    parse(svg)


@pytest.mark.parametrize("builder", ["dots", "funnel", "heatmap", "trend"])
def test_a_chart_of_no_data_is_still_an_svg_image(builder):
    empty = {
        "dots": lambda: group_dot_plot(group_rows().iloc[0:0], bottom_n=5, top_n=5),
        "funnel": lambda: funnel_svg(funnel_rankings().iloc[0:0]),
        "heatmap": lambda: heatmap(pd.DataFrame(), {"a": "A"}),
        "trend": lambda: trend_chart(trend_rows().iloc[0:0], bottom_n=5),
    }[builder]
    root = parse(empty())
    assert root.get("role") == "img" and marks(root) == {}


def test_funnel_plot_keeps_every_unit_inside_its_axes():
    rankings = funnel_rankings()
    rankings.loc[rankings["unit_code"] == "u01", "n_respondents"] = 96  # just under a round tick
    root = parse(funnel_svg(rankings))
    rules = [e for e in root.iter(SVG + "line") if "grid" in classes(e) and e.get("y1") == e.get("y2")]
    left, right = min(float(e.get("x1", "nan")) for e in rules), max(float(e.get("x2", "nan")) for e in rules)
    top, bottom = min(float(e.get("y1", "nan")) for e in rules), max(float(e.get("y1", "nan")) for e in rules)
    for mark in marks(root).values():
        assert left < float(mark.get("cx", "nan")) < right
        assert top <= float(mark.get("cy", "nan")) <= bottom


def test_heatmap_heads_each_group_where_the_group_changes():
    table = dimension_table(scores_frame({"a": 40, "b": 40, "c": 40}), QUESTIONNAIRE, POLICY)
    labels = {d.code: d.label for d in QUESTIONNAIRE.dimensions}
    root = parse(heatmap(table, labels, groups={"a": "政府部门", "b": "政府部门", "c": "<i>司法机关</i>"}))
    headings = [t for t in texts(root) if "部门" in t or "司法" in t]
    assert headings == ["政府部门", "<i>司法机关</i>"]  # once per group, escaped in the source
    found = marks(root)
    y = {c: float(first(m, "rect").get("y", "nan")) for c, m in found.items()}
    assert y["c"] - y["b"] > y["b"] - y["a"]  # the heading's room between the groups


def test_dot_plot_without_rank_intervals_draws_the_ranks_alone():
    rows = group_rows().astype({"rank": "Int64", "rank_ci_low": "Int64", "rank_ci_high": "Int64"})
    rows[["rank_ci_low", "rank_ci_high"]] = pd.NA
    found = marks(parse(group_dot_plot(rows, bottom_n=5, top_n=5)))
    assert len(found) == 12
    assert not any(e for m in found.values() for e in m.iter(SVG + "rect") if "rank-interval" in classes(e))
    assert all(first(m, "circle", "rank-dot") is not None for m in found.values())


def test_trend_chart_writes_the_names_of_tied_units_apart():
    trend = trend_rows()
    trend.loc[trend["unit_code"] == "u03", "rank"] = 2.0  # u02 and u03 share rank 2
    found = marks(parse(trend_chart(trend, bottom_n=2)))
    label_y = {c: float(next(found[c].iter(SVG + "text")).get("y", "nan")) for c in ("u02", "u03")}
    assert label_y["u02"] != label_y["u03"]
