"""units/<unit_code>.html: one page per unit, for its head to act on.

The period report compares units; a department head needs the opposite view — where their own
unit stands in its group, which of its items pull it down against the group's median, what its
metrics and flags say, how it moved over the periods, and what its enterprises wrote, grouped by
theme. Every figure is taken from the period's `PeriodReport`, so the page and the report can
never disagree; figures resting on fewer respondents than the suppression threshold are not
shown, nor are that unit's comments (a handful of comments could name the enterprises).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pandas as pd
from jinja2 import Environment, PackageLoader

from bizenv.comments.themes import classify
from bizenv.errors import SchemaError
from bizenv.ingest.privacy import mask_personal_numbers
from bizenv.report.charts import group_dot_plot, trend_chart
from bizenv.report.publication import ACCOUNTABILITY, RECOGNITION, PeriodReport
from bizenv.schemas.loader import load_indicators, load_themes
from bizenv.schemas.models import Questionnaire, Themes
from bizenv.scoring.satisfaction import items_to_percent

# How many items a page names as the unit's weakest, in each of the two senses.
WEAKEST_ITEMS = 3
FLAG_ORDER = ACCOUNTABILITY + RECOGNITION


def item_scores(responses: pd.DataFrame, weights: pd.Series, questionnaire: Questionnaire) -> pd.DataFrame:
    """Every unit's score on every item: the weighted mean of the 0-100 transform of the
    answers of its respondents who answered the item (the transform the index is built from).

    Out: `unit_code`, `item` (code), `score` (NaN when nobody answered), `n_answered`, one row
    per unit and item, items in questionnaire order. One groupby over all units at once."""
    codes = [item.code for item in questionnaire.items()]
    percent = items_to_percent(responses[codes].astype(float), questionnaire.scale.points)
    w = weights.reindex(responses.index).astype(float)
    answered = percent.notna()
    parts = pd.concat(
        {"wx": percent.mul(w, axis=0), "w": answered.mul(w, axis=0), "n": answered.astype(int)},
        axis=1,
    )
    sums = parts.groupby(responses["unit_code"].astype(str), sort=True).sum()
    score = sums["wx"] / sums["w"].where(sums["w"] > 0)
    long = pd.DataFrame(
        {
            "score": score.stack(future_stack=True),
            "n_answered": sums["n"].stack(future_stack=True).astype(int),
        }
    )
    long.index.names = ["unit_code", "item"]
    return long.reset_index()


def with_group_median(values: pd.DataFrame, key: str, report: PeriodReport) -> pd.DataFrame:
    """`values` (unit_code, `key`, score) with `group_median`: the median of the score over the
    units of the same comparison group and level whose figures are published (at least the
    suppression threshold of respondents), and `gap` = score − group median."""
    meta = report.rankings.set_index("unit_code")[["group_code", "level", "n_respondents"]]
    joined = values.join(meta, on="unit_code")
    published = joined[joined["n_respondents"] >= report.policy.suppression_min]
    medians = published.groupby(["group_code", "level", key])["score"].median().rename("group_median")
    joined = joined.join(medians, on=["group_code", "level", key])
    return joined.assign(gap=joined["score"] - joined["group_median"])


def weakest_items(items: pd.DataFrame, n: int = WEAKEST_ITEMS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per unit, the `n` lowest items, and the `n` items furthest below the group median (only
    items below it). Ties keep questionnaire order."""
    scored = items.dropna(subset=["score"]).reset_index(drop=True)
    scored["order"] = scored.groupby("unit_code").cumcount()
    lowest = scored.sort_values(["unit_code", "score", "order"]).groupby("unit_code").head(n)
    below = scored[scored["gap"] < 0].sort_values(["unit_code", "gap", "order"]).groupby("unit_code").head(n)
    return lowest, below


