"""The unit round trip by spreadsheet: each unit gets a workbook of its own problems, fills in
its response, and returns it; the returned workbook is read under the rules survey batches
follow.

A workbook holds one unit's problems only (nothing of another unit leaves the register in it),
with the problem ids in a hidden, locked column that the import keys on; the unit's name and the
period are in a very hidden sheet, so the import knows whose workbook it reads whatever the file
is called. Handing the workbook over is the assignment (交办): open problems in it become
`assigned`.

Importing: the batch id is the SHA-256 of the file (the same file twice changes nothing, and says
so); every filled-in row is accepted or quarantined with all its reasons, in one transaction that
aborts unless rows_in = accepted + quarantined.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select

from bizenv.errors import BizenvError
from bizenv.periods import Period
from bizenv.rectification.register import (
    Change,
    apply_changes,
    city_day,
    read_problems,
    status_changes,
)
from bizenv.report.cells import restore_cell, safe_cell
from bizenv.schemas import load_policy, load_registry
from bizenv.schemas.models import PROBLEM_STATUSES, Policy, Rectification, Registry
from bizenv.warehouse import tables as t
from bizenv.warehouse.writes import lock_for_write

FORMAT = "bizenv-problems-1"
SHEET = "整改台账"
GUIDE_SHEET = "填写说明"
META_SHEET = "_bizenv"
ID_COLUMN = "problem_id"
RESPONSE, MEASURES, CLAIM, COMPLETED = "单位反馈", "整改措施", "申报状态", "完成日期"
EDITABLE = (RESPONSE, MEASURES, CLAIM, COMPLETED)
# (header, width) of every column, in order; the editable ones last.
COLUMNS = [
    (ID_COLUMN, 16),
    ("问题编号", 16),
    ("期次", 9),
    ("来源", 10),
    ("主题", 14),
    ("问题描述", 40),
    ("会办单位", 18),
    ("证据", 50),
    ("整改类型", 14),
    ("整改时限", 12),
    ("当前状态", 10),
    ("督办", 10),
    (RESPONSE, 40),
    (MEASURES, 40),
    (CLAIM, 12),
    (COMPLETED, 12),
]
SOURCE_LABELS = {"comment": "企业留言", "low_score": "评分偏低", "flag": "预警"}
SUPERVISION_LABELS = {"none": "", "first": "一次督办", "second": "二次督办", "accountability": "问责"}
REASONS = (
    "unknown_problem",
    "other_unit",
    "duplicate_problem",
    "closed_problem",
    "bad_status",
    "illegal_transition",
    "bad_date",
    "date_before_problem",
)
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+00:00(?::00)?)?")


# --- export --------------------------------------------------------------------------------------


def workbook_name(period: str, unit_code: str) -> str:
    return f"problems_{period}_{unit_code}.xlsx"


def evidence_text(evidence: str) -> str:
    """Evidence JSON as a unit reads it: counts first, then each quote in 「」 (masked again)."""
    from bizenv.ingest.privacy import mask_string

    try:
        data = json.loads(evidence) if evidence else {}
    except json.JSONDecodeError:
        return mask_string(str(evidence))
    if not isinstance(data, dict):
        return mask_string(str(data))
    counts = [f"{k}: {v}" for k, v in data.items() if not isinstance(v, list | dict)]
    quotes = [f"「{q}」" for v in data.values() if isinstance(v, list) for q in v]
    nested = [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in data.items() if isinstance(v, dict)]
    return mask_string("\n".join(filter(None, ["，".join(counts), *nested, *quotes])))


def unit_problems(
    problems: pd.DataFrame, unit_code: str, period: Period, rules: Rectification
) -> pd.DataFrame:
    """The unit's problems a workbook carries: its own (as lead unit), registered up to the
    period, not settled."""
    keep = (
        problems["unit_code"].eq(unit_code)
        & (problems["period"] <= period.label)
        & ~problems["status"].isin(rules.settled)
    )
    return problems[keep].sort_values("problem_id")


def _sheet_rows(problems: pd.DataFrame, rules: Rectification, registry: Registry) -> list[list[object]]:
    names = {u.code: u.name for u in registry.units}
    co_units = problems["co_units"].map(lambda v: "、".join(names.get(c, c) for c in json.loads(v or "[]")))
    kinds = problems["kind"].map(lambda k: f"{k}（{rules.deadline_days.get(k, '?')} 天）")
    frame = pd.DataFrame(
        {
            ID_COLUMN: problems["problem_id"],
            "问题编号": problems["problem_id"],
            "期次": problems["period"],
            "来源": problems["source"].map(SOURCE_LABELS).fillna(problems["source"]),
            "主题": problems["theme"],
            "问题描述": problems["description"],
            "会办单位": co_units,
            "证据": problems["evidence"].map(evidence_text),
            "整改类型": kinds,
            "整改时限": problems["deadline"],
            "当前状态": problems["status"].map(dict(rules.status_labels)),
            "督办": problems["supervision"].map(SUPERVISION_LABELS),
            RESPONSE: problems["unit_response"],
            MEASURES: problems["measures"],
            CLAIM: None,
            COMPLETED: problems["completed_on"],
        }
    )
    # Text from the register (descriptions, evidence, the unit's own answers) never runs as a
    # formula: a leading quote as `report.cells.safe_cell` gives it, which the import drops again.
    return [
        [None if _blank(v) else safe_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)
    ]


def _blank(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def write_workbook(
    path: Path,
    problems: pd.DataFrame,
    unit_code: str,
    period: Period,
    rules: Rectification,
    registry: Registry,
    exported_at: datetime,
) -> None:
    """One unit's workbook: locked except the response columns, the claim a list of the
    statuses a unit may claim, the ids hidden."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Alignment, Font, PatternFill, Protection  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
    from openpyxl.worksheet.datavalidation import DataValidation  # type: ignore[import-untyped]

    unit = registry.by_code()[unit_code]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET
    sheet.append([header for header, _ in COLUMNS])
    for values in _sheet_rows(problems, rules, registry):
        sheet.append(values)
    last = sheet.max_row
    editable_fill = PatternFill("solid", fgColor="FFF2CC")
    for index, (header, width) in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        sheet.cell(1, index).font = Font(bold=True)
        for row in range(2, last + 1):
            cell = sheet.cell(row, index)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if header in EDITABLE:
                cell.protection = Protection(locked=False)
                cell.fill = editable_fill
            if header in (COMPLETED, "整改时限"):
                cell.number_format = "yyyy-mm-dd"
    sheet.column_dimensions["A"].hidden = True
    sheet.freeze_panes = "C2"
    claims = [rules.status_labels[s] for s in rules.unit_claims]
    claim_column = get_column_letter([h for h, _ in COLUMNS].index(CLAIM) + 1)
    completed_column = get_column_letter([h for h, _ in COLUMNS].index(COMPLETED) + 1)
    listed = DataValidation(
        type="list",
        formula1='"' + ",".join(claims) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="申报状态",
        error="请从下拉列表中选择：" + "、".join(claims),
    )
    dated = DataValidation(
        type="date",
        operator="greaterThan",
        formula1="DATE(2000,1,1)",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="完成日期",
        error="请填写日期，如 2026-07-15",
    )
    if last >= 2:
        listed.add(f"{claim_column}2:{claim_column}{last}")
        dated.add(f"{completed_column}2:{completed_column}{last}")
    sheet.add_data_validation(listed)
    sheet.add_data_validation(dated)
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False

    guide = book.create_sheet(GUIDE_SHEET)
    for line in [
        [
            f"{unit.full_name or unit.name} 整改台账（{period.label}，导出于 {city_day(exported_at).isoformat()}）"
        ],
        [f"本表只含本单位（主办单位）的问题，共 {len(problems)} 项。"],
        [
            f"请只填写黄色的四列：{RESPONSE}、{MEASURES}、{CLAIM}（下拉选择：{'、'.join(claims)}）、{COMPLETED}（如 2026-07-15）。"
        ],
        ["请勿增删行、修改其他列或改动文件结构；填好后原文件交回。"],
    ]:
        guide.append([safe_cell(text) for text in line])
    guide.column_dimensions["A"].width = 100

    meta = book.create_sheet(META_SHEET)
    for key, value in [
        ("format", FORMAT),
        ("unit_code", unit_code),
        ("unit_name", unit.name),
        ("period", period.label),
        ("exported_at", exported_at.isoformat()),
    ]:
        meta.append([key, safe_cell(value)])
    meta.sheet_state = "veryHidden"
    meta.protection.sheet = True
    book.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    book.save(partial)
    partial.replace(path)


