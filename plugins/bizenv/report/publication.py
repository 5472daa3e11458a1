"""report.html for staff: rankings, flags with reasons, weak dimensions, reliability and data
quality (the workbook is `bizenv.report.workbook`). Figures resting on fewer respondents than
the suppression threshold are not published."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import quote

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from bizenv.evaluation.summary import EvaluationSummary
from bizenv.flags.rules import funnel_limits
from bizenv.report import charts
from bizenv.schemas.models import Policy, Questionnaire, Registry

ACCOUNTABILITY = [
    "REPEATED_BOTTOM_N",
    "BOTTOM_N",
    "SIGNIFICANTLY_LOW",
    "SIGNIFICANT_DECLINE",
    "INSUFFICIENT_SAMPLE",
    "RECTIFICATION_OVERDUE",
]
RECOGNITION = ["TOP_N", "MOST_IMPROVED"]


@dataclass(frozen=True)
class PeriodReport:
    """Everything the period's documents show (report, unit pages, public ranking, bulletin,
    workbook), read once after the warehouse holds the results."""

    period: str
    rankings: pd.DataFrame  # build_rankings output, one row per registered unit
    rankings_csv: pd.DataFrame  # the contract's rankings.csv rows
    flags: pd.DataFrame  # period, unit_code, unit_name, flag, reason, reason_en
    scores: pd.DataFrame  # unit_scores output: unit_code, dimension (codes and "overall"), score, ...
    shares: pd.DataFrame
    indicator_rows: pd.DataFrame  # frontier_scores output: unit_code, indicator, value, level, score, ...
    city: pd.DataFrame  # the city's level per indicator: indicator, city_value, n_units, level
    reliability: pd.DataFrame
    quarantine: pd.DataFrame
    responses: pd.DataFrame  # unit_code, respondent_hash, scale points per item code
    weights: pd.Series  # each response row's weight (raked or 1)
    comments: pd.DataFrame  # unit_code, comment: non-blank comments of accepted responses, masked at load
    trend: pd.DataFrame  # the unit_trend view for this period and every earlier one
    summary: EvaluationSummary
    questionnaire: Questionnaire
    registry: Registry
    policy: Policy


class _RankingRow(Protocol):
    """A rankings row as the report reads it (cast from `itertuples()`, whose attributes
    pandas-stubs types as the union of all pandas scalars)."""

    unit_code: str
    unit_name: str
    n_respondents: int
    ranked: bool
    rank: float
    rank_median: float
    rank_ci_low: float
    rank_ci_high: float
    p_bottom_n: float
    composite_score: float
    indicator_score: float
    satisfaction_index: float
    satisfaction_ci_low: float
    satisfaction_ci_high: float


def _fmt(value: float, digits: int = 1) -> str:
    return "—" if pd.isna(value) else f"{value:.{digits}f}"


def dimension_table(scores: pd.DataFrame, questionnaire: Questionnaire, policy: Policy) -> pd.DataFrame:
    """Units × dimensions (0-100), suppressed under the threshold; `weakest` names the lowest."""
    dims = scores[scores["dimension"] != "overall"]
    wide = dims.pivot(index="unit_code", columns="dimension", values="score")
    counts = dims.groupby("unit_code")["n_respondents"].max()
    wide = wide.where(counts.reindex(wide.index) >= policy.suppression_min)
    order = [d.code for d in questionnaire.dimensions]
    wide = wide.reindex(columns=order)
    labels = {d.code: d.label for d in questionnaire.dimensions}
    shown = wide[order].notna().any(axis=1)
    weakest = pd.Series(pd.NA, index=wide.index, dtype=object)
    weakest[shown] = wide.loc[shown, order].idxmin(axis=1).map(labels)
    wide["weakest"] = weakest
    return wide


def _share_text(shares: pd.DataFrame, group: str, level: str) -> str | None:
    """The group's effective weights, as a sentence for its heading."""
    row = shares[(shares["group_code"] == group) & (shares["level"] == level)]
    if row.empty or pd.isna(row["share_satisfaction"].iloc[0]):
        return None
    r = row.iloc[0]
    text = (
        f"综合得分实际构成(方差贡献,{int(r.n_units)}家单位两部分齐全):满意度 {r.share_satisfaction:.0%},"
        f"部门指标 {r.share_indicators:.0%}(政策权重 {r.weight_satisfaction:.0%} / {r.weight_indicators:.0%})"
    )
    if pd.notna(r.correlation):
        text += f";两部分相关系数 {r.correlation:.2f}"
        if r.correlation < 0:
            text += ",负相关的两部分相互抵消,份额可超出 0–100%"
    return text + f" · effective shares {r.share_satisfaction:.2f} / {r.share_indicators:.2f}"