def comments_by_theme(comments: pd.DataFrame, themes: Themes) -> pd.DataFrame:
    """Each unit's distinct comments under each theme they are about, with how often each was
    written: `unit_code`, `theme`, `label`, `comment`, `count`, and `theme_total` (comments of
    the unit under that theme, repeats included). Comments are masked here once more, whatever
    the load did: a page is read far more widely than the warehouse."""
    text = mask_personal_numbers(comments["comment"].astype("object").fillna("").astype(str)).str.strip()
    frame = pd.DataFrame(
        {"unit_code": comments["unit_code"].astype(str).to_numpy(), "comment": text.to_numpy()}
    )
    frame = frame[frame["comment"] != ""].reset_index(drop=True)
    themed = classify(frame["comment"], themes).join(frame, on="comment_index")
    counted = (
        themed.groupby(["unit_code", "theme", "label", "comment"], sort=False)
        .size()
        .rename("count")
        .reset_index()
    )
    counted["theme_total"] = counted.groupby(["unit_code", "theme"])["count"].transform("sum")
    order = {code: i for i, code in enumerate(themes.labels())}
    counted["theme_order"] = counted["theme"].map(order)
    return counted.sort_values(
        ["unit_code", "theme_order", "count", "comment"], ascending=[True, True, False, True]
    ).drop(columns="theme_order")


def _fmt(value: object, digits: int = 1) -> str:
    return "—" if value is None or pd.isna(cast(Any, value)) else f"{float(cast(Any, value)):.{digits}f}"


def _signed(value: object) -> str:
    return "—" if value is None or pd.isna(cast(Any, value)) else f"{float(cast(Any, value)):+.1f}"


