"""问卷星-style wide exports: one row per respondent, per-unit ratings as grid questions.

Questions are found by the patterns of the questionnaire's `formats.wenjuanxing`, never by
number: `N、text` is a question, `N、text—row` (em dash or hyphen) a grid row, the row being an
item label, and a grid whose text matches `unit_grid_question` rates the unit it names. Each
respondent becomes one standard row per unit whose grid they were shown; a respondent shown no
unit grid becomes one row with no unit (quarantined as `missing_unit`), so no row is lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from bizenv.errors import BizenvError
from bizenv.ingest.privacy import IP_COLUMN, mask_ip
from bizenv.ingest.reading import RawTable, rows_as_json
from bizenv.ingest.rows import StandardBatch
from bizenv.schemas.models import Questionnaire

QUESTION = re.compile(r"^(?P<number>\d+)[、.．](?P<text>.+)$", re.S)
GRID_SEPARATORS = ("—", "-", "－", "–")
# Cells of a grid the respondent was never shown (skip logic) or left empty.
NOT_SHOWN = {"", "(跳过)", "(空)"}


def looks_like_wenjuanxing(table: RawTable, questionnaire: Questionnaire) -> bool:
    fmt = questionnaire.formats.wenjuanxing
    if fmt is None:
        return False
    columns = set(table.frame.columns)
    return fmt.submitted_at_column in columns and any(QUESTION.match(c) for c in columns)


@dataclass
class Layout:
    """Which columns hold what, learnt from the header."""

    key: str
    attributes: dict[str, str]
    comment: str
    # unit text as written in the question → item code → column
    units: dict[str, dict[str, str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def read_layout(table: RawTable, questionnaire: Questionnaire) -> Layout:
    fmt = questionnaire.formats.wenjuanxing
    assert fmt is not None
    path = str(table.path)
    columns = list(table.frame.columns)
    for required in (fmt.submitted_at_column, fmt.duration_column):
        if required not in columns:
            raise BizenvError(
                f"问卷星 export without the {required} column", file=path, row=1, column=required
            )

    item_by_label = {item.label: item.code for item in questionnaire.items()}
    unit_pattern = re.compile(fmt.unit_grid_question)
    singles: dict[str, str] = {}
    units: dict[str, dict[str, str]] = {}
    ignored: list[str] = []
    for column in columns:
        match = QUESTION.match(column)
        if not match:
            if column not in fmt.meta_columns:
                ignored.append(column)
            continue
        text = match["text"].strip()
        grid = _split_grid(text, item_by_label)
        if grid is None:
            singles[column] = text
            continue
        question, label = grid
        unit_match = unit_pattern.search(question)
        if unit_match is None:
            ignored.append(column)
            continue
        unit = unit_match["unit"].strip()
        cells = units.setdefault(unit, {})
        if item_by_label[label] in cells:
            raise BizenvError(f"two columns rate {unit} on {label}", file=path, row=1, column=column)
        cells[item_by_label[label]] = column

    def find(pattern: str, what: str) -> str:
        hits = [c for c, text in singles.items() if re.search(pattern, text)]
        if len(hits) != 1:
            problem = "no question" if not hits else f"{len(hits)} questions ({', '.join(hits)})"
            raise BizenvError(f"{problem} matching {what} pattern {pattern!r}", file=path, row=1)
        return hits[0]

    layout = Layout(
        key=find(fmt.respondent_key_question, "the respondent key"),
        attributes={code: find(p, f"the {code}") for code, p in fmt.attribute_questions.items()},
        comment=find(fmt.comment_question, "the comment"),
        units=units,
        ignored=ignored,
    )
    if not units:
        raise BizenvError(
            f"no unit rating grid found (pattern {fmt.unit_grid_question!r} with item labels as rows)",
            file=path,
            row=1,
        )
    all_items = set(item_by_label.values())
    for unit, cells in units.items():
        missing = all_items - set(cells)
        if missing:
            labels = [item.label for item in questionnaire.items() if item.code in missing]
            raise BizenvError(
                f"the grid rating {unit} lacks the row(s) {', '.join(labels)}",
                file=path,
                row=1,
                column=next(iter(cells.values())),
            )
    return layout


def _split_grid(text: str, item_by_label: dict[str, str]) -> tuple[str, str] | None:
    """(question, item label) when the text ends with a separator and an item label."""
    for label in item_by_label:
        for separator in GRID_SEPARATORS:
            if text.endswith(separator + label):
                return text[: -len(label) - len(separator)].strip(), label
    return None


def to_standard(table: RawTable, questionnaire: Questionnaire) -> StandardBatch:
    fmt = questionnaire.formats.wenjuanxing
    assert fmt is not None
    layout = read_layout(table, questionnaire)
    frame = table.frame
    file_row = pd.Series(frame.index, index=frame.index)

    def answered(column: str) -> pd.Series:
        return frame[column].mask(frame[column].str.strip().isin(NOT_SHOWN), "")

    respondent = {
        "source_row": file_row,
        "respondent_key": answered(layout.key),
        "submitted_at": frame[fmt.submitted_at_column],
        "duration": frame[fmt.duration_column],
        **{code: answered(column) for code, column in layout.attributes.items()},
        "comment": answered(layout.comment),
    }
    respondent_columns = [c for c in fmt.meta_columns if c in frame.columns]
    respondent_columns += [layout.key, *layout.attributes.values(), layout.comment]

    parts = []
    shown_any = pd.Series(False, index=frame.index)
    for unit, cells in layout.units.items():
        answers = frame[list(cells.values())]
        shown = ~answers.apply(lambda col: col.str.strip().isin(NOT_SHOWN)).all(axis=1)
        if table.uncalculated is not None:
            # A grid cell holding an uncalculated formula reads blank, yet was filled in.
            shown |= table.uncalculated[list(cells.values())].any(axis=1)
        shown_any |= shown
        if not shown.any():
            continue
        part = pd.DataFrame(respondent)[shown].assign(unit=unit)
        for code, column in cells.items():
            part[code] = frame.loc[shown, column]
        part["_row"] = frame.index[shown]
        part["_unit"] = unit
        parts.append(part)
    unrated = pd.DataFrame(respondent)[~shown_any].assign(unit="", _row=frame.index[~shown_any], _unit="")
    for item in questionnaire.items():
        unrated[item.code] = ""
    parts.append(unrated)
    long = pd.concat(parts, ignore_index=True)
    long = long.sort_values(["source_row", "_unit"], kind="stable", ignore_index=True)

    def raw(index: pd.Index, sanitise: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.Series:
        """The respondent's own cells plus the cells of the one unit grid the row stands for."""
        pieces = []
        for unit, rows in long.loc[index].groupby("_unit", sort=False):
            columns = respondent_columns + list(layout.units.get(unit, {}).values())
            original = sanitise(frame.loc[rows["_row"], columns].set_axis(rows.index))
            if IP_COLUMN in original:
                # The respondent's IP address keeps its first two octets only.
                original[IP_COLUMN] = original[IP_COLUMN].astype("str").map(mask_ip)
            pieces.append(rows_as_json(original))
        return pd.concat(pieces).reindex(index) if pieces else pd.Series([], dtype="str")

    standard_columns = [
        "source_row",
        "respondent_key",
        "unit",
        "submitted_at",
        "duration",
        *[a.code for a in questionnaire.respondent.attributes],
        *[item.code for item in questionnaire.items()],
        "comment",
    ]
    missing_attributes = [a.code for a in questionnaire.respondent.attributes if a.code not in long]
    for code in missing_attributes:
        long[code] = ""
    notes = [f"ignored column {c!r}" for c in layout.ignored]
    return StandardBatch(
        frame=long[standard_columns + ["_unit"]].drop(columns="_unit"),
        raw=raw,
        file_format=f"wenjuanxing-{table.file_format}",
        file_rows=len(frame),
        key_column=layout.key,
        comment_column=layout.comment,
        notes=notes,
        fields=respondent_fields(table, long["source_row"]),
        header_fields=len(frame.columns),
        uncalculated=unit_row_formulas(table, layout, [fmt.submitted_at_column, fmt.duration_column], long),
    )