def _groups(
    rankings: pd.DataFrame,
    flags: pd.DataFrame,
    weakest: pd.Series,
    shares: pd.DataFrame,
    registry: Registry,
    policy: Policy,
) -> list[dict[str, Any]]:
    by_unit = flags.groupby("unit_code")["flag"].agg(list)
    paged = {u.code for u in registry.units if u.active}  # the units with a page in units/
    groups = []
    for key, frame in rankings.groupby(["group_code", "level"], sort=True):
        group, level = cast(tuple[str, str], key)  # pandas-stubs types group keys as Hashable
        rows = []
        ordered = frame.sort_values(["ranked", "rank", "unit_code"], ascending=[False, True, True])
        for r in cast(Iterator[_RankingRow], ordered.itertuples()):
            shown = r.n_respondents >= policy.suppression_min
            rows.append(
                {
                    "ranked": r.ranked,
                    "rank_text": str(int(r.rank)) if r.ranked else "—",
                    "unit_name": r.unit_name,
                    "page": f"units/{quote(str(r.unit_code))}.html" if r.unit_code in paged else None,
                    "n_respondents": r.n_respondents,
                    "satisfaction_text": (
                        f"{r.satisfaction_index:.1f} ({r.satisfaction_ci_low:.1f}–{r.satisfaction_ci_high:.1f})"
                        if shown and pd.notna(r.satisfaction_index)
                        else "—"
                    ),
                    "indicator_text": _fmt(r.indicator_score),
                    "composite_text": _fmt(r.composite_score, 2),
                    "rank_median": str(int(r.rank_median)) if r.ranked else "—",
                    "rank_interval": f"{int(r.rank_ci_low)}–{int(r.rank_ci_high)}" if r.ranked else "—",
                    "p_bottom": _fmt(r.p_bottom_n, 2),
                    "weakest": weakest.get(r.unit_code, "—") if shown else "—",
                    "flags": by_unit.get(r.unit_code, []),
                }
            )
        meta = registry.groups[group]
        groups.append(
            {
                "name": meta.name,
                "name_en": meta.name_en,
                "level": level,
                "rows": rows,
                "shares": _share_text(shares, group, level),
            }
        )
    return groups


def _charts(report: PeriodReport, dims: pd.DataFrame) -> dict[str, Any]:
    """The report's SVG charts (`bizenv.report.charts` escapes every text itself, which is why
    the template may insert them with `|safe`): a dot plot per comparison group, keyed by its
    name and level as the template's groups are, the funnel plot, the heat map and the trend."""
    rankings, policy, registry = report.rankings, report.policy, report.registry
    rules = policy.flags
    dots = {}
    for key, rows in rankings.groupby(["group_code", "level"], sort=True):
        group, level = cast(tuple[str, str], key)
        name = registry.groups[group].name
        dots[(name, level)] = charts.group_dot_plot(
            rows,
            bottom_n=rules.bottom_n,
            top_n=rules.top_n,
            min_group_size=rules.min_group_size,
            rank_level=policy.rank_intervals.level,
            title=f"{name}:综合得分与名次区间",
        )
    order = rankings.sort_values(["group_code", "level", "rank", "unit_code"], na_position="last")[
        "unit_code"
    ]
    names = dict(zip(rankings["unit_code"].astype(str), rankings["unit_name"].astype(str), strict=True))
    return {
        "groups": dots,
        "funnel": charts.funnel_plot(
            rankings,
            funnel_limits(rankings, policy),
            limit=rules.funnel_limit,
            warning=rules.funnel_warning,
            overdispersion=rules.funnel_overdispersion,
            group_names={code: g.name for code, g in registry.groups.items()},
            min_group_size=rules.min_group_size,
        ),
        "heatmap": charts.heatmap(
            dims.reindex([u for u in order if u in dims.index]),
            {d.code: d.label for d in report.questionnaire.dimensions},
            unit_names=names,
            suppress=policy.suppression_min,
            groups={
                str(u): registry.groups[g].name
                for u, g in zip(rankings["unit_code"], rankings["group_code"], strict=True)
            },
        ),
        "trend": charts.trend_chart(report.trend, bottom_n=rules.bottom_n),
    }


