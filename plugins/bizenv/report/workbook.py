"""report.xlsx: the report's tables for staff who work in a spreadsheet, one sheet each, then a
sheet per questionnaire dimension with its items' scores per unit.

Every sheet is a table staff sort and filter: the header row stays in view, each column is as
wide as its text (a Chinese character counts twice), numbers keep their full precision behind a
display format, and colour scales and flag fills show where to look first without hiding a
number."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pandas.api.types import is_numeric_dtype
from xlsxwriter.format import Format  # type: ignore[import-untyped]
from xlsxwriter.workbook import Workbook  # type: ignore[import-untyped]
from xlsxwriter.worksheet import Worksheet  # type: ignore[import-untyped]

from bizenv.report.cells import XLSX_OPTIONS, safe_cells
from bizenv.report.publication import PeriodReport, dimension_table
from bizenv.schemas.models import Dimension, Questionnaire

SENSITIVITY_COLUMNS = [
    "group_code", "level", "unit_code", "unit_name", "composite_basis", "satisfaction_normalised",
    "indicators_normalised", "composite_score", "rank", "rank_median", "rank_ci_low", "rank_ci_high",
    "p_bottom_n", "p_top_n",
]  # fmt: skip
FLAG_COLUMNS = ["period", "unit_code", "unit_name", "flag", "reason", "reason_en"]

# Display formats by column name; the stored numbers are never rounded by them.
INDEX = "0.0"  # 0-100 indices and scores
COMPOSITE = "0.00"  # composite scores, normalised values, coefficients
SHARE = "0%"  # probabilities and shares
COUNT = "0"  # counts and ranks
NUMBER_FORMATS: dict[str, str] = {
    **dict.fromkeys(
        ["satisfaction_index", "satisfaction_ci_low", "satisfaction_ci_high", "indicator_score",
         "frontier_score"],
        INDEX,
    ),
    **dict.fromkeys(
        ["composite_score", "satisfaction_normalised", "indicators_normalised", "correlation", "alpha",
         "ci_low", "ci_high"],
        COMPOSITE,
    ),
    **dict.fromkeys(
        ["p_bottom_n", "p_top_n", "share_satisfaction", "share_indicators", "weight_satisfaction",
         "weight_indicators"],
        SHARE,
    ),
    **dict.fromkeys(
        ["n_respondents", "excluded_incomplete", "rank", "rank_median", "rank_ci_low", "rank_ci_high",
         "n_units", "n", "k", "file_row", "n_indicators", "group_size", "group_ranked", "n_answered"],
        COUNT,
    ),
}  # fmt: skip
# Scores on a colour scale (low red, middle yellow, high green) wherever they appear.
SCORED = {"satisfaction_index", "indicator_score", "composite_score", "frontier_score"}

# Flag fills: accountability red, a significant shortfall orange, recognition green.
RED = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}
ORANGE = {"bg_color": "#FFDDB3", "font_color": "#9C4A00"}
GREEN = {"bg_color": "#C6EFCE", "font_color": "#006100"}
FLAG_FILLS: dict[str, dict[str, str]] = {
    "REPEATED_BOTTOM_N": RED,
    "RECTIFICATION_OVERDUE": RED,
    "BOTTOM_N": RED,
    "SIGNIFICANTLY_LOW": ORANGE,
    "TOP_N": GREEN,
    "MOST_IMPROVED": GREEN,
}
COLOUR_SCALE = {
    "type": "3_color_scale",
    "min_color": "#F8696B",
    "mid_type": "percentile",
    "mid_value": 50,
    "mid_color": "#FFEB84",
    "max_color": "#63BE7B",
}
MAX_WIDTH = 60
MEASURED_ROWS = 1000  # widths are fitted to the first rows; a long quarantine need not be read whole
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Sheet:
    """One table of the workbook and the columns that carry a colour scale."""

    name: str
    frame: pd.DataFrame
    scored: frozenset[str] = frozenset()
    flag_column: str | None = None


def write_workbook(path: Path, report: PeriodReport) -> Path:
    r = report
    questionnaire, rankings = r.questionnaire, r.rankings
    labels = {d.code: d.label for d in questionnaire.dimensions}
    dims = dimension_table(r.scores, questionnaire, r.policy).rename(columns=labels | {"weakest": "最弱维度"})
    sheets = [
        Sheet("排名 rankings", r.rankings_csv, frozenset(SCORED)),
        Sheet(
            "排名稳健性 sensitivity",
            rankings.loc[rankings["ranked"], SENSITIVITY_COLUMNS],
            frozenset(SCORED),
        ),
        Sheet("综合权重 composite", r.shares),
        Sheet("问责与表彰 flags", r.flags[FLAG_COLUMNS], flag_column="flag"),
        Sheet("维度得分 dimensions", _with_names(dims, rankings), frozenset(labels.values())),
        Sheet("部门指标 indicators", r.indicator_rows, frozenset(SCORED)),
        Sheet("问卷信度 reliability", r.reliability),
        Sheet("隔离数据 quarantine", r.quarantine),
    ]
    taken = {s.name[:31] for s in sheets}
    items = item_scores(r.responses, r.weights, questionnaire, r.policy.suppression_min)
    for dimension in questionnaire.dimensions:
        name = dimension_sheet_name(dimension, taken)
        taken.add(name)
        frame, scored = dimension_sheet(dimension, items, rankings, dims)
        sheets.append(Sheet(name, frame, scored))
    # Text from outside (file names, cells, unit names) is never written as a formula or a link.
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": XLSX_OPTIONS}) as writer:
        formats = _Formats(writer.book)
        for sheet in sheets:
            _write_sheet(writer, sheet, formats)
    return path


def _with_names(dims: pd.DataFrame, rankings: pd.DataFrame) -> pd.DataFrame:
    """The dimensions table with each unit's name beside its code: staff look units up by name."""
    names = rankings.set_index("unit_code")["unit_name"]
    table = dims.reset_index()
    table.insert(1, "unit_name", table["unit_code"].map(names))
    return table