def respondent_fields(table: RawTable, source_row: pd.Series) -> pd.Series | None:
    """The fields of each unit row's respondent line (a CSV's; None for a workbook). A line cut
    short loses its last grids and its comment, which then look skipped or blank: every unit
    row of that respondent is `short_row`, not only the one whose grid was cut."""
    if table.fields is None:
        return None
    return pd.Series(table.fields.reindex(source_row).to_numpy(), index=source_row.index)


def unit_row_formulas(
    table: RawTable, layout: Layout, meta: list[str], long: pd.DataFrame
) -> pd.DataFrame | None:
    """Uncalculated formulas (`RawTable.uncalculated`) in the cells each unit row is read from:
    its respondent's own cells (`meta`, key, attributes, comment) and its own unit's grid, not
    the other units' grids. Only the columns holding any, by original column name."""
    if table.uncalculated is None:
        return None
    own = [*meta, layout.key, *layout.attributes.values(), layout.comment]
    wide = table.uncalculated[own + [c for cells in layout.units.values() for c in cells.values()]]
    wide = wide.loc[:, wide.any()]
    marks = pd.DataFrame(wide.loc[long["_row"]].to_numpy(), index=long.index, columns=wide.columns)
    for unit, cells in layout.units.items():
        grid = [c for c in cells.values() if c in marks.columns]
        if grid:
            marks.loc[(long["_unit"] != unit).to_numpy(), grid] = False
    return marks
