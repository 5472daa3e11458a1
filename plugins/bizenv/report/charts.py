"""Charts of the period's documents as inline SVG strings, built by hand.

No plotting library: every label stays an SVG `<text>`, so Chinese is drawn with the reader's
own fonts, the report opens offline and prints sharp, and nothing is fetched from a CDN. Every
text that comes from data is escaped here (`html.escape`), which is why templates may insert
the result with `|safe`. Output is deterministic (same frame, same string), so documents can be
compared byte for byte.

Every mark that stands for a unit carries the class `mark` and `data-unit="<unit_code>"`: one
such mark per unit per chart. Bottom-N units carry the class `bottom` (and `repeated` for
REPEATED_BOTTOM_N), top-N units `top`, the unit given as `highlight` the class `highlight`.
Only presentation attributes are used, never a `<style>` element or an `id`: an inline SVG's
style sheet and ids would leak into the whole HTML page, and a page may hold several charts.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

FONT = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif'
INK, MUTED, GRID, FAINT = "#1d2733", "#5a6878", "#e1e7ee", "#c5ccd4"
BOTTOM, REPEATED, TOP, OTHER, HIGHLIGHT = "#d9534f", "#9b1c1c", "#2e7d32", "#41566e", "#f0a500"
LIMIT, WARNING = "#9b1c1c", "#e69500"


def _e(value: object) -> str:
    """Escaped for SVG text and attribute values alike."""
    return escape(str(value), quote=True)


def _n(value: float) -> str:
    """A coordinate, rounded so the output is compact and stable."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _text_width(text: str, size: float) -> float:
    """Rough width of a label: full-width (CJK) characters are one em, others about half."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else 0.58 * size for c in text)


def _classes(*names: str | None) -> str:
    return " ".join(n for n in names if n)


def _svg(width: float, height: float, label: str, kind: str, body: Iterable[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'width="{_n(width)}" height="{_n(height)}" role="img" aria-label="{_e(label)}" '
        f'font-family="{_e(FONT)}" font-size="12" fill="{INK}" style="max-width:100%;height:auto">'
        f"<title>{_e(label)}</title>" + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: float = 12, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{_e(v)}"' for k, v in attrs.items())
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{_n(size)}"{extra}>{_e(text)}</text>'


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (the axis is stretched to the outer ticks)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0, 1.0]
    if high <= low:
        low, high = low - 1, high + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start, stop = math.floor(low / step) * step, math.ceil(high / step) * step
    return [round(start + i * step, 10) for i in range(round((stop - start) / step) + 1)]


def _tick_text(value: float) -> str:
    return f"{value:g}"


class _Scale:
    """Linear map from data to pixels."""

    def __init__(self, domain: tuple[float, float], pixels: tuple[float, float]) -> None:
        self.d0, self.d1 = domain
        self.p0, self.p1 = pixels

    def __call__(self, value: float) -> float:
        if self.d1 == self.d0:
            return (self.p0 + self.p1) / 2
        return self.p0 + (value - self.d0) / (self.d1 - self.d0) * (self.p1 - self.p0)


def _x_axis(scale: _Scale, ticks: Sequence[float], top: float, bottom: float, title: str) -> list[str]:
    """Vertical grid lines with their values under the plot, and the axis title above it."""
    parts = []
    for t in ticks:
        x = scale(t)
        parts.append(
            f'<line class="grid" x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(bottom)}" stroke="{GRID}"/>'
        )
        parts.append(_text(x, bottom + 14, _tick_text(t), anchor="middle", size=10, fill=MUTED))
    parts.append(_text((scale.p0 + scale.p1) / 2, top - 8, title, anchor="middle", size=11, fill=MUTED))
    return parts


def _legend(x: float, y: float, entries: Sequence[tuple[str, str]]) -> list[str]:
    """A row of coloured dots with their meaning."""
    parts = []
    for colour, label in entries:
        parts.append(f'<circle cx="{_n(x + 5)}" cy="{_n(y - 4)}" r="5" fill="{colour}"/>')
        parts.append(_text(x + 14, y, label, size=11))
        x += 14 + _text_width(label, 11) + 16
    return parts


def _extremes(ranks: pd.Series, bottom_n: int, top_n: int) -> tuple[pd.Series, pd.Series]:
    """Bottom and top N by point rank, ties at the boundary all included (as the flags count
    them): a unit is in the bottom N when fewer than N units rank below it."""
    values = ranks.to_numpy(dtype=float)
    below = (values[None, :] > values[:, None]).sum(axis=1)
    above = (values[None, :] < values[:, None]).sum(axis=1)
    bottom = pd.Series(below < bottom_n, index=ranks.index)
    top = pd.Series((above < top_n) & ~bottom.to_numpy(), index=ranks.index)
    return bottom, top


def group_dot_plot(
    rows: pd.DataFrame,
    *,
    bottom_n: int,
    top_n: int,
    value: str = "composite_score",
    highlight: str | None = None,
    min_group_size: int = 0,
    rank_level: float = 0.9,
    title: str | None = None,
) -> str:
    """One comparison group's ranking as a dot plot, so a reader sees at once how far apart the
    units are and how sure each rank is.

    Layout: one row per ranked unit, rank 1 at the top (unranked units are left to the table).
    Left, the rank and name; middle panel, the unit's `value` as a dot on a horizontal axis
    (higher further right), with the 95% confidence interval as a line when `value` is
    `satisfaction_index`; right panel, the rank interval (`rank_ci_low`–`rank_ci_high`, the
    simulation's `rank_level` interval) as a bar on a rank axis (1 on the left) with the point
    rank as a dot. Bottom-N dots are red, top-N green (ties at the boundary included, as the
    flags count them), the rest slate; only when the group has at least `min_group_size` ranked
    units, as the bottom-N rule applies only then. `highlight` (a unit code) puts a band behind
    that unit's row and draws its name in bold.
    """
    numbers = [value, "rank", "rank_ci_low", "rank_ci_high", "satisfaction_ci_low", "satisfaction_ci_high"]
    # Nullable integer columns hold pd.NA, which float() refuses: everything drawn becomes float,
    # and an interval the rows do not have (no rank simulation) is simply not drawn.
    data = rows.assign(
        **{c: pd.to_numeric(rows[c], errors="coerce").astype(float) if c in rows else np.nan for c in numbers}
    )
    data = data[data["ranked"].fillna(False).astype(bool) & data[value].notna() & data["rank"].notna()]
    data = data.assign(plot_rank=data["rank"]).sort_values(["plot_rank", "unit_code"])
    satisfaction = value == "satisfaction_index"
    value_name = "满意度指数(线为95%置信区间)" if satisfaction else "综合得分"
    label = title or f"{value_name}与名次区间"
    if data.empty:
        return _svg(400, 40, label, "chart-dots", [_text(8, 24, "本组无参与排名的单位", fill=MUTED)])
    marked = len(data) >= min_group_size
    bottom, top = _extremes(data["plot_rank"], bottom_n if marked else 0, top_n if marked else 0)

    names = [f"{int(r)}  {n}" for r, n in zip(data["plot_rank"], data["unit_name"].astype(str), strict=True)]
    label_width = min(max(_text_width(n, 12) for n in names) + 16, 260)
    row_h, head = 22.0, 58.0
    value_x = (label_width + 10, label_width + 370)
    rank_x = (value_x[1] + 60, value_x[1] + 280)
    width, height = rank_x[1] + 20, head + row_h * len(data) + 26
    plot_top, plot_bottom = head, head + row_h * len(data)

    low = data["satisfaction_ci_low"] if satisfaction else data[value]
    high = data["satisfaction_ci_high"] if satisfaction else data[value]
    ticks = _ticks(float(np.nanmin(low.to_numpy(dtype=float))), float(np.nanmax(high.to_numpy(dtype=float))))
    vx = _Scale((ticks[0], ticks[-1]), value_x)
    count = int(np.nanmax([*data["plot_rank"], *data["rank_ci_high"], 1.0]))
    rx = _Scale((1, max(count, 2)), rank_x)
    rank_ticks = sorted({1, count, *range(5, count, 5)})

    body = _legend(
        8,
        16,
        [
            *([(BOTTOM, f"后{bottom_n}名"), (TOP, f"前{top_n}名")] if marked else []),
            (OTHER, "其他参评单位" if marked else f"参评单位(不足{min_group_size}家,不适用前/后名次规则)"),
        ],
    )
    body.append(
        _text(
            width - 8,
            16,
            f"条:{rank_level:.0%}排名区间(模拟),点:名次",
            anchor="end",
            size=11,
            fill=MUTED,
        )
    )
    body += _x_axis(vx, ticks, plot_top, plot_bottom, value_name)
    body += _x_axis(rx, rank_ticks, plot_top, plot_bottom, "名次(1为最好)")
    for i, (row, name) in enumerate(zip(data.itertuples(), names, strict=True)):
        code = str(row.unit_code)
        cy = plot_top + row_h * (i + 0.5)
        is_bottom, is_top, is_highlight = bool(bottom.iloc[i]), bool(top.iloc[i]), code == highlight
        colour = BOTTOM if is_bottom else TOP if is_top else OTHER
        score = float(cast(float, getattr(row, value)))
        rank = int(cast(float, row.plot_rank))
        lo, hi = float(cast(float, row.satisfaction_ci_low)), float(cast(float, row.satisfaction_ci_high))
        r_lo, r_hi = float(cast(float, row.rank_ci_low)), float(cast(float, row.rank_ci_high))
        tip = f"{row.unit_name}:{value_name.split('(')[0]} {score:.1f}"
        if satisfaction and math.isfinite(lo) and math.isfinite(hi):
            tip += f"(95%置信区间 {lo:.1f}–{hi:.1f})"
        tip += f",第{rank}名"
        if math.isfinite(r_lo) and math.isfinite(r_hi):
            tip += f"(排名区间 {int(r_lo)}–{int(r_hi)})"
        parts = [f"<title>{_e(tip)}</title>"]
        if is_highlight:
            parts.append(
                f'<rect class="band" x="0" y="{_n(cy - row_h / 2)}" width="{_n(width)}" height="{_n(row_h)}" '
                f'fill="{HIGHLIGHT}" fill-opacity="0.25"/>'
            )
        parts.append(
            _text(label_width, cy + 4, name, anchor="end", font_weight="bold" if is_highlight else "normal")
        )
        if satisfaction and math.isfinite(lo) and math.isfinite(hi):
            parts.append(
                f'<line class="interval" x1="{_n(vx(lo))}" y1="{_n(cy)}" x2="{_n(vx(hi))}" y2="{_n(cy)}" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
        ring = f' stroke="{INK}" stroke-width="1.5"' if is_highlight else ""
        parts.append(
            f'<circle class="dot" cx="{_n(vx(score))}" cy="{_n(cy)}" r="{5 if not is_highlight else 6.5}" '
            f'fill="{colour}"{ring}/>'
        )
        if math.isfinite(r_lo) and math.isfinite(r_hi):
            parts.append(
                f'<rect class="rank-interval" x="{_n(rx(r_lo) - 3)}" y="{_n(cy - 4)}" '
                f'width="{_n(rx(r_hi) - rx(r_lo) + 6)}" height="8" rx="4" fill="{colour}" fill-opacity="0.35"/>'
            )
        parts.append(f'<circle class="rank-dot" cx="{_n(rx(rank))}" cy="{_n(cy)}" r="3.5" fill="{colour}"/>')
        classes = _classes(
            "mark unit",
            "bottom" if is_bottom else None,
            "top" if is_top else None,
            "highlight" * is_highlight,
        )
        body.append(
            f'<g class="{classes}" data-unit="{_e(code)}" data-rank="{rank}">' + "".join(parts) + "</g>"
        )
    return _svg(width, height, label, "chart-dots", body)


def _pool_spread(limits: pd.DataFrame) -> pd.Series:
    """Per funnel pool, the per-respondent spread s with SE ≈ s / √n: the root of the mean of
    n × SE² over the pool the flag estimated its target and dispersion from."""
    n_se2 = limits["n_respondents"].astype(float) * limits["satisfaction_se"].astype(float) ** 2
    by_group = n_se2.groupby([limits["group_code"], limits["level"]]).transform("mean")
    by_level = n_se2.groupby(limits["level"]).transform("mean")
    return np.sqrt(by_group.where(limits["pool"] == "group", by_level))


def funnel_curve(
    n: np.ndarray,
    *,
    target: float,
    spread: float,
    phi: float,
    tau2: float,
    coverage: float,
    overdispersion: str = "additive",
) -> tuple[np.ndarray, np.ndarray]:
    """The lower and upper funnel limit at sample sizes `n`, as `flags.rules.funnel_limits`
    computes a unit's limit, with the unit's SE replaced by spread / √n."""
    se = spread / np.sqrt(n)
    z = float(stats.norm.ppf(0.5 + coverage / 2))
    width = z * (np.sqrt(se**2 + tau2) if overdispersion == "additive" else se * math.sqrt(max(phi, 1.0)))
    return target - width, target + width


def funnel_plot(
    frame: pd.DataFrame,
    limits: pd.DataFrame,
    *,
    limit: float = 0.998,
    warning: float = 0.95,
    overdispersion: str = "additive",
    group_names: Mapping[str, str] | None = None,
    min_group_size: int = 10,
    highlight: str | None = None,
) -> str:
    """Satisfaction index against sample size with the SIGNIFICANTLY_LOW flag's control limits,
    so a reader sees which low scores are more than chance at their sample size.

    `limits` is `flags.rules.funnel_limits(rankings, policy)` (the flag's own numbers); pass the
    policy's `funnel_limit`, `funnel_warning` and `funnel_overdispersion`. One panel per funnel:
    each group large enough to be its own, then one per level for the small groups compared
    with every unit of their level. The curves are the flag's limits with each unit's SE
    replaced by s / √n, s² the mean n × SE² of the funnel's pool (survey weights make a unit's
    SE differ a little from that); the curve passes through each unit's own n. A dot is
    drawn with the class `below-limit` (dark red) when the flag's own limit puts it below,
    `below-warning` (orange) below the warning limit; names are written beside those and the
    highlighted unit only (the others have a tooltip).
    """
    names = frame.set_index("unit_code")["unit_name"].astype(str)
    groups = dict(group_names or {})
    data = limits.assign(spread=_pool_spread(limits)) if not limits.empty else limits
    label = f"漏斗图:满意度指数与样本量({limit:.1%}控制限、{warning:.0%}预警限)"
    if data.empty:
        return _svg(400, 40, label, "chart-funnel", [_text(8, 24, "无可比较的单位", fill=MUTED)])
    data = data.assign(panel=np.where(data["pool"] == "group", data["group_code"], "level:" + data["level"]))
    panel_w, panel_h, left, right, top = 540.0, 300.0, 48.0, 130.0, 58.0
    body: list[str] = _legend(
        8,
        16,
        [(LIMIT, f"低于{limit:.1%}控制下限"), (WARNING, f"低于{warning:.0%}预警下限"), (OTHER, "其他单位")],
    )
    body.append(
        _text(8, 34, f"实线:{limit:.1%}控制限 · 虚线:{warning:.0%}预警限 · 点线:基准", size=11, fill=MUTED)
    )
    keys = sorted(data["panel"].unique(), key=lambda k: (str(k).startswith("level:"), str(k)))
    y0 = top
    for key in keys:
        units = data[data["panel"] == key].sort_values("unit_code")
        first = units.iloc[0]
        target, phi, tau2, spread = (float(first[c]) for c in ("target", "phi", "tau2", "spread"))
        if str(key).startswith("level:"):
            heading = f"同级全部{int(first['pool_size'])}家单位的漏斗(参评单位不足{min_group_size}家的组)"
        else:
            heading = f"{groups.get(str(key), str(key))}(本组漏斗,{len(units)}家)"
        n = units["n_respondents"].astype(float).to_numpy()
        y = units["satisfaction_index"].astype(float).to_numpy()
        x_ticks = _ticks(float(n.min()) * 0.85, float(n.max()) * 1.05)
        # The limits widen without bound towards n = 0: start the axis just left of the
        # smallest sample, not at 0.
        x_lo, x_hi = max(1.0, math.floor(float(n.min()) * 0.85 / 10) * 10), x_ticks[-1]
        grid = np.unique(np.concatenate([np.geomspace(x_lo, x_hi, 60), n]))
        curves = {
            c: funnel_curve(
                grid,
                target=target,
                spread=spread,
                phi=phi,
                tau2=tau2,
                coverage=c,
                overdispersion=overdispersion,
            )
            for c in (limit, warning)
        }
        lows = [float(y.min()), float(curves[limit][0].min())]
        highs = [float(y.max()), float(curves[limit][1].max())]
        y_ticks = _ticks(min(lows), max(highs))
        sx = _Scale((x_lo, x_hi), (left, left + panel_w))
        sy = _Scale((y_ticks[0], y_ticks[-1]), (y0 + 30 + panel_h, y0 + 30))
        plot_top, plot_bottom = y0 + 30, y0 + 30 + panel_h
        panel = [_text(left, y0 + 12, heading, size=13, font_weight="bold")]
        panel += _x_axis(sx, [t for t in x_ticks if t >= x_lo], plot_top, plot_bottom, "")
        panel.append(
            _text(left + panel_w / 2, plot_bottom + 30, "样本量 n(参评企业数)", anchor="middle", size=11)
        )
        for t in y_ticks:
            panel.append(
                f'<line class="grid" x1="{_n(left)}" y1="{_n(sy(t))}" x2="{_n(left + panel_w)}" '
                f'y2="{_n(sy(t))}" stroke="{GRID}"/>'
            )
            panel.append(_text(left - 6, sy(t) + 4, _tick_text(t), anchor="end", size=10, fill=MUTED))
        panel.append(
            f'<line class="target" x1="{_n(left)}" y1="{_n(sy(target))}" x2="{_n(left + panel_w)}" '
            f'y2="{_n(sy(target))}" stroke="{MUTED}" stroke-dasharray="2 3"/>'
        )
        panel.append(_text(left + panel_w + 4, sy(target) + 4, f"基准 {target:.1f}", size=10, fill=MUTED))
        for coverage, colour, dash in ((limit, LIMIT, ""), (warning, WARNING, ' stroke-dasharray="6 4"')):
            low, high = curves[coverage]
            for side, values in (("low", low), ("high", high)):
                path = "M" + " L".join(f"{_n(sx(a))},{_n(sy(b))}" for a, b in zip(grid, values, strict=True))
                kind = "limit" if coverage == limit else "warning"
                panel.append(
                    f'<path class="{kind} {kind}-{side}" data-coverage="{coverage}" d="{path}" fill="none" '
                    f'stroke="{colour}" stroke-width="1.5"{dash}/>'
                )
        for row in units.itertuples():
            code = str(row.unit_code)
            value, size = float(cast(float, row.satisfaction_index)), float(cast(float, row.n_respondents))
            below = value < float(cast(float, row.limit_low))
            warn = not below and value < float(cast(float, row.warning_low))
            colour = LIMIT if below else WARNING if warn else OTHER
            cx, cy = sx(size), sy(value)
            name = names.get(code, code)
            tip = f"{name}:满意度指数 {value:.1f},n={int(size)},控制下限 {float(cast(float, row.limit_low)):.1f}"
            classes = _classes(
                "mark unit",
                "below-limit" if below else None,
                "below-warning" if warn else None,
                "highlight" if code == highlight else None,
            )
            stroke = f' stroke="{INK}" stroke-width="2"' if code == highlight else ""
            panel.append(
                f'<circle class="{classes}" data-unit="{_e(code)}" cx="{_n(cx)}" cy="{_n(cy)}" r="4.5" '
                f'fill="{colour}"{stroke}><title>{_e(tip)}</title></circle>'
            )
            if below or warn or code == highlight:
                panel.append(_text(cx + 7, cy + 4, name, size=11, fill=colour))
        body.append(f'<g class="panel" data-panel="{_e(key)}">' + "".join(panel) + "</g>")
        y0 += panel_h + 80
    return _svg(left + panel_w + right, y0 - 20, label, "chart-funnel", body)


def _mix(a: str, b: str, t: float) -> str:
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))


def _colour(value: float, low: float, mid: float, high: float) -> tuple[str, bool]:
    """Red below the middle, blue above, white in it; and whether the text on it should be light."""
    if value <= mid:
        t = 0.0 if mid == low else (mid - value) / (mid - low)
        return _mix("#f7f7f7", "#c0392b", min(max(t, 0.0), 1.0)), t > 0.6
    t = 0.0 if high == mid else (value - mid) / (high - mid)
    return _mix("#f7f7f7", "#2166ac", min(max(t, 0.0), 1.0)), t > 0.6


def heatmap(
    table: pd.DataFrame,
    labels: Mapping[str, str],
    *,
    unit_names: Mapping[str, str] | None = None,
    highlight: str | None = None,
    suppress: int | None = None,
    groups: Mapping[str, str] | None = None,
) -> str:
    """Units × dimensions, so a weak dimension stands out across units and a weak unit across
    dimensions.

    `table` is `publication.dimension_table` (index unit codes, a column per dimension code, NaN
    where the figure is suppressed); `labels` maps the dimension codes to draw, in order, to
    their labels. Rows in the table's order. Each cell is coloured on a diverging scale around
    the median of the shown values (red lower, blue higher) and carries its value; the unit's
    lowest dimension is outlined. A suppressed cell is hatched grey with no number (never a
    zero); `suppress` names the threshold in the legend. With `groups` (unit code to group
    name), a heading is drawn wherever the group changes from one row to the next, so order the
    table by group.
    """
    codes = [c for c in labels if c in table.columns]
    names = dict(unit_names or {})
    label = "各单位维度得分热力图"
    values = table[codes].astype(float) if codes else pd.DataFrame(index=table.index)
    shown = values.to_numpy().ravel()
    shown = shown[np.isfinite(shown)]
    if values.empty or not len(shown):
        return _svg(400, 40, label, "chart-heatmap", [_text(8, 24, "无可公布的维度得分", fill=MUTED)])
    low, mid, high = float(shown.min()), float(np.median(shown)), float(shown.max())
    row_names = [str(names.get(str(u), u)) for u in values.index]
    label_width = min(max(_text_width(n, 12) for n in row_names) + 16, 240)
    cell_w = max(64.0, max(_text_width(labels[c], 11) + 10 for c in codes))
    cell_h, head, gap = 24.0, 64.0, 22.0
    width = label_width + cell_w * len(codes) + 10
    group_of = [str((groups or {}).get(str(u), "")) for u in values.index]
    starts = [bool(groups) and (i == 0 or g != group_of[i - 1]) for i, g in enumerate(group_of)]
    tops = head + cell_h * np.arange(len(values)) + gap * np.cumsum(starts)
    height = (float(tops[-1]) if len(tops) else head) + cell_h + 10
    body = []
    for j, code in enumerate(codes):
        body.append(_text(label_width + cell_w * (j + 0.5), head - 8, labels[code], anchor="middle", size=11))
    # Legend: the scale's ends and middle, and what a hatched cell means.
    for k, v in enumerate((low, mid, high)):
        fill, light = _colour(v, low, mid, high)
        x = 8.0 + k * 70
        body.append(f'<rect x="{_n(x)}" y="6" width="64" height="18" fill="{fill}" stroke="{GRID}"/>')
        body.append(_text(x + 32, 19, f"{v:.1f}", anchor="middle", size=10, fill="#fff" if light else INK))
    x = 8.0 + 3 * 70 + 10
    body += _hatched(x, 6, 18, 18)
    text = f"样本不足{suppress}家,不公布" if suppress else "样本不足,不公布"
    body.append(_text(x + 24, 19, text, size=11, fill=MUTED))
    body.append(_text(x + 34 + _text_width(text, 11), 19, "框:该单位最弱维度", size=11, fill=MUTED))
    matrix = values.to_numpy()
    for i, (unit, name) in enumerate(zip(values.index, row_names, strict=True)):
        code, y = str(unit), float(tops[i])
        if starts[i]:
            body.append(_text(8, y - 6, group_of[i], size=11, font_weight="bold", fill=MUTED))
            body.append(
                f'<line x1="8" y1="{_n(y - 1)}" x2="{_n(width - 10)}" y2="{_n(y - 1)}" stroke="{FAINT}"/>'
            )
        row = matrix[i]
        lowest = float(np.nanmin(row)) if np.isfinite(row).any() else None
        is_highlight = code == highlight
        parts = [f"<title>{_e(name)}</title>"]
        parts.append(
            _text(
                label_width - 8, y + 16, name, anchor="end", font_weight="bold" if is_highlight else "normal"
            )
        )
        for j, v in enumerate(row):
            x = label_width + cell_w * j
            if not np.isfinite(v):
                parts.append('<g class="cell suppressed">' + "".join(_hatched(x, y, cell_w, cell_h)) + "</g>")
                continue
            fill, light = _colour(float(v), low, mid, high)
            weakest = lowest is not None and float(v) == lowest
            stroke = f' stroke="{REPEATED}" stroke-width="2"' if weakest else ' stroke="#fff"'
            parts.append(
                f'<rect class="cell{" weakest" if weakest else ""}" data-dimension="{_e(codes[j])}" '
                f'x="{_n(x + 1)}" y="{_n(y + 1)}" width="{_n(cell_w - 2)}" height="{_n(cell_h - 2)}" '
                f'fill="{fill}"{stroke}/>'
            )
            parts.append(
                _text(
                    x + cell_w / 2,
                    y + 16,
                    f"{v:.1f}",
                    anchor="middle",
                    size=11,
                    fill="#fff" if light else INK,
                )
            )
        classes = _classes("mark unit", "highlight" if is_highlight else None)
        body.append(f'<g class="{classes}" data-unit="{_e(code)}">' + "".join(parts) + "</g>")
    return _svg(width, height, label, "chart-heatmap", body)


def _hatched(x: float, y: float, w: float, h: float) -> list[str]:
    """A grey cell crossed by diagonal lines: 'not published', never to be read as a low score."""
    parts = [
        f'<rect x="{_n(x + 1)}" y="{_n(y + 1)}" width="{_n(w - 2)}" height="{_n(h - 2)}" fill="#f0f2f5"/>'
    ]
    step = 6.0
    offset = 0.0
    while offset < w + h:
        x1, y1 = x + 1 + min(offset, w - 2), y + 1 + max(0.0, offset - (w - 2))
        x2, y2 = x + 1 + max(0.0, offset - (h - 2)), y + 1 + min(offset, h - 2)
        parts.append(
            f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{FAINT}" stroke-width="1"/>'
        )
        offset += step
    return parts


def trend_chart(
    trend: pd.DataFrame,
    *,
    bottom_n: int,
    highlight: str | None = None,
) -> str:
    """Each unit's rank over every stored period, one panel per comparison group, so a unit that
    keeps coming back to the bottom N is seen at a glance.

    `trend` holds `unit_trend` rows (unit_code, unit_name, group_name, period, rank, ranked,
    bottom_n, repeated_bottom_n). A line per unit, rank 1 at the top, the periods left to right;
    a period in which the unit was not ranked breaks its line. A period in which it was flagged
    bottom N is a red dot (class `bottom`), one in which REPEATED_BOTTOM_N applied a dark red
    ringed dot (class `repeated`); the others are small hollow dots. A unit's mark carries
    `bottom`/`repeated` when it has them in the latest period. With `highlight`, that unit is
    drawn dark and thick and every other unit pale, so a unit page can show one line in context
    (give it the rows of the unit's group only, for one panel).
    """
    label = f"各单位历期名次(红点:该期位列后{bottom_n}名)"
    data = trend[trend["period"].notna()].copy()
    if data.empty:
        return _svg(400, 40, label, "chart-trend", [_text(8, 24, "无历期数据", fill=MUTED)])
    data["period"] = data["period"].astype(str)
    periods = sorted(data["period"].unique())
    data["rank"] = pd.to_numeric(data["rank"], errors="coerce")
    data["is_ranked"] = data["ranked"].fillna(False).astype(bool) & data["rank"].notna()
    for flag, column in (("bottom_n", "is_bottom"), ("repeated_bottom_n", "is_repeated")):
        data[column] = (
            pd.to_numeric(data[flag], errors="coerce").fillna(0).astype(bool) if flag in data else False
        )
    latest = data.sort_values(["unit_code", "period"]).groupby("unit_code").tail(1).set_index("unit_code")
    data["group_key"] = data["unit_code"].map(latest["group_name"].astype(str))
    data["x_pos"] = data["period"].map({p: i for i, p in enumerate(periods)})
    # Plain records per unit, in period order: a page draws a unit's line per period, and pandas
    # indexing per unit and row cost more than the drawing (35 unit pages: 5.7 s, now a fraction).
    columns = ["period", "x_pos", "rank", "is_ranked", "is_bottom", "is_repeated"]
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for record in data.sort_values(["unit_code", "x_pos"])[["unit_code", *columns]].to_dict("records"):
        by_unit.setdefault(str(record["unit_code"]), []).append(cast(dict[str, Any], record))
    latest_rows = {str(code): cast(dict[str, Any], row) for code, row in latest.to_dict("index").items()}

    step, row_h, pad_left, label_w = 90.0, 18.0, 40.0, 150.0
    panel_w = pad_left + step * max(len(periods) - 1, 1) + label_w
    panels = []
    for group, units in data.groupby("group_key", sort=True):
        depth = int(max(units["rank"].max(skipna=True) if units["is_ranked"].any() else 1, 2))
        panels.append((str(group), units, depth, 34 + row_h * depth + 28))
    # Shelf layout: panels side by side while they fit in about 1100 pixels, tallest first.
    panels.sort(key=lambda p: (-p[3], p[0]))
    per_row = max(1, int(1100 // panel_w))
    body = _legend(8, 16, [(BOTTOM, f"该期后{bottom_n}名"), (REPEATED, f"连续后{bottom_n}名(问责)")])
    body.append(_text(330, 16, "线断开:该期未参与排名", size=11, fill=MUTED))
    y0, x0, shelf = 34.0, 0.0, 0.0
    for k, (group, units, depth, height) in enumerate(panels):
        if k and k % per_row == 0:
            y0, x0, shelf = y0 + shelf + 10, 0.0, 0.0
        shelf = max(shelf, height)
        sx = _Scale(
            (0, max(len(periods) - 1, 1)), (x0 + pad_left, x0 + pad_left + step * max(len(periods) - 1, 1))
        )
        sy = _Scale((1, depth), (y0 + 40, y0 + 40 + row_h * (depth - 1)))
        part = [_text(x0 + 8, y0 + 14, group, size=13, font_weight="bold")]
        for i, p in enumerate(periods):
            part.append(
                f'<line class="grid" x1="{_n(sx(i))}" y1="{_n(sy(1) - 8)}" x2="{_n(sx(i))}" '
                f'y2="{_n(sy(depth) + 8)}" stroke="{GRID}"/>'
            )
            part.append(_text(sx(i), sy(depth) + 24, p, anchor="middle", size=10, fill=MUTED))
        for r in sorted({1, depth, *range(5, depth, 5)}):
            part.append(_text(x0 + pad_left - 14, sy(r) + 4, str(r), anchor="end", size=10, fill=MUTED))
        labelled: dict[tuple[str, str], int] = {}
        codes = sorted(
            {str(c) for c in units["unit_code"]},
            key=lambda c: (c == highlight, c),  # the highlight drawn last, on top
        )
        for code in codes:
            part.append(_unit_trend(code, by_unit[code], sx, sy, highlight, latest_rows[code], labelled))
        body.append(f'<g class="panel" data-group="{_e(group)}">' + "".join(part) + "</g>")
        x0 += panel_w
    total_w = panel_w * min(per_row, len(panels))
    return _svg(total_w, y0 + shelf + 6, label, "chart-trend", body)


def _unit_trend(
    code: str,
    rows: list[dict[str, Any]],
    sx: _Scale,
    sy: _Scale,
    highlight: str | None,
    now: dict[str, Any],
    labelled: dict[tuple[str, str], int],
) -> str:
    """One unit's line, dots and name in a trend panel, from its rows in period order (`period,
    x_pos, rank, is_ranked, is_bottom, is_repeated`) and its latest row `now`. Units tied at
    their last rank would write their names over each other: each further one moves a row down
    (a tie leaves the ranks after it empty), as `labelled` counts the names already at a place."""
    muted = highlight is not None and code != highlight
    line_colour = FAINT if muted else (INK if code == highlight else OTHER)
    width = "3" if code == highlight else "1.5"
    name = str(now["unit_name"])
    parts = [f"<title>{_e(name)}</title>"]
    segment: list[str] = []
    segments = []
    for row in rows:
        if bool(row["is_ranked"]):
            segment.append(f"{_n(sx(float(row['x_pos'])))},{_n(sy(float(row['rank'])))}")
        else:
            segments.append(segment)
            segment = []
    segments.append(segment)
    for s in segments:
        if len(s) > 1:
            parts.append(
                f'<polyline class="line" points="{" ".join(s)}" fill="none" stroke="{line_colour}" '
                f'stroke-width="{width}"/>'
            )
    last = None
    for row in (r for r in rows if bool(r["is_ranked"])):
        cx, cy = sx(float(row["x_pos"])), sy(float(row["rank"]))
        repeated, bottom = bool(row["is_repeated"]), bool(row["is_bottom"]) or bool(row["is_repeated"])
        kind = _classes("point", "bottom" if bottom else None, "repeated" if repeated else None)
        tip = f"{name} {row['period']}:第{int(row['rank'])}名" + (
            "(连续后N名)" if repeated else "(后N名)" if bottom else ""
        )
        if repeated:
            style = f'r="6" fill="{REPEATED}" stroke="{INK}" stroke-width="1.5"'
        elif bottom:
            style = f'r="5" fill="{BOTTOM}"'
        else:
            style = f'r="3" fill="#fff" stroke="{line_colour}" stroke-width="1.5"'
        opacity = ' opacity="0.45"' if muted and not bottom else ""
        parts.append(
            f'<circle class="{kind}" data-period="{_e(row["period"])}" cx="{_n(cx)}" cy="{_n(cy)}" {style}{opacity}>'
            f"<title>{_e(tip)}</title></circle>"
        )
        last = (cx, cy, int(row["rank"]))
    if last is not None:
        place = (_n(last[0]), _n(last[1]))
        shift = labelled.get(place, 0)
        labelled[place] = shift + 1
        parts.append(
            _text(
                last[0] + 10,
                last[1] + 4 + shift * (sy(2) - sy(1)),
                f"{last[2]} {name}",
                size=11,
                fill=MUTED if muted else INK,
                font_weight="bold" if code == highlight else "normal",
            )
        )
    classes = _classes(
        "mark unit",
        "bottom" if bool(now["is_bottom"]) or bool(now["is_repeated"]) else None,
        "repeated" if bool(now["is_repeated"]) else None,
        "highlight" if code == highlight else None,
        "muted" if muted else None,
    )
    return f'<g class="{classes}" data-unit="{_e(code)}">' + "".join(parts) + "</g>"
