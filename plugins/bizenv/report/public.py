"""The public ranking, `public/ranking.html` and `public/ranking.csv`: what the city publishes
after each half-year of 万企评机关, and nothing more.

Which rank is published. The public rank is the official one: the point rank of the composite
within the comparison group and level (docs/method.md §6, "the published rank"), the rank the
bottom-five rule, the 通报 and any 问责 rest on. Publishing a second, satisfaction-only order
beside it would give two league tables that disagree: a unit named in the 通报 as bottom five
could stand twelfth in the public list, and every unit head would argue from whichever list
suits them. The programme's own wording (seed 004: 每半年组织企业家…进行满意度评议, 公布满意度
排名) calls its result the 满意度排名, and the composite is that ranking — enterprise
satisfaction carries 60% of the policy weight and about two thirds of the composite's variance
after normalisation (§5), the department metrics the rest. So the page shows the official rank
with the satisfaction index beside it (the enterprises' own figure, which is why the two need
not run in the same order) and says so in its method paragraph. The composite score itself is
not published: 50 = the group average on a z-score scale means nothing outside the office, and
its parts are internals.

What is published, per unit: comparison group, level, rank (blank when not ranked), the
satisfaction index rounded to one decimal (blank under `policy.suppression_min` respondents),
and a band of respondents rather than the count. Nothing else of the period report reaches
these files: no comments, no dimension breakdowns, no rank intervals or P(bottom N), no flags
or their reasons, no quarantine, no respondent keys. The files are built from an explicit list
of columns, never by dropping columns from a wider frame, so a column added to the report later
cannot leak into them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from bizenv.periods import Period
from bizenv.report.cells import safe_cells
from bizenv.report.publication import PeriodReport
from bizenv.schemas.models import Policy

HTML_NAME = "ranking.html"
CSV_NAME = "ranking.csv"
# The public CSV's columns, in order: the complete list of what the city publishes per unit.
PUBLIC_COLUMNS = [
    "period",
    "group",
    "level",
    "rank",
    "unit_code",
    "unit_name",
    "satisfaction_index",
    "respondents",
]
LEVEL_NAMES = {"department": "部门", "division": "处室", "station": "基层站所"}
# Upper ends (exclusive) of the respondent bands above the policy's two thresholds.
BAND_EDGES = (100, 200, 500)


def period_name(label: str) -> str:
    """`2026H1` as a Chinese reader writes it: 2026年上半年."""
    period = Period.parse(label)
    return f"{period.year}年{'上' if period.half == 1 else '下'}半年"


def respondent_band(n: int, policy: Policy) -> str:
    """A band instead of the count: enough to tell a thin sample from a broad one, without
    publishing figures that invite reading small differences in counts."""
    if n < policy.suppression_min:
        return f"<{policy.suppression_min}"
    edges = [
        policy.suppression_min,
        policy.min_respondents,
        *(e for e in BAND_EDGES if e > policy.min_respondents),
    ]
    for low, high in zip(edges, edges[1:], strict=False):
        if low <= n < high:
            return f"{low}–{high - 1}"
    return f"{edges[-1]}+"


def public_frame(report: PeriodReport) -> pd.DataFrame:
    """One row per unit of the period with exactly `PUBLIC_COLUMNS`, ordered by group, level and
    rank (units not ranked last in their group)."""
    policy, registry = report.policy, report.registry
    rankings = report.rankings
    shown = rankings["n_respondents"] >= policy.suppression_min
    index = rankings["satisfaction_index"].where(shown).round(1)
    group_order = {code: position for position, code in enumerate(registry.groups)}
    level_order = {level: position for position, level in enumerate(registry.levels)}
    frame = pd.DataFrame(
        {
            "period": report.period,
            "group": rankings["group_code"].map(lambda code: registry.groups[code].name),
            "level": rankings["level"].map(lambda level: LEVEL_NAMES.get(level, level)),
            "rank": rankings["rank"].where(rankings["ranked"]).astype("Int64"),
            "unit_code": rankings["unit_code"],
            "unit_name": rankings["unit_name"],
            "satisfaction_index": index,
            "respondents": rankings["n_respondents"].map(lambda n: respondent_band(int(n), policy)),
            "_group": rankings["group_code"].map(group_order),
            "_level": rankings["level"].map(level_order),
            "_unranked": ~rankings["ranked"].astype(bool),
        }
    )
    frame = frame.sort_values(["_group", "_level", "_unranked", "rank", "unit_code"], ignore_index=True)
    return frame[PUBLIC_COLUMNS]


def _groups(frame: pd.DataFrame) -> list[dict[str, Any]]:
    groups = []
    for (group, level), rows in frame.groupby(["group", "level"], sort=False):
        groups.append(
            {
                "name": group,
                "level": level if level != LEVEL_NAMES["department"] else None,
                "rows": [
                    {
                        "rank": "—" if pd.isna(row["rank"]) else str(int(row["rank"])),
                        "unit_name": row["unit_name"],
                        "index": "—"
                        if pd.isna(row["satisfaction_index"])
                        else f"{row['satisfaction_index']:.1f}",
                        "respondents": row["respondents"],
                        "ranked": pd.notna(row["rank"]),
                    }
                    for _, row in rows.iterrows()
                ],
            }
        )
    return groups


def write_public(folder: Path, report: PeriodReport) -> list[Path]:
    """`ranking.html` and `ranking.csv` in `folder` (created if missing); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = public_frame(report)
    csv_path = folder / CSV_NAME
    # UTF-8 with BOM: Excel on a Chinese Windows reads BOM-less UTF-8 as GBK and garbles names.
    safe_cells(frame).to_csv(csv_path, index=False, encoding="utf-8-sig")
    policy = report.policy
    env = Environment(
        loader=PackageLoader("bizenv.report", "templates"), autoescape=select_autoescape(["j2", "html"])
    )
    html = env.get_template("public_ranking.html.j2").render(
        city=report.registry.city,
        period=report.period,
        period_name=period_name(report.period),
        groups=_groups(frame),
        weight_satisfaction=f"{policy.composite_weights.satisfaction:.0%}",
        weight_indicators=f"{policy.composite_weights.indicators:.0%}",
        min_respondents=policy.min_respondents,
        suppression_min=policy.suppression_min,
        respondents=int(report.summary["respondents"]),
        normalised=policy.composite.normalisation != "none",
        weighted=report.summary["weighting"].get("method") == "raking",
        csv_name=CSV_NAME,
    )
    html_path = folder / HTML_NAME
    html_path.write_text(html, encoding="utf-8")
    return [html_path, csv_path]
