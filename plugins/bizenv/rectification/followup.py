"""The weekly follow-up of the problem register (整改台账跟踪): where every unit stands with its
problems on a day, which problems are under supervision (一次督办, 二次督办, 问责) and which fall
due soon, as a page and a workbook for the programme office and a plain-text digest per unit.

Every figure comes from `rates` (`problem_outcomes`, `unit_rates`, `city_total`): the follow-up
counts nothing of its own, so its figures are those `bizenv problems list` and the
`rectification_rate` indicator give for the same day.

Everything is computed as of a given city day, never the clock's today: problems registered
after that day are left out, and a problem solved after it is still open then. Supervision
levels are the register's current ones (the DAG takes the day's steps first, so on its day they
are that day's).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from bizenv.rectification.escalation import MOVE_COLUMNS, NEXT_STEP
from bizenv.rectification.rates import COUNTS, city_total, problem_outcomes, unit_rates
from bizenv.rectification.register import city_day, read_problems, step_days
from bizenv.report.cells import XLSX_OPTIONS, safe_cells
from bizenv.schemas import load_registry
from bizenv.schemas.models import Policy, Registry

FOLDER = "rectification"
HTML_NAME = "rectification.html"
XLSX_NAME = "rectification.xlsx"
# Worst first: the order of the report's supervision sections and of the digests.
LEVELS = ("accountability", "second", "first", "none")
LEVEL_LABELS = {
    "accountability": ("问责", "accountability"),
    "second": ("二次督办", "second supervision"),
    "first": ("一次督办", "first supervision"),
    "none": ("超期待督办", "overdue, first supervision not yet due"),
}
PREVIOUS_STEP = {after: before for before, after in NEXT_STEP.items()}
SUPERVISION_COLUMNS = [
    "problem_id",
    "unit_code",
    "unit_name",
    "period",
    "theme",
    "status",
    "deadline",
    "days_overdue",
    "supervision",
    "supervised_on",
    "first_on",
    "second_on",
    "accountability_on",
]
DUE_SOON_COLUMNS = [
    "problem_id",
    "unit_code",
    "unit_name",
    "period",
    "theme",
    "status",
    "deadline",
    "due_in_days",
]
PROBLEM_COLUMNS = [
    "problem_id",
    "period",
    "unit_code",
    "unit_name",
    "source",
    "theme",
    "description",
    "kind",
    "status",
    "deadline",
    "supervision",
    "supervised_on",
    "completed_on",
    "solved_on",
    "outcome",
    "days_overdue",
]
RATE_LABELS = {
    "raised": ("登记", "raised"),
    "solved_on_time": ("按期整改", "solved on time"),
    "solved_late": ("逾期整改", "solved late"),
    "open": ("未整改", "open"),
    "overdue": ("超期", "overdue"),
    "closure_rate": ("整改率", "closure rate"),
    "on_time_rate": ("按期整改率", "on-time rate"),
}


@dataclass(frozen=True)
class FollowUp:
    """The register as of a day. Frames:

    - `problems`: every problem registered by `as_of`, with its outcome (`rates.problem_outcomes`:
      `solved`, `solved_on_time`, `solved_late`, `open`, `overdue`, `solved_on`), `unit_name`,
      `outcome` (on_time | late | overdue | open) and `days_overdue` (0 unless overdue);
    - `units`: `rates.unit_rates` with `unit_name`, one row per lead unit with problems;
    - `total`: `rates.city_total` of `units`;
    - `supervision`: the open problems that are overdue or under supervision, worst level first
      (`SUPERVISION_COLUMNS`; the days of each step from the history);
    - `due_soon`: open problems due within `due_soon_days` days (policy.yaml
      `rectification.due_soon_days`; `due_in_days` 0 = today);
    - `periods`: per period the problems were raised in, the city's counts and rates.
    """

    as_of: date
    city: str
    problems: pd.DataFrame
    units: pd.DataFrame
    total: pd.Series
    supervision: pd.DataFrame
    due_soon: pd.DataFrame
    periods: pd.DataFrame
    # The policy's supervision days (first_after_deadline_days, ...), for the page's note.
    supervision_days: Mapping[str, int]
    due_soon_days: int

    def at_level(self, level: str) -> pd.DataFrame:
        return self.supervision[self.supervision["supervision"].eq(level)]

    def counts(self) -> dict[str, int]:
        return {k: int(self.total[k]) for k in COUNTS}

    def line_zh(self) -> str:
        c = self.counts()
        return (
            f"共登记问题 {c['raised']} 个,已整改 {c['solved']} 个(按期 {c['solved_on_time']} 个,"
            f"逾期整改 {c['solved_late']} 个),未整改 {c['open']} 个,其中超期 {c['overdue']} 个"
        )

    def line_en(self) -> str:
        c = self.counts()
        return (
            f"{c['raised']} problems registered, {c['solved']} solved ({c['solved_on_time']} on time, "
            f"{c['solved_late']} late), {c['open']} open of which {c['overdue']} overdue"
        )

    def summary(self) -> dict[str, Any]:
        """The figures as JSON: counts, rates (shares, 4 decimals), problems at each level."""
        rates = {
            k: None if pd.isna(self.total[k]) else round(float(self.total[k]), 4)
            for k in ("closure_rate", "on_time_rate", "rectification_rate")
        }
        levels = {level: int(self.supervision["supervision"].eq(level).sum()) for level in LEVELS}
        return {
            "as_of": self.as_of.isoformat(),
            **self.counts(),
            **rates,
            "units": len(self.units),
            "supervision": levels,
            "due_soon": len(self.due_soon),
        }


# --- the figures ---------------------------------------------------------------------------------


def followup_report(
    conn: Connection, as_of: date, policy: Policy, registry: Registry | None = None
) -> FollowUp:
    """The register as of the city day `as_of` (see `FollowUp`)."""
    registry = registry or load_registry()
    problems = read_problems(conn)
    if not problems.empty:
        registered = problems["created_at"].map(lambda v: city_day(pd.Timestamp(v).to_pydatetime()))
        problems = problems[(registered <= as_of).to_numpy()].reset_index(drop=True)
    open_ids = (
        problems.loc[~problems["status"].isin(policy.rectification.settled), "problem_id"].tolist()
        if not problems.empty
        else []
    )
    return build_followup(problems, as_of, policy, registry, step_days(conn, open_ids))


def build_followup(
    problems: pd.DataFrame,
    as_of: date,
    policy: Policy,
    registry: Registry,
    steps: pd.DataFrame | None = None,
) -> FollowUp:
    """`FollowUp` from the register's rows (`read_problems`' columns) and, optionally, the days
    of each problem's supervision steps (`step_days`)."""
    names = {u.code: u.name for u in registry.units}
    day = pd.Timestamp(as_of)
    if problems.empty:
        outcomes = problems.assign(
            **{
                c: pd.Series(dtype=bool)
                for c in ("solved", "solved_on_time", "solved_late", "open", "overdue")
            },
            solved_on=pd.Series(dtype="datetime64[ns]"),
        )
    else:
        outcomes = problem_outcomes(problems.reset_index(drop=True), as_of, policy)
    deadline = pd.to_datetime(outcomes["deadline"])
    outcomes = outcomes.assign(
        unit_name=outcomes["unit_code"].map(lambda c: names.get(c, c)),
        outcome=_outcome(outcomes),
        days_overdue=((day - deadline).dt.days.where(outcomes["overdue"].astype(bool), 0)).astype("int64"),
        due_in_days=(deadline - day).dt.days.astype("Int64"),
    )
    units = unit_rates(problems, as_of, policy)
    units.insert(1, "unit_name", units["unit_code"].map(lambda c: names.get(c, c)))
    total = city_total(units)

    is_open = outcomes["open"].astype(bool)
    watched = outcomes[is_open & (outcomes["overdue"].astype(bool) | outcomes["supervision"].ne("none"))]
    supervision = watched.assign(
        first_on=None, second_on=None, accountability_on=None, _level=watched["supervision"].map(LEVELS.index)
    )
    if steps is not None and not steps.empty and not supervision.empty:
        days = steps.set_index("problem_id").reindex(supervision["problem_id"])
        for column in ("first_on", "second_on", "accountability_on"):
            supervision[column] = days[column].to_numpy()
    supervision = supervision.sort_values(
        ["_level", "days_overdue", "problem_id"], ascending=[True, False, True], kind="stable"
    )[SUPERVISION_COLUMNS].reset_index(drop=True)

    due = outcomes[
        is_open
        & ~outcomes["overdue"].astype(bool)
        & (deadline <= day + timedelta(days=policy.rectification.due_soon_days))
    ]
    due_soon = due.sort_values(["deadline", "problem_id"])[DUE_SOON_COLUMNS].reset_index(drop=True)

    return FollowUp(
        as_of=as_of,
        city=registry.city,
        problems=outcomes.reset_index(drop=True),
        units=units.reset_index(drop=True),
        total=total,
        supervision=supervision,
        due_soon=due_soon,
        periods=period_rates(problems, as_of, policy),
        supervision_days=policy.rectification.supervision.model_dump(),
        due_soon_days=policy.rectification.due_soon_days,
    )