def export_workbooks(
    conn: Connection,
    period: str,
    out_dir: Path,
    *,
    unit: str | None = None,
    actor: str = "bizenv",
    policy: Policy | None = None,
    registry: Registry | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write the workbook of `unit` (even when it has no problem to report on), or one per unit
    with problems; open problems in them become `assigned`, in the history with the file name.
    The summary: the period, the folder, and per workbook the unit, file and problem count."""
    policy = policy or load_policy()
    registry = registry or load_registry()
    rules = policy.rectification
    label = Period.parse(period)
    now = now or datetime.now(UTC)
    if unit is not None:
        code = registry.resolve(unit)
        if code is None:
            raise BizenvError(f"--unit {unit!r} is not a unit of the registry")
        units = [code]
    lock_for_write(conn, t.problems, t.problem_history)
    problems = read_problems(conn, for_update=True)
    if unit is None:
        units = sorted(_units_with(problems, label, rules))
    written = []
    for code in units:
        mine = unit_problems(problems, code, label, rules)
        path = out_dir / workbook_name(label.label, code)
        assign = mine[mine["status"].eq("open")] if rules.allowed("open", "assigned") else mine.iloc[:0]
        for record in assign.to_dict("records"):
            apply_changes(
                conn,
                status_changes({str(k): v for k, v in record.items()}, "assigned", rules, now),
                at=now,
                actor=actor,
                via=f"bizenv problems export {path.name}",
            )
        mine = mine.assign(
            status=mine["status"].where(~mine["problem_id"].isin(assign["problem_id"]), "assigned")
        )
        write_workbook(path, mine, code, label, rules, registry, now)
        written.append({"unit": code, "file": str(path), "problems": len(mine), "assigned": len(assign)})
    return {"period": label.label, "out": str(out_dir), "workbooks": written, "status": "ok"}


def _units_with(problems: pd.DataFrame, period: Period, rules: Rectification) -> set[str]:
    keep = (problems["period"] <= period.label) & ~problems["status"].isin(rules.settled)
    return set(problems.loc[keep, "unit_code"])


# --- import --------------------------------------------------------------------------------------


def _text(value: object) -> str:
    if _blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_day(value: object) -> date | None:
    """A completion date as a unit may write it: a spreadsheet date, or 2026-07-15, 2026/7/15,
    2026.7.15, 2026年7月15日. None when it is none of these (or not a real day)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE.fullmatch(str(value).strip())
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


class ReadWorkbook:
    """A returned workbook's identity (unit, period), its filled-in rows and their cells."""

    def __init__(self, path: Path, data: bytes, registry: Registry) -> None:
        from openpyxl import load_workbook

        name = str(path)
        try:
            book = load_workbook(io.BytesIO(data), data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
            raise BizenvError(
                f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})", file=name
            ) from None
        except Exception as exc:  # openpyxl raises its own types for damaged parts
            if type(exc).__module__.startswith(("openpyxl", "xml", "lxml")):
                raise BizenvError(
                    f"not a readable .xlsx workbook ({type(exc).__name__})", file=name
                ) from None
            raise
        if META_SHEET not in book.sheetnames:
            raise BizenvError(
                f"not a problem workbook exported by `bizenv problems export` (no {META_SHEET} sheet)",
                file=name,
            )
        meta = {
            _text(row[0]): _text(restore_cell(row[1]))
            for row in book[META_SHEET].iter_rows(values_only=True)
            if len(row) >= 2
        }
        if meta.get("format") != FORMAT:
            raise BizenvError(f"workbook format {meta.get('format')!r} is not {FORMAT}", file=name)
        self.unit_code = meta.get("unit_code", "")
        if self.unit_code not in registry.by_code():
            raise BizenvError(
                f"the workbook's unit {self.unit_code!r} is not a unit of the registry", file=name
            )
        self.period = Period.parse(meta.get("period", "")).label
        if SHEET not in book.sheetnames:
            raise BizenvError(f"the sheet {SHEET!r} is missing", file=name)
        sheet = book[SHEET]
        rows = list(sheet.iter_rows(values_only=True))
        header = [_text(h) for h in rows[0]] if rows else []
        for column in (ID_COLUMN, *EDITABLE):
            if column not in header:
                raise BizenvError("column missing", file=name, row=1, column=column)
        position = {column: header.index(column) for column in (ID_COLUMN, *EDITABLE)}
        records = []
        for number, cells in enumerate(rows[1:], start=2):
            values = {c: cells[i] if i < len(cells) else None for c, i in position.items()}
            if all(_blank(v) for v in values.values()):
                continue  # a blank row is no row
            records.append(
                {
                    "source_row": number,
                    # The cells export neutralised (`safe_cell`) read back as the register holds them.
                    "problem_id": _text(restore_cell(values[ID_COLUMN])),
                    "response": _text(restore_cell(values[RESPONSE])),
                    "measures": _text(restore_cell(values[MEASURES])),
                    "claim": _text(values[CLAIM]),
                    "completed_raw": values[COMPLETED],
                    "raw": json.dumps(
                        {h: _text(c) for h, c in zip(header, cells, strict=False) if h and not _blank(c)},
                        ensure_ascii=False,
                        default=str,
                    ),
                }
            )
        self.rows = pd.DataFrame(
            records,
            columns=["source_row", "problem_id", "response", "measures", "claim", "completed_raw", "raw"],
        )