def item_scores(
    responses: pd.DataFrame, weights: pd.Series, questionnaire: Questionnaire, suppression_min: int
) -> pd.DataFrame:
    """Per unit (index) and item code (columns): the weighted mean of the item's answers on 0-100,
    `(points - 1) / (k - 1) * 100`, over the respondents who answered it; blank where fewer than
    `suppression_min` answered, as every published figure. Columns `n:<item>` count them, and
    `dimension:<code>` the respondents who answered any item of the dimension."""
    codes = [item.code for item in questionnaire.items()]
    percent = (responses[codes].astype(float) - 1) / (questionnaire.scale.points - 1) * 100
    answered = percent.notna()
    any_item = pd.DataFrame(
        {d.code: answered[[i.code for i in d.items]].any(axis=1) for d in questionnaire.dimensions}
    )
    weight = weights.reindex(responses.index).astype(float).to_numpy()[:, None]
    parts = pd.concat(
        {
            "sum": percent.fillna(0.0) * weight,
            "weight": answered * weight,
            "n": answered.astype(int),
            "dimension": any_item.astype(int),
        },
        axis=1,
    )
    # One pass over the responses for every unit, item and dimension.
    totals = parts.groupby(responses["unit_code"].to_numpy()).sum()
    counts = totals["n"]
    score = (totals["sum"] / totals["weight"].where(totals["weight"] > 0)).where(
        counts[codes] >= suppression_min
    )
    return pd.concat([score, counts.add_prefix("n:"), totals["dimension"].add_prefix("dimension:")], axis=1)


def dimension_sheet_name(dimension: Dimension, taken: Iterable[str]) -> str:
    """`服务态度 attitude`, cut to Excel's 31 characters, without the characters Excel refuses."""
    name = SHEET_NAME_FORBIDDEN.sub("_", f"{dimension.label} {dimension.code}")[:31]
    return name if name not in set(taken) else dimension.code[:31]


