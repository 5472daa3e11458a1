"""bulletin.docx: the half-year 通报 of the 万企评机关 results, as the programme office issues it.

The wording belongs to the office, not to the code: it is a Jinja2 template in survey_schemas/
(`policy.bulletin.template`, by default bulletin.md.j2) written in a small line markup that the
template's own header documents (`#` title, `##` and `###` headings, `^` centred and `>`
right-aligned lines, `:` a paragraph without indent, `{{ group.table }}` alone on a line for a
ranking table, any other line a body paragraph). The letterhead (issuing office, title, number
prefix) is in policy.yaml.

Why values from data can never act as markup or template: they only ever enter as variables,
and every value the template prints is swapped for an opaque token while rendering (Jinja's
`finalize`). The markup is parsed on the rendered text in which data is still tokens, so a unit
name holding a newline, `# `, `{{ }}` or a table placeholder cannot make a heading, a table or a
template expression; the tokens become the values only as text runs of python-docx, which
escapes them as XML.

The layout follows the national standard for official documents (GB/T 9704-2012) as far as a
generated draft can: A4 with its margins, a title in 小标宋 2号 centred, headings in 黑体 and 楷体
3号, body in 仿宋 3号 on a 28-point grid. The serial of the document number is left blank for
the document registry. There are no page numbers: they need a field code (PAGE), and the
published documents are kept free of field codes altogether, so that none can come from data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol, cast

import pandas as pd
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)

from bizenv.config import schemas_dir
from bizenv.errors import BizenvError
from bizenv.periods import Period
from bizenv.report.public import LEVEL_NAMES, period_name
from bizenv.report.publication import PeriodReport
from bizenv.scoring.satisfaction import respondent_scores

# Fonts of GB/T 9704-2012 by role; Latin text and digits in Times New Roman.
FONTS = {"title": "方正小标宋简体", "heading": "黑体", "subheading": "楷体", "body": "仿宋", "table": "仿宋"}
LATIN_FONT = "Times New Roman"
SIZES = {"title": 22.0, "heading": 16.0, "subheading": 16.0, "body": 16.0, "table": 12.0}
LINE_PITCH = Pt(28)
TABLE_HEADER = ["名次", "单位", "满意度指数", "综合得分"]

# Tokens standing for printed values while the markup is parsed: private-use characters that
# values are stripped of, so no value can forge one.
_VALUE, _TABLE, _END = "\ue000", "\ue001", "\ue002"
_TOKEN = re.compile(f"([{_VALUE}{_TABLE}])(\\d+){_END}")
_PRIVATE = re.compile(f"[{_VALUE}{_TABLE}{_END}]")
# Characters XML 1.0 cannot hold (python-docx would refuse them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Line markup: prefix → block kind. Longer prefixes first.
_PREFIXES = [
    ("### ", "subheading"),
    ("## ", "heading"),
    ("# ", "title"),
    ("^ ", "centred"),
    ("> ", "right"),
    (": ", "flush"),
]
_LINE_BREAK = re.compile("[\n\r\t\v\f\x1c-\x1e\x85\u2028\u2029]+")
_CN_DIGITS = "零一二三四五六七八九"


class _RankingRow(Protocol):
    unit_name: str
    n_respondents: int
    ranked: bool
    rank: float
    satisfaction_index: float
    composite_score: float


@dataclass(frozen=True)
class RankingTable:
    """A ranking table the template places with `{{ group.table }}`: its rows are data."""

    rows: list[list[str]]


@dataclass(frozen=True)
class Block:
    kind: str  # title, heading, subheading, centred, right, flush, body, table
    text: str = ""
    table: RankingTable | None = None


def cn_number(n: int) -> str:
    """1 → 一, 12 → 十二, 21 → 二十一: how the (一)(二) of a heading count."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _CN_DIGITS[tens] + "十")
    return head + (_CN_DIGITS[ones] if ones else "")


def cn_count(n: int) -> str:
    """A count in words: as `cn_number`, but 2 alone is 两 (连续两次, 后两位)."""
    return "两" if n == 2 else cn_number(n)


def _fmt(value: float, digits: int = 1) -> str:
    return "—" if pd.isna(value) else f"{value:.{digits}f}"