def check_rows(
    rows: pd.DataFrame,
    problems: pd.DataFrame,
    unit_code: str,
    rules: Rectification,
    today: date,
) -> pd.DataFrame:
    """Each row with its `reasons` (';'-joined, '' when accepted), `details` and the parsed
    claim (`status`) and completion date (`completed_on`)."""
    from bizenv.ingest.privacy import mask_text

    out = rows.copy()
    out["response"] = mask_text(out["response"]).where(out["response"].ne(""), "")
    out["measures"] = mask_text(out["measures"]).where(out["measures"].ne(""), "")
    known = problems.set_index("problem_id")
    found = out["problem_id"].isin(known.index) & out["problem_id"].ne("")
    current = known.reindex(out["problem_id"])
    current.index = out.index
    labels = {label: status for status, label in rules.status_labels.items()}
    by_text = labels | {s: s for s in PROBLEM_STATUSES}
    out["status"] = out["claim"].map(lambda c: by_text.get(c, by_text.get(c.casefold())))
    out["completed_on"] = pd.Series(
        [None if _blank(v) else parse_day(v) for v in out["completed_raw"]], index=out.index, dtype=object
    )
    created = current["created_at"].map(
        lambda v: city_day(v) if isinstance(v, datetime) and not pd.isna(v) else None
    )
    closed = current["status"].isin(rules.closed())
    status_change = out["status"].notna() & out["status"].ne(current["status"])
    edits = (
        (out["response"].ne("") & out["response"].ne(current["unit_response"].fillna("")))
        | (out["measures"].ne("") & out["measures"].ne(current["measures"].fillna("")))
        | pd.Series(
            [
                d is not None and d != c
                for d, c in zip(out["completed_on"], current["completed_on"], strict=True)
            ],
            index=out.index,
        )
        | status_change
        | (out["claim"].ne("") & out["status"].isna())
    )
    mine = found & current["unit_code"].eq(unit_code)
    transition_ok = pd.Series(
        [
            s in rules.unit_claims and rules.allowed(c, s)
            for s, c in zip(out["status"], current["status"], strict=True)
        ],
        index=out.index,
        dtype=bool,
    )
    checks: dict[str, tuple[Any, Any]] = {
        "unknown_problem": (
            ~found,
            np.where(
                out["problem_id"].eq(""),
                "no problem id in the hidden problem_id column (a row added or the id cleared)",
                "problem " + out["problem_id"] + " is not in the register",
            ),
        ),
        "other_unit": (
            found & ~mine,
            "problem " + out["problem_id"] + " is not this workbook's unit's (" + unit_code + ")",
        ),
        "duplicate_problem": (
            out["problem_id"].ne("") & out["problem_id"].duplicated(keep="first"),
            "problem " + out["problem_id"] + " is on an earlier row of the workbook already",
        ),
        "closed_problem": (
            mine & closed & edits,
            "problem "
            + out["problem_id"]
            + " is "
            + current["status"].fillna("")
            + ": it takes no more changes",
        ),
        "bad_status": (
            out["claim"].ne("") & out["status"].isna(),
            "status '"
            + out["claim"]
            + "' is none of "
            + "、".join(rules.status_labels[s] for s in rules.unit_claims),
        ),
        "illegal_transition": (
            mine & ~closed & status_change & ~transition_ok,
            "problem "
            + out["problem_id"]
            + " is "
            + current["status"].fillna("")
            + ": a unit cannot make it "
            + out["status"].fillna(""),
        ),
        "bad_date": (
            out["completed_raw"].map(lambda v: not _blank(v))
            & out["completed_on"].map(lambda d: d is None or d > today).astype(bool),
            "completion date '"
            + out["completed_raw"].map(_text)
            + "' is not a date like 2026-07-15 up to today ("
            + today.isoformat()
            + ")",
        ),
        "date_before_problem": (
            mine
            & pd.Series(
                [
                    d is not None and c is not None and d < c
                    for d, c in zip(out["completed_on"], created, strict=True)
                ],
                index=out.index,
            ),
            "completion date "
            + out["completed_on"].map(lambda d: "" if d is None else d.isoformat())
            + " is before the problem was registered ("
            + created.map(lambda d: "" if d is None else d.isoformat())
            + ")",
        ),
    }
    reasons = pd.Series("", index=out.index)
    details = pd.Series("", index=out.index)
    for reason, (hit, message) in checks.items():
        hit = pd.Series(hit, index=out.index).fillna(False).astype(bool)
        text = pd.Series(message, index=out.index).astype(str)
        reasons[hit] = reasons[hit] + np.where(reasons[hit] == "", "", ";") + reason
        details[hit] = details[hit] + np.where(details[hit] == "", "", " | ") + text[hit]
    return out.assign(reasons=reasons, details=details)