def dimension_sheet(
    dimension: Dimension, items: pd.DataFrame, rankings: pd.DataFrame, dims: pd.DataFrame
) -> tuple[pd.DataFrame, frozenset[str]]:
    """Every registered unit (in the rankings' order) with the dimension's score and its items'
    scores: the sheet tells which item pulls a dimension down."""
    units = rankings[["group_code", "level", "unit_code", "unit_name"]].reset_index(drop=True)
    scores = items.reindex(units["unit_code"])
    answered = scores[f"dimension:{dimension.code}"].fillna(0).astype(int)
    dimension_column = f"{dimension.label}(维度)"
    frame = units.assign(
        n_answered=answered.to_numpy(),
        **{dimension_column: dims[dimension.label].reindex(units["unit_code"]).to_numpy()},
        **{item.label: scores[item.code].to_numpy() for item in dimension.items},
    )
    return frame, frozenset([dimension_column, *(item.label for item in dimension.items)])


class _Formats:
    """The workbook's formats, each added once (xlsxwriter keeps every format it is given)."""

    def __init__(self, book: Workbook) -> None:
        self._book = book
        self._cache: dict[str, Format] = {}

    def __call__(self, key: str, **properties: str | int | bool) -> Format:
        if key not in self._cache:
            self._cache[key] = self._book.add_format(properties)
        return self._cache[key]


def _write_sheet(writer: pd.ExcelWriter, sheet: Sheet, formats: _Formats) -> None:
    frame = safe_cells(sheet.frame).reset_index(drop=True)
    name = sheet.name[:31]
    frame.to_excel(writer, sheet_name=name, index=False)
    ws = writer.sheets[name]
    ws.freeze_panes(1, 0)
    last_row, last_col = len(frame), frame.shape[1] - 1
    ws.autofilter(0, 0, last_row, last_col)
    for i, column in enumerate(frame.columns):
        fmt_text = _number_format(str(column), frame[column], sheet.scored)
        fmt = formats(f"num:{fmt_text}", num_format=fmt_text) if fmt_text else None
        ws.set_column(i, i, _fitted_width(column, frame[column], fmt_text), fmt)
        if column in sheet.scored and last_row >= 1 and is_numeric_dtype(frame[column]):
            ws.conditional_format(1, i, last_row, i, COLOUR_SCALE)
    if sheet.flag_column is not None and last_row >= 1:
        _flag_fills(ws, frame, sheet.flag_column, formats)


def _flag_fills(ws: Worksheet, frame: pd.DataFrame, flag_column: str, formats: _Formats) -> None:
    """Each flag's row is filled by its kind, so that a sorted or filtered list keeps its colours."""
    position = list(frame.columns).index(flag_column)
    letter = _column_letter(position)
    for flag, colours in FLAG_FILLS.items():
        ws.conditional_format(
            1,
            0,
            len(frame),
            frame.shape[1] - 1,
            {
                "type": "formula",
                "criteria": f'=${letter}2="{flag}"',
                "format": formats(f"flag:{colours['bg_color']}", **colours),
            },
        )


def _column_letter(position: int) -> str:
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _number_format(column: str, values: pd.Series, scored: frozenset[str]) -> str | None:
    if not is_numeric_dtype(values) or values.dtype == bool:
        return None
    if column in NUMBER_FORMATS:
        return NUMBER_FORMATS[column]
    return INDEX if column in scored else None


def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: wide (CJK, full-width) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _shown(value: object, fmt_text: str | None) -> str:
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or value != value:  # NaN and NaT differ from themselves
        return ""
    if isinstance(value, float) and fmt_text in (INDEX, COMPOSITE, COUNT):
        digits = {INDEX: 1, COMPOSITE: 2, COUNT: 0}[fmt_text]
        return f"{value:.{digits}f}"
    if isinstance(value, float) and fmt_text == SHARE:
        return f"{value:.0%}"
    return str(value)


def _fitted_width(column: object, values: pd.Series, fmt_text: str | None) -> int:
    header = display_width(str(column)) + 3  # room for the autofilter's button
    cells = [display_width(_shown(v, fmt_text)) for v in values.head(MEASURED_ROWS).tolist()]
    return min(max([header, *cells]) + 2, MAX_WIDTH)