def overall_satisfaction(report: PeriodReport) -> float | None:
    """The weighted mean score of every complete evaluation of the period (each enterprise's
    rating of each unit, with its weight): the city's satisfaction with its units as a whole."""
    if report.responses.empty:
        return None
    scored = respondent_scores(report.responses.assign(weight=report.weights), report.questionnaire)
    keep = scored["complete"] & scored["score"].notna() & (scored["weight"] > 0)
    if not keep.any():
        return None
    return float(
        (scored.loc[keep, "score"] * scored.loc[keep, "weight"]).sum() / scored.loc[keep, "weight"].sum()
    )


def _groups(report: PeriodReport) -> list[dict[str, Any]]:
    """Each comparison group and level with its ranking table, in the registry's order."""
    policy, registry = report.policy, report.registry
    group_order = list(registry.groups)
    groups = []
    keys = report.rankings[["group_code", "level"]].drop_duplicates()
    keys = keys.assign(
        g=keys["group_code"].map(group_order.index), lv=keys["level"].map(registry.levels.index)
    ).sort_values(["g", "lv"])
    for group, level in keys[["group_code", "level"]].itertuples(index=False):
        frame = report.rankings[
            (report.rankings["group_code"] == group) & (report.rankings["level"] == level)
        ]
        frame = frame.assign(unranked=~frame["ranked"].astype(bool)).sort_values(
            ["unranked", "rank", "unit_code"]
        )
        rows = []
        for r in cast(Iterator[_RankingRow], frame.itertuples()):
            shown = r.n_respondents >= policy.suppression_min
            rows.append(
                [
                    str(int(r.rank)) if r.ranked else "—",
                    r.unit_name,
                    _fmt(r.satisfaction_index) if shown else "—",
                    _fmt(r.composite_score) if r.ranked else "—",
                ]
            )
        name = registry.groups[group].name
        groups.append(
            {
                "code": group,
                "name": name if level == "department" else f"{name}({LEVEL_NAMES.get(level, level)})",
                "units": len(frame),
                "ranked": int(frame["ranked"].sum()),
                "bottom_rule_applies": int(frame["ranked"].sum()) >= policy.flags.min_group_size,
                "table": RankingTable(rows),
            }
        )
    return groups


def _flagged(report: PeriodReport, flag: str) -> list[dict[str, Any]]:
    """The units with `flag` this period, by group order and rank, with what a reader checks:
    group, rank, satisfaction index now and in the previous period, and the ranks of the
    periods before this one that make up a run of `consecutive_periods`."""
    registry = report.registry
    rankings = report.rankings.set_index("unit_code")
    trend = report.trend
    codes = report.flags.loc[report.flags["flag"] == flag, "unit_code"].unique()
    units = []
    for code in codes:
        row = rankings.loc[code]
        history = trend[(trend["unit_code"] == code) & (trend["period"] < report.period)].sort_values(
            "period"
        )
        ranked_before = history[history["ranked"].astype(bool)].tail(
            report.policy.flags.consecutive_periods - 1
        )
        previous = history.iloc[-1] if not history.empty else None
        units.append(
            {
                "name": row["unit_name"],
                "group": registry.groups[row["group_code"]].name,
                "rank": str(int(row["rank"])) if bool(row["ranked"]) else "—",
                "of": str(int(row["group_ranked"])),
                "index": _fmt(row["satisfaction_index"]),
                "previous_index": _fmt(previous["satisfaction_index"]) if previous is not None else "—",
                "previous": [
                    {"period": period_name(str(p)), "rank": str(int(rank))}
                    for p, rank in zip(ranked_before["period"], ranked_before["rank"], strict=True)
                ],
                "_order": (list(registry.groups).index(row["group_code"]), row["rank"], code),
            }
        )
    units.sort(key=lambda u: u["_order"])
    for unit in units:
        del unit["_order"]
    return units