def _outcome(outcomes: pd.DataFrame) -> pd.Series:
    out = pd.Series("open", index=outcomes.index, dtype=object)
    out[outcomes["overdue"].astype(bool).to_numpy()] = "overdue"
    out[outcomes["solved_late"].astype(bool).to_numpy()] = "late"
    out[outcomes["solved_on_time"].astype(bool).to_numpy()] = "on_time"
    return out


def period_rates(problems: pd.DataFrame, as_of: date, policy: Policy) -> pd.DataFrame:
    """Per period the problems were raised in (oldest first): the city's counts and rates as of
    `as_of`."""
    columns = ["period", *COUNTS, "closure_rate", "on_time_rate", "rectification_rate"]
    rows = []
    for period, group in problems.groupby("period", sort=True):
        rows.append({"period": period, **city_total(unit_rates(group, as_of, policy)).to_dict()})
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype(dict.fromkeys(COUNTS, "int64"))


def moves_on(problems: pd.DataFrame, day: date, ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The supervision steps taken on `day` (escalate's `MOVE_COLUMNS`), from the register: a
    step sets `supervised_on` to its day. What a re-run of the day reports again, so the same day
    gives the same digests however often it runs. `ids` keeps only those problems."""
    if problems.empty or "supervised_on" not in problems:
        return pd.DataFrame(columns=MOVE_COLUMNS)
    on_day = pd.to_datetime(problems["supervised_on"]).eq(pd.Timestamp(day)) & problems["supervision"].isin(
        list(PREVIOUS_STEP)
    )
    moved = problems[on_day.to_numpy()]
    if ids is not None:
        moved = moved[moved["problem_id"].isin(list(ids))]
    deadline = pd.to_datetime(moved["deadline"])
    return (
        pd.DataFrame(
            {
                "problem_id": moved["problem_id"],
                "unit_code": moved["unit_code"],
                "deadline": moved["deadline"],
                "days_overdue": (pd.Timestamp(day) - deadline).dt.days.astype("int64"),
                "supervision_from": moved["supervision"].map(PREVIOUS_STEP),
                "supervision_to": moved["supervision"],
            },
            columns=MOVE_COLUMNS,
        )
        .sort_values("problem_id")
        .reset_index(drop=True)
    )


# --- the page and the workbook ---------------------------------------------------------------------


def _day(value: object) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp | datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _share(value: object) -> str:
    """A share as a percentage with one decimal; a missing rate (no problems) as a dash."""
    if isinstance(value, int | float) and value == value:  # NaN differs from itself
        return f"{float(value):.1%}"
    return "—"


def write_followup(folder: Path, report: FollowUp) -> list[Path]:
    """`rectification.html` and `rectification.xlsx` in `folder` (created if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [_write_html(folder / HTML_NAME, report), _write_xlsx(folder / XLSX_NAME, report)]


def publish_followup(target: Path, report: FollowUp) -> list[Path]:
    """The files written into a staging folder beside `target`, which then replaces `target` as a
    whole (two renames): a reader sees last week's folder or this one, never a mix."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        written = write_followup(staging, report)
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [target / path.name for path in written]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _write_html(path: Path, report: FollowUp) -> Path:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("bizenv.report", "templates"), autoescape=select_autoescape(["j2", "html"])
    )
    env.filters["day"] = _day
    env.filters["share"] = _share
    sections = [
        {
            "level": level,
            "zh": LEVEL_LABELS[level][0],
            "en": LEVEL_LABELS[level][1],
            "rows": _records(report.at_level(level)),
        }
        for level in LEVELS
    ]
    html = env.get_template("rectification.html.j2").render(
        r=report,
        steps=report.supervision_days,
        counts=report.counts(),
        total=report.total,
        units=_records(
            report.units.sort_values(["overdue", "open", "unit_code"], ascending=[False, False, True])
        ),
        periods=_records(report.periods),
        sections=sections,
        due_soon=_records(report.due_soon),
        labels=RATE_LABELS,
    )
    path.write_text(html, encoding="utf-8")
    return path


# (sheet name, column → display format)
COUNT, SHARE, INDEX, DAY = "0", "0.0%", "0.0", "yyyy-mm-dd"
FORMATS = {
    **dict.fromkeys([*COUNTS, "days_overdue", "due_in_days"], COUNT),
    **dict.fromkeys(["closure_rate", "on_time_rate"], SHARE),
    "rectification_rate": INDEX,
    **dict.fromkeys(
        [
            "deadline",
            "supervised_on",
            "first_on",
            "second_on",
            "accountability_on",
            "completed_on",
            "solved_on",
        ],
        DAY,
    ),
}
DATE_COLUMNS = [c for c, f in FORMATS.items() if f == DAY]


def workbook_sheets(report: FollowUp) -> list[tuple[str, pd.DataFrame]]:
    """The workbook's tables: the city and each period, the units, the problems under
    supervision, those due soon, and every problem."""
    city = pd.DataFrame([{"period": "全部 all", **report.total.to_dict()}])
    summary = pd.concat([city, report.periods], ignore_index=True) if len(report.periods) else city
    return [
        ("概况 summary", summary),
        ("单位 units", report.units),
        ("督办 supervision", report.supervision),
        ("即将到期 due soon", report.due_soon),
        ("问题 problems", report.problems[PROBLEM_COLUMNS]),
    ]


def _write_xlsx(path: Path, report: FollowUp) -> Path:
    from bizenv.report.workbook import display_width

    with pd.ExcelWriter(
        path,
        engine="xlsxwriter",
        engine_kwargs={"options": XLSX_OPTIONS},
        date_format=DAY,
        datetime_format=DAY,
    ) as writer:
        book = writer.book
        formats = {fmt: book.add_format({"num_format": fmt}) for fmt in set(FORMATS.values())}
        for name, table in workbook_sheets(report):
            frame = table.reset_index(drop=True).copy()
            for column in DATE_COLUMNS:
                if column in frame:
                    frame[column] = pd.to_datetime(frame[column])
            # Text from the register (themes, descriptions, names) never runs as a formula.
            frame = safe_cells(frame)
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, len(frame), max(frame.shape[1] - 1, 0))
            for i, column in enumerate(frame.columns):
                fmt = FORMATS.get(str(column))
                cells = [_day(v) if fmt == DAY else str(v) for v in frame[column].head(1000).tolist()]
                width = max([display_width(str(column)) + 3, *(display_width(c) for c in cells)]) + 2
                sheet.set_column(i, i, min(width, 60), formats[fmt] if fmt else None)
    return path


# --- the digests ---------------------------------------------------------------------------------


def _plain(value: object) -> str:
    """A value from the register on one line: a theme cannot add lines to a message."""
    return " ".join(str(value).split())


def _moves_frame(moves: pd.DataFrame | Iterable[Mapping[str, Any]] | None) -> pd.DataFrame:
    if moves is None:
        return pd.DataFrame(columns=MOVE_COLUMNS)
    frame = moves if isinstance(moves, pd.DataFrame) else pd.DataFrame(list(moves))
    return frame.reindex(columns=MOVE_COLUMNS)


def unit_digests(
    report: FollowUp, moves: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None
) -> dict[str, tuple[str, str]]:
    """Per unit with open problems (by code, in code order): the (subject, text) of its plain-text
    digest. Its counts come first (a chat robot cuts long messages at the end), then the
    supervision steps just taken (`moves`, escalate's frame or its records), its overdue
    problems worst level first, and its problems due within the report's `due_soon_days`."""
    moved = _moves_frame(moves)
    theme = report.problems.set_index("problem_id")["theme"]
    digests: dict[str, tuple[str, str]] = {}
    for unit in report.units[report.units["open"] > 0].sort_values("unit_code").to_dict("records"):
        code, name = str(unit["unit_code"]), _plain(unit["unit_name"])
        subject = (
            f"bizenv: 整改台账 {name} ({code}) 截至 {report.as_of}: "
            f"未整改 {unit['open']} 个, 超期 {unit['overdue']} 个 / {unit['open']} open, {unit['overdue']} overdue"
        )
        lines = [
            f"{name} ({code}) 整改台账跟踪 rectification follow-up, 截至 as of {report.as_of}",
            f"登记 raised {unit['raised']}, 已整改 solved {unit['solved']} (按期 on time {unit['solved_on_time']}, "
            f"逾期 late {unit['solved_late']}), 未整改 open {unit['open']}, 超期 overdue {unit['overdue']}; "
            f"整改率 closure {_share(unit['closure_rate'])}, 按期整改率 on time {_share(unit['on_time_rate'])}",
        ]
        mine = moved[moved["unit_code"].eq(code)].sort_values("problem_id")
        lines.append(f"本次督办 Supervision steps taken today: {len(mine)}")
        for move in mine.to_dict("records"):
            zh, en = LEVEL_LABELS[str(move["supervision_to"])]
            lines.append(
                f"- {move['problem_id']} {_plain(theme.get(move['problem_id'], ''))}: {zh} {en}, "
                f"整改时限 deadline {_day(move['deadline'])}, 超期 {move['days_overdue']} 天 days overdue"
            )
        overdue = report.supervision[
            report.supervision["unit_code"].eq(code) & report.supervision["days_overdue"].gt(0)
        ]
        lines.append(f"超期问题 Overdue: {len(overdue)}")
        for row in overdue.to_dict("records"):
            zh, en = LEVEL_LABELS[str(row["supervision"])]
            steps = ", ".join(
                f"{LEVEL_LABELS[level][0]} {_day(row[f'{level}_on'])}"
                for level in ("first", "second", "accountability")
                if _day(row[f"{level}_on"])
            )
            lines.append(
                f"- {row['problem_id']} {_plain(row['theme'])}: 整改时限 deadline {_day(row['deadline'])}, "
                f"超期 {row['days_overdue']} 天 days overdue, {zh} {en}" + (f" ({steps})" if steps else "")
            )
        soon = report.due_soon[report.due_soon["unit_code"].eq(code)]
        days = report.due_soon_days
        lines.append(f"{days} 天内到期 Due within {days} days: {len(soon)}")
        for row in soon.to_dict("records"):
            lines.append(
                f"- {row['problem_id']} {_plain(row['theme'])}: 整改时限 deadline {_day(row['deadline'])} "
                f"(还有 {row['due_in_days']} 天 days left)"
            )
        digests[code] = (subject, "\n".join(lines))
    return digests