def import_workbook(
    engine: Engine,
    path: Path,
    actor: str,
    *,
    policy: Policy | None = None,
    registry: Registry | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Read a returned unit workbook into the register; the JSON summary (see `summary`).
    Accepted rows change their problem's response, measures, completion date and status (each
    changed field in the history, `via` the file name, `batch_id` the file's SHA-256);
    quarantined rows change nothing and are kept in `problem_quarantine`."""
    from bizenv.ingest.privacy import mask_text
    from bizenv.warehouse.engine import require_migrated

    rules = (policy or load_policy()).rectification
    now = now or datetime.now(UTC)
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BizenvError("file not found", file=name) from None
    except IsADirectoryError:
        raise BizenvError("is a folder, not a workbook", file=name) from None
    batch_id = hashlib.sha256(data).hexdigest()
    require_migrated(engine)
    book = ReadWorkbook(path, data, registry or load_registry())
    base = {"batch_id": batch_id, "file": name, "unit": book.unit_code, "period": book.period}
    with engine.begin() as conn:
        lock_for_write(conn, t.problems, t.problem_history, t.problem_batches, t.problem_quarantine)
        b = t.problem_batches
        before = conn.execute(select(b).where(b.c.batch_id == batch_id)).mappings().first()
        if before is not None:
            return base | {
                "rows_in": before["rows_in"],
                "accepted": before["accepted"],
                "quarantined": before["quarantined"],
                "changed": 0,
                "duplicate_batch": True,
                "status": "accepted",
                "reasons": {},
                "message": f"workbook already imported at {before['loaded_at']}; nothing changed",
            }
        ids = [i for i in book.rows["problem_id"].unique() if i]
        problems = read_problems(conn, ids, for_update=True)
        checked = check_rows(book.rows, problems, book.unit_code, rules, city_day(now))
        bad = checked["reasons"].ne("")
        accepted, quarantined = checked[~bad], checked[bad]
        current = problems.set_index("problem_id")
        changes: list[Change] = []
        for row in accepted.to_dict("records"):
            pid = row["problem_id"]
            problem = {"problem_id": pid, **{str(k): v for k, v in current.loc[pid].items()}}
            for column, value in (
                ("unit_response", row["response"]),
                ("measures", row["measures"]),
                ("completed_on", row["completed_on"]),
            ):
                if not _blank(value):
                    changes.append(Change(pid, column, problem[column], value))
            if isinstance(row["status"], str) and row["status"] != problem["status"]:
                changes += status_changes(problem, row["status"], rules, now)
        changed = apply_changes(conn, changes, at=now, actor=actor, via=Path(name).name, batch_id=batch_id)
        conn.execute(
            b.insert().values(
                batch_id=batch_id,
                file_name=name,
                unit_code=book.unit_code,
                period=book.period,
                actor=actor,
                loaded_at=now,
                rows_in=len(checked),
                accepted=len(accepted),
                quarantined=len(quarantined),
                changed=changed,
            )
        )
        if len(quarantined):
            conn.execute(
                t.problem_quarantine.insert(),
                [
                    {
                        "batch_id": batch_id,
                        "source_row": int(r["source_row"]),
                        "problem_id": r["problem_id"] or None,
                        "reasons": r["reasons"],
                        "details": r["details"],
                        "raw": r["raw"],
                    }
                    for r in quarantined.assign(raw=mask_text(quarantined["raw"])).to_dict("records")
                ],
            )
        if len(checked) != len(accepted) + len(quarantined):  # pragma: no cover - a bug, not data
            raise RuntimeError("rows_in != accepted + quarantined: nothing written")
    counts = {
        reason: int(checked["reasons"].str.split(";").map(lambda rs, r=reason: r in rs).sum())
        for reason in REASONS
    }
    return base | {
        "rows_in": len(checked),
        "accepted": len(accepted),
        "quarantined": len(quarantined),
        "changed": changed,
        "duplicate_batch": False,
        "status": "accepted",
        "reasons": {k: v for k, v in counts.items() if v},
        "rows": [
            {
                "row": int(r["source_row"]),
                "problem_id": r["problem_id"],
                "reasons": r["reasons"],
                "details": r["details"],
            }
            for r in quarantined.to_dict("records")
        ],
    }


def quarantined_lines(summary: dict[str, Any]) -> Iterable[str]:
    """One line per quarantined row, for the person who imported the workbook."""
    for row in summary.get("rows", []):
        yield f"{summary['file']}, row {row['row']}: {row['reasons']}: {row['details']}"