def _context(report: PeriodReport, issued: date) -> dict[str, Any]:
    policy, summary = report.policy, report.summary
    period = Period.parse(report.period)
    following = Period(period.year, 2) if period.half == 1 else Period(period.year + 1, 1)
    bulletin = policy.bulletin
    overall = overall_satisfaction(report)
    return {
        "title": bulletin.title.replace("{period}", period_name(report.period)),
        "office": bulletin.issuing_office,
        "doc_number": f"{bulletin.number_prefix}〔{issued.year}〕\u3000\u3000号",
        "date": f"{issued.year}年{issued.month}月{issued.day}日",
        "city": report.registry.city,
        "period": report.period,
        "period_name": period_name(report.period),
        "next_period_name": period_name(following.label),
        "summary": {
            "respondents": summary["respondents"],
            "responses": summary["responses"],
            "units": summary["units"],
            "ranked": summary["ranked"],
            "overall": _fmt(overall) if overall is not None else "—",
        },
        "rule": {
            "bottom_n": policy.flags.bottom_n,
            "top_n": policy.flags.top_n,
            "consecutive_periods": policy.flags.consecutive_periods,
            "min_group_size": policy.flags.min_group_size,
            "min_respondents": policy.min_respondents,
            "suppression_min": policy.suppression_min,
            "weight_satisfaction": f"{policy.composite_weights.satisfaction:.0%}",
            "weight_indicators": f"{policy.composite_weights.indicators:.0%}",
        },
        "groups": _groups(report),
        "bottom": _flagged(report, "BOTTOM_N"),
        "repeated": _flagged(report, "REPEATED_BOTTOM_N"),
        "top": _flagged(report, "TOP_N"),
        "improved": _flagged(report, "MOST_IMPROVED"),
        "not_ranked": [
            r["unit_name"]
            for _, r in report.rankings[~report.rankings["ranked"].astype(bool)]
            .sort_values("unit_code")
            .iterrows()
        ],
    }


def _clean(text: str) -> str:
    """A value as one line of literal text: no token characters, no control characters, and
    each line break a space (other spacing, such as a document number's blanks, is kept)."""
    return _LINE_BREAK.sub(" ", _NOT_XML.sub("", _PRIVATE.sub("", text)))


def render_blocks(template: Path, context: dict[str, Any]) -> list[Block]:
    """The template rendered with `context` and read as markup; a template that cannot be read,
    parsed or rendered is a one-line error naming its file."""
    values: list[str] = []
    tables: list[RankingTable] = []

    def finalize(value: object) -> str:
        if isinstance(value, RankingTable):
            tables.append(value)
            return f"{_TABLE}{len(tables) - 1}{_END}"
        values.append(_clean("" if value is None else str(value)))
        return f"{_VALUE}{len(values) - 1}{_END}"

    env = Environment(
        loader=FileSystemLoader(template.parent),
        undefined=StrictUndefined,
        finalize=finalize,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["cn"] = cn_number
    env.filters["count"] = cn_count
    try:
        rendered = env.get_template(template.name).render(context)
    except TemplateSyntaxError as exc:
        raise BizenvError(
            f"bulletin template, line {exc.lineno}: {exc.message}", file=str(template)
        ) from None
    except TemplateNotFound:
        raise BizenvError("bulletin template not found", file=str(template)) from None
    except TemplateError as exc:
        raise BizenvError(
            f"bulletin template: {exc.message or type(exc).__name__}", file=str(template)
        ) from None
    except OSError as exc:
        raise BizenvError(f"bulletin template cannot be read: {exc.strerror}", file=str(template)) from None

    def restore(text: str) -> str:
        def value(match: re.Match[str]) -> str:
            if match[1] == _TABLE:
                raise BizenvError(
                    "bulletin template: a ranking table ({{ group.table }}) must stand on a line of its own",
                    file=str(template),
                )
            return values[int(match[2])]

        return _TOKEN.sub(value, text)

    blocks = []
    for line in rendered.splitlines():
        line = line.strip()
        if not line:
            continue
        whole = _TOKEN.fullmatch(line)
        if whole and whole[1] == _TABLE:
            blocks.append(Block("table", table=tables[int(whole[2])]))
            continue
        kind = "body"
        for prefix, name in _PREFIXES:
            if line.startswith(prefix):
                kind, line = name, line[len(prefix) :]
                break
        text = _NOT_XML.sub("", restore(line)).strip()
        if text:
            blocks.append(Block(kind, text))
    return blocks


def _set_font(run: Run, role: str, *, bold: bool = False, east_asian: str | None = None) -> None:
    """Size and fonts of `role`; Word takes Chinese text's font from the East Asian name only."""
    run.font.name = LATIN_FONT
    run.font.size = Pt(SIZES[role])
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asian or FONTS[role])