def _records(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    for record in frame.to_dict("records"):
        yield {str(k): v for k, v in record.items()}


class _ByUnit:
    """A frame's rows by unit, split once for all the pages (a unit without rows gets none; so
    does every unit when the frame has no rows, as a period without metrics has no columns)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.empty = frame.iloc[0:0]
        self.parts = (
            {str(code): rows for code, rows in frame.groupby("unit_code", sort=False)}
            if "unit_code" in frame.columns
            else {}
        )

    def __getitem__(self, unit_code: str) -> pd.DataFrame:
        return self.parts.get(unit_code, self.empty)


def write_unit_pages(folder: Path, report: PeriodReport) -> list[Path]:
    """`folder/<unit_code>.html` for every active registered unit of the period's rankings."""
    folder.mkdir(parents=True, exist_ok=True)
    env = Environment(loader=PackageLoader("bizenv.report", "templates"), autoescape=True)
    template = env.get_template("unit.html.j2")
    pages = _UnitPages(report)
    paths = []
    for unit_code in pages.unit_codes():
        path = folder / f"{unit_code}.html"
        path.write_text(template.render(**pages.context(unit_code)), encoding="utf-8")
        paths.append(path)
    return paths


class _UnitPages:
    """Everything the pages need, computed once for all units."""

    def __init__(self, report: PeriodReport) -> None:
        self.report = report
        r = report
        self.suppress = r.policy.suppression_min
        self.bottom_n = r.policy.flags.bottom_n
        self.top_n = r.policy.flags.top_n
        self.rows: dict[str, dict[str, Any]] = {
            str(code): {str(k): v for k, v in row.items()}
            for code, row in r.rankings.set_index("unit_code", drop=False).to_dict("index").items()
        }
        self.units = {u.code: u for u in r.registry.units}
        self.item_labels = {i.code: i.label for i in r.questionnaire.items()}
        self.item_dimension = r.questionnaire.item_dimension()
        self.dimension_labels = {d.code: d.label for d in r.questionnaire.dimensions}
        items = with_group_median(item_scores(r.responses, r.weights, r.questionnaire), "item", r)
        lowest, below = weakest_items(items)
        self.items, self.lowest, self.below = _ByUnit(items), _ByUnit(lowest), _ByUnit(below)
        dims = r.scores.loc[
            r.scores["dimension"] != "overall", ["unit_code", "dimension", "score", "ci_low", "ci_high"]
        ]
        self.dimensions = _ByUnit(with_group_median(dims, "dimension", r))
        self.comments = _ByUnit(comments_by_theme(r.comments, load_themes()))
        written = r.comments[r.comments["comment"].astype(str).str.strip() != ""]
        self.n_comments = written.groupby("unit_code").size()
        self.flags = _ByUnit(r.flags)
        self.indicator_rows = _ByUnit(r.indicator_rows)
        self.trend = _ByUnit(r.trend)
        try:
            catalogue = load_indicators().by_code()
        except SchemaError:  # a page without indicator names beats no page
            catalogue = {}
        self.indicator_names = {code: (i.name, i.unit_of_measure) for code, i in catalogue.items()}
        self.city = r.city.set_index("indicator")

    def unit_codes(self) -> list[str]:
        active = {u.code for u in self.report.registry.units if u.active}
        return [str(c) for c in self.report.rankings["unit_code"] if c in active]

    def context(self, unit_code: str) -> dict[str, Any]:
        r = self.report
        row = self.rows[unit_code]
        shown = int(row["n_respondents"]) >= self.suppress
        group = r.registry.groups.get(str(row["group_code"]))
        return {
            "city": r.registry.city,
            "period": r.period,
            "generated": datetime.now().strftime("%Y-%m-%d %H:%M"),
            "unit": {
                "code": unit_code,
                "name": str(row["unit_name"]),
                "full_name": self.units[unit_code].full_name if unit_code in self.units else None,
                "group": group.name if group else str(row["group_code"]),
                "group_en": group.name_en if group else "",
                "level": str(row["level"]),
            },
            "shown": shown,
            "ranked": bool(row["ranked"]),
            "headline": self._headline(row, shown),
            "flags": self._flags(unit_code),
            "dimensions": self._dimensions(unit_code) if shown else [],
            "items": self._items(unit_code) if shown else [],
            "lowest": self._named(self.lowest, unit_code) if shown else [],
            "below": self._named(self.below, unit_code) if shown else [],
            "indicators": self._indicators(unit_code),
            "trend": self._trend(unit_code),
            "themes": self._comments(unit_code) if shown else [],
            "n_comments": int(self.n_comments.get(unit_code, 0)) if shown else 0,
            "group_chart": self._group_chart(row),
            "trend_chart": self._trend_chart(unit_code),
            "bottom_n": self.bottom_n,
            "min_n": r.policy.min_respondents,
            "suppress": self.suppress,
            "level_ci": r.policy.rank_intervals.level,
            "confidence": r.policy.confidence_level,
        }

    def _headline(self, row: dict[str, Any], shown: bool) -> dict[str, Any]:
        ranked = bool(row["ranked"])
        return {
            "n_respondents": int(row["n_respondents"]),
            "index": _fmt(row["satisfaction_index"]) if shown else "—",
            "ci": f"{_fmt(row['satisfaction_ci_low'])}–{_fmt(row['satisfaction_ci_high'])}"
            if shown and pd.notna(row["satisfaction_ci_low"])
            else "—",
            "indicator_score": _fmt(row["indicator_score"]),
            "composite": _fmt(row["composite_score"], 2) if shown else "—",
            "rank": str(int(row["rank"])) if ranked else "—",
            "group_ranked": int(row["group_ranked"]),
            "group_size": int(row["group_size"]),
            "rank_median": str(int(row["rank_median"])) if ranked else "—",
            "rank_interval": f"{int(row['rank_ci_low'])}–{int(row['rank_ci_high'])}" if ranked else "—",
            "p_bottom": _fmt(row["p_bottom_n"], 2) if ranked else "—",
        }

    def _flags(self, unit_code: str) -> list[dict[str, Any]]:
        flags = self.flags[unit_code]
        order = flags["flag"].map(lambda f: FLAG_ORDER.index(f) if f in FLAG_ORDER else len(FLAG_ORDER))
        return list(_records(flags.assign(order=order).sort_values(["order", "flag"])))

    def _dimensions(self, unit_code: str) -> list[dict[str, Any]]:
        dims = self.dimensions[unit_code].set_index("dimension")
        rows = []
        for d in self.report.questionnaire.dimensions:
            if d.code not in dims.index:
                continue
            x = dims.loc[d.code]
            rows.append(
                {
                    "label": d.label,
                    "label_en": d.label_en,
                    "score": _fmt(x["score"]),
                    "ci": f"{_fmt(x['ci_low'])}–{_fmt(x['ci_high'])}",
                    "median": _fmt(x["group_median"]),
                    "gap": _signed(x["gap"]),
                    "below": bool(x["gap"] < 0),
                }
            )
        return rows

    def _items(self, unit_code: str) -> list[dict[str, Any]]:
        items = self.items[unit_code]
        lowest = set(self.lowest[unit_code]["item"])
        below = set(self.below[unit_code]["item"])
        return [
            {
                "code": x["item"],
                "label": self.item_labels[x["item"]],
                "dimension": self.dimension_labels[self.item_dimension[x["item"]]],
                "score": _fmt(x["score"]),
                "n": int(x["n_answered"]),
                "median": _fmt(x["group_median"]),
                "gap": _signed(x["gap"]),
                "lowest": x["item"] in lowest,
                "below": x["item"] in below,
            }
            for x in _records(items)
        ]

    def _named(self, frame: _ByUnit, unit_code: str) -> list[dict[str, Any]]:
        return [
            {
                "label": self.item_labels[x["item"]],
                "score": _fmt(x["score"]),
                "median": _fmt(x["group_median"]),
                "gap": _signed(x["gap"]),
            }
            for x in _records(frame[unit_code])
        ]

    def _indicators(self, unit_code: str) -> list[dict[str, Any]]:
        rows = self.indicator_rows[unit_code]
        if rows.empty:
            return []
        rows = rows.sort_values("indicator")
        out = []
        for x in _records(rows):
            name, measure = self.indicator_names.get(x["indicator"], (x["indicator"], ""))
            city = self.city.loc[x["indicator"]] if x["indicator"] in self.city.index else None
            out.append(
                {
                    "name": name,
                    "code": x["indicator"],
                    "value": _fmt(x["value"]),
                    "measure": measure,
                    "level": x["level"] if isinstance(x["level"], str) else "—",
                    "score": _fmt(x["frontier_score"]),
                    "city_value": _fmt(city["city_value"]) if city is not None else "—",
                    "city_level": str(city["level"]) if city is not None and pd.notna(city["level"]) else "—",
                }
            )
        return out

    def _unit_trend(self, unit_code: str) -> pd.DataFrame:
        """The unit's trend rows with indices of suppressed periods blanked."""
        rows = self.trend[unit_code].sort_values("period").copy()
        hidden = rows["n_respondents"] < self.suppress
        for column in ("satisfaction_index", "composite_score"):
            rows[column] = rows[column].where(~hidden)
        return rows

    def _trend(self, unit_code: str) -> dict[str, Any]:
        rows = self._unit_trend(unit_code)
        periods = [
            {
                "period": x["period"],
                "rank": str(int(x["rank"])) if x["ranked"] and pd.notna(x["rank"]) else "—",
                "index": _fmt(x["satisfaction_index"]),
                "composite": _fmt(x["composite_score"], 2),
                "n": int(x["n_respondents"]),
                "bottom": bool(x["bottom_n"]),
                "repeated": bool(x["repeated_bottom_n"]),
                "top": bool(x["top_n"]),
            }
            for x in _records(rows)
        ]
        return {"periods": periods, "bottom_periods": int(rows["bottom_n"].astype(bool).sum())}

    def _comments(self, unit_code: str) -> list[dict[str, Any]]:
        mine = self.comments[unit_code]
        themes = []
        for (theme, label), frame in mine.groupby(["theme", "label"], sort=False):
            themes.append(
                {
                    "code": theme,
                    "label": label,
                    "total": int(frame["count"].sum()),
                    "comments": [
                        {"text": c, "count": int(n)}
                        for c, n in zip(frame["comment"], frame["count"], strict=True)
                    ],
                }
            )
        return themes

    def _group_chart(self, row: dict[str, Any]) -> str:
        """The unit's comparison group (same group and level) as a dot plot, the unit marked;
        units not ranked, among them every suppressed one, are not in it."""
        rankings = self.report.rankings
        group = rankings[(rankings["group_code"] == row["group_code"]) & (rankings["level"] == row["level"])]
        return group_dot_plot(
            group,
            bottom_n=self.bottom_n,
            top_n=self.top_n,
            highlight=str(row["unit_code"]),
            min_group_size=self.report.policy.flags.min_group_size,
            rank_level=self.report.policy.rank_intervals.level,
        )

    def _trend_chart(self, unit_code: str) -> str:
        """The ranks of the unit's group over the stored periods, the unit's line drawn dark."""
        own = self.trend[unit_code].sort_values("period")
        trend = self.report.trend
        if own.empty:
            return trend_chart(trend.iloc[0:0], bottom_n=self.bottom_n, highlight=unit_code)
        group = own["group_name"].iloc[-1]
        return trend_chart(trend[trend["group_name"] == group], bottom_n=self.bottom_n, highlight=unit_code)