def write_html(path: Path, report: PeriodReport, summary: EvaluationSummary, data_docs: str | None) -> Path:
    r = report
    rankings, flags, scores, shares, quarantine = r.rankings, r.flags, r.scores, r.shares, r.quarantine
    questionnaire, registry, policy = r.questionnaire, r.registry, r.policy
    env = Environment(
        loader=PackageLoader("bizenv.report", "templates"), autoescape=select_autoescape(["j2", "html"])
    )
    dims = dimension_table(scores, questionnaire, policy)
    dimension_rows = []
    names = rankings.set_index("unit_code")["unit_name"]
    for unit, row in dims.iterrows():
        values = [row[d.code] for d in questionnaire.dimensions]
        lowest = min((v for v in values if pd.notna(v)), default=None)
        dimension_rows.append(
            {
                "unit_name": names.get(unit, unit),
                "cells": [{"text": _fmt(v), "weak": v == lowest and lowest is not None} for v in values],
            }
        )
    by_reason = (
        quarantine.assign(reason=quarantine["reasons"].str.split(";")).explode("reason")
        .groupby(["file", "reason"]).size().rename("rows").reset_index()
        if not quarantine.empty
        else pd.DataFrame(columns=["file", "reason", "rows"])
    )  # fmt: skip
    warnings = list(summary.get("reliability_warnings", []))
    validation = summary.get("validation")
    if isinstance(validation, dict):
        warnings += validation.get("warnings", [])
    html = env.get_template("report.html.j2").render(
        city=registry.city,
        period=r.period,
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
        summary=summary,
        weighting="按规模/区域加权" if summary["weighting"]["method"] == "raking" else "未加权",
        indicators=summary.get("indicators", {"indicators": 0}),
        warnings=warnings,
        accountability=flags[flags["flag"].isin(ACCOUNTABILITY)]
        .assign(order=lambda f: f["flag"].map(ACCOUNTABILITY.index))
        .sort_values(["order", "unit_code"]),
        recognition=flags[flags["flag"].isin(RECOGNITION)].sort_values(["flag", "unit_code"]),
        groups=_groups(
            rankings,
            flags,
            dims["weakest"] if "weakest" in dims else pd.Series(dtype=str),
            shares,
            registry,
            policy,
        ),
        dimensions=questionnaire.dimensions,
        dimension_rows=dimension_rows,
        reliability=r.reliability,
        quarantine=by_reason,
        quarantine_total=len(quarantine),
        data_docs=data_docs,
        simulation=policy.rank_intervals,
        normalisation={"zscore": "z分数", "minmax": "极差", "none": "不标准化"}[
            policy.composite.normalisation
        ],
        bottom_n=policy.flags.bottom_n,
        min_n=policy.min_respondents,
        suppress=policy.suppression_min,
        charts=_charts(r, dims),
        funnel_limit=policy.flags.funnel_limit,
        funnel_warning=policy.flags.funnel_warning,
        min_group=policy.flags.min_group_size,
        consecutive=policy.flags.consecutive_periods,
    )
    path.write_text(html, encoding="utf-8")
    return path