def _paragraph(paragraph: Paragraph, text: str, role: str, *, bold: bool = False) -> None:
    _set_font(paragraph.add_run(text), role, bold=bold)
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    fmt.space_before = fmt.space_after = Pt(0)


def _table(document: DocxDocument, table: RankingTable) -> None:
    grid = document.add_table(rows=1, cols=len(TABLE_HEADER))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = [Cm(2.2), Cm(7.0), Cm(3.2), Cm(3.2)]
    grid.autofit = False
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width  # the grid LibreOffice lays out by; cells carry it for Word
    for cells in [TABLE_HEADER, *table.rows]:
        row = grid.rows[0] if cells is TABLE_HEADER else grid.add_row()
        for position, (cell, text) in enumerate(zip(row.cells, cells, strict=True)):
            cell.width = widths[position]
            paragraph = cell.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT if position == 1 else WD_ALIGN_PARAGRAPH.CENTER
            header = cells is TABLE_HEADER
            run = paragraph.add_run(text if header else _clean(text))
            _set_font(run, "table", bold=header, east_asian=FONTS["heading"] if header else None)
    # Repeat the header row on every page the table runs onto.
    tr_pr = grid.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    document.add_paragraph()


def build_document(blocks: list[Block]) -> DocxDocument:
    """A python-docx Document of the blocks on A4 with the standard's margins and fonts."""
    document = Document()
    section = document.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = document.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = Pt(SIZES["body"])
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONTS["body"])
    previous: Paragraph | None = None
    for block in blocks:
        if block.kind == "table" and block.table is not None:
            _table(document, block.table)
            previous = None
            continue
        paragraph = document.add_paragraph()
        if block.kind == "title":
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _paragraph(paragraph, block.text, "title")
            paragraph.paragraph_format.line_spacing = Pt(36)
            paragraph.paragraph_format.space_before = LINE_PITCH  # apart from the number line
            paragraph.paragraph_format.space_after = Pt(16)
        elif block.kind == "heading":
            _paragraph(paragraph, block.text, "heading")
            paragraph.paragraph_format.first_line_indent = Pt(2 * SIZES["body"])
        elif block.kind == "subheading":
            _paragraph(paragraph, block.text, "subheading")
            paragraph.paragraph_format.first_line_indent = Pt(2 * SIZES["body"])
        elif block.kind == "centred":
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _paragraph(paragraph, block.text, "body")
        elif block.kind == "right":
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            _paragraph(paragraph, block.text, "body")
            paragraph.paragraph_format.right_indent = Pt(2 * SIZES["body"])
        elif block.kind == "flush":
            _paragraph(paragraph, block.text, "body")
        else:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            _paragraph(paragraph, block.text, "body")
            paragraph.paragraph_format.first_line_indent = Pt(2 * SIZES["body"])
        if block.kind in ("heading", "subheading", "right"):
            paragraph.paragraph_format.keep_with_next = True  # no heading alone at a page's foot
        if block.kind == "right" and previous is not None and previous.alignment != WD_ALIGN_PARAGRAPH.RIGHT:
            # The signature two lines below the last paragraph, and never alone on a page.
            previous.paragraph_format.keep_with_next = True
            paragraph.paragraph_format.space_before = LINE_PITCH * 2
        previous = paragraph
    return document


def write_bulletin(
    path: Path, report: PeriodReport, *, template: Path | None = None, issued: date | None = None
) -> Path:
    """The period's 通报 as DOCX at `path`. `template`: the wording (default: the policy's file in
    survey_schemas/); `issued`: the date it bears (default today)."""
    source = template or schemas_dir() / report.policy.bulletin.template
    blocks = render_blocks(source, _context(report, issued or date.today()))
    build_document(blocks).save(str(path))
    return path
