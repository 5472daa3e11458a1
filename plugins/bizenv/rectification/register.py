"""The problem register (整改台账): creating problems, moving them between statuses, and the
append-only history every change writes.

Nothing here overwrites a value without saying so: each changed field of a problem is one row of
`problem_history` (who, through what, old and new), written in the caller's transaction with the
change itself. The rules (deadline days per kind, the transitions allowed, which statuses are
final) come from `policy.yaml` `rectification` only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, select, update

from bizenv.errors import BizenvError
from bizenv.periods import Period
from bizenv.schemas import load_policy, load_registry
from bizenv.schemas.models import PROBLEM_STATUSES, Policy, Rectification, Registry
from bizenv.warehouse import tables as t
from bizenv.warehouse.reads import fetch_frame
from bizenv.warehouse.writes import lock_for_write

CITY_TIMEZONE = ZoneInfo("Asia/Shanghai")
SOURCES = ("comment", "low_score", "flag")
SUPERVISION_STEPS = ("none", "first", "second", "accountability")
REQUIRED_COLUMNS = ("period", "unit_code", "source", "theme", "description")


class Refused(BizenvError):
    """A change the policy does not allow (an illegal transition): exit 1, nothing changed."""

    exit_code = 1


@dataclass(frozen=True)
class Change:
    """One changed field of one problem, as `problem_history` records it."""

    problem_id: str
    field: str
    old: Any
    new: Any


def city_day(moment: datetime) -> date:
    """The day a moment falls on in the city (a naive time, as SQLite returns it, is UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(CITY_TIMEZONE).date()


def history_text(value: object) -> str | None:
    """A field's value as `problem_history` keeps it: dates ISO, missing as NULL."""
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def record_history(
    conn: Connection,
    changes: Iterable[Change],
    *,
    at: datetime,
    actor: str,
    via: str,
    batch_id: str | None = None,
) -> int:
    """Append one history row per change (never updated nor deleted afterwards)."""
    rows = [
        {
            "problem_id": c.problem_id,
            "changed_at": at,
            "actor": actor,
            "via": via,
            "batch_id": batch_id,
            "field": c.field,
            "old_value": history_text(c.old),
            "new_value": history_text(c.new),
        }
        for c in changes
    ]
    if rows:
        conn.execute(t.problem_history.insert(), rows)
    return len(rows)


def apply_changes(
    conn: Connection,
    changes: list[Change],
    *,
    at: datetime,
    actor: str,
    via: str,
    batch_id: str | None = None,
) -> int:
    """Write changed fields to `problems` (with `updated_at`) and their history, together.
    Returns the number of problems changed. Fields whose new value equals the old are dropped
    here, so that history never holds a change that changed nothing."""
    real = [c for c in changes if history_text(c.old) != history_text(c.new)]
    by_problem: dict[str, dict[str, Any]] = {}
    for c in real:
        by_problem.setdefault(c.problem_id, {})[c.field] = c.new
    p = t.problems
    for problem_id, values in by_problem.items():
        conn.execute(update(p).where(p.c.problem_id == problem_id).values(**values, updated_at=at))
    record_history(conn, real, at=at, actor=actor, via=via, batch_id=batch_id)
    return len(by_problem)


def read_problems(
    conn: Connection, ids: Iterable[str] | None = None, *, for_update: bool = False
) -> pd.DataFrame:
    """Problems as a frame (dates and times as Python objects), all or those with these ids."""
    p = t.problems
    statement = select(p)
    if ids is not None:
        statement = statement.where(p.c.problem_id.in_(list(ids)))
    if for_update and conn.dialect.name == "postgresql":
        statement = statement.with_for_update()
    rows = conn.execute(statement.order_by(p.c.problem_id)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in p.columns])


def deadline_for(rules: Rectification, kind: str, day: date) -> date:
    return day + timedelta(days=rules.deadline_days[kind])


# --- creating problems ------------------------------------------------------------------------


def _json_list(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return [str(v).strip() for v in json.loads(text)]
        return [v.strip() for v in text.split(",") if v.strip()]
    if isinstance(value, Iterable):
        return [str(v).strip() for v in value]
    raise BizenvError(f"co_units {value!r} is not a list of unit codes")


def _masked(value: object, mask: Callable[[str], str]) -> object:
    """Every string inside a JSON value through the privacy patterns."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {str(k): _masked(v, mask) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v, mask) for v in value]
    return value


def _evidence_json(value: object, mask: Callable[[str], str]) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "{}"
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    return json.dumps(_masked(value, mask), ensure_ascii=False, sort_keys=True)


def _proposals(frame: pd.DataFrame, rules: Rectification, registry: Registry) -> pd.DataFrame:
    """The proposed problems checked and normalised (co-units and evidence as JSON, text masked);
    every fault named with its row, all at once."""
    from bizenv.ingest.privacy import mask_string

    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise BizenvError(f"proposed problems lack columns {missing}")
    out = frame.reset_index(drop=True).copy()
    for column in ("co_units", "evidence", "kind"):
        if column not in out.columns:
            out[column] = None
    for column in ("unit_code", "source", "theme", "description"):
        out[column] = out[column].astype("string").str.strip()
    out["kind"] = out["kind"].astype("string").fillna(rules.default_kind).str.strip()
    known_units = {u.code for u in registry.units}
    problems: list[str] = []
    periods = {}
    for label in out["period"].astype(str).unique():
        try:
            periods[label] = Period.parse(label).label
        except BizenvError as exc:
            problems.append(exc.message)
    out["period"] = out["period"].astype(str).map(periods)
    checks = {
        "unit_code": ~out["unit_code"].isin(known_units),
        "source": ~out["source"].isin(SOURCES),
        "kind": ~out["kind"].isin(list(rules.deadline_days)),
        "theme": out["theme"].fillna("").eq(""),
        "description": out["description"].fillna("").eq(""),
    }
    for column, bad in checks.items():
        for row in out.index[bad.fillna(True).to_numpy()]:
            problems.append(f"row {row}: {column} {out.loc[row, column]!r} is not allowed")
    out["co_units"] = [
        sorted(set(_json_list(v)) - {lead}) for v, lead in zip(out["co_units"], out["unit_code"], strict=True)
    ]
    for row, codes in out["co_units"].items():
        unknown = sorted(set(codes) - known_units)
        if unknown:
            problems.append(f"row {row}: co_units {unknown} are not units of the registry")
    if problems:
        raise BizenvError("proposed problems refused: " + "; ".join(problems))
    out["co_units"] = out["co_units"].map(lambda codes: json.dumps(codes, ensure_ascii=False))
    out["evidence"] = out["evidence"].map(lambda v: _evidence_json(v, mask_string))
    out["description"] = out["description"].map(mask_string)
    return out


def _next_numbers(conn: Connection, periods: Iterable[str]) -> dict[str, int]:
    """The last sequence number used in each period (the caller holds the write lock)."""
    p = t.problems
    ids = conn.execute(select(p.c.problem_id).where(p.c.period.in_(list(periods)))).scalars().all()
    last: dict[str, int] = {}
    for problem_id in ids:
        label, _, number = problem_id.removeprefix("P").rpartition("-")
        if number.isdigit():
            last[label] = max(last.get(label, 0), int(number))
    return last


def create_problems(
    conn: Connection,
    frame: pd.DataFrame,
    actor: str,
    via: str,
    *,
    now: datetime | None = None,
    policy: Policy | None = None,
    registry: Registry | None = None,
) -> list[str]:
    """Register proposed problems; the id of each proposal's problem, in the frame's order.

    `frame`: `period`, `unit_code` (the lead unit), `source` (comment | low_score | flag),
    `theme`, `description`, and optionally `co_units` (a list, JSON array or comma-separated
    codes), `evidence` (a dict or JSON: counts and quotes, masked again here) and `kind` (a key
    of `deadline_days`, else the policy's default kind).

    A problem is one (unit, theme, source). A proposal matching a problem that is not yet
    final is not created again: when it comes from a later period than the problem was last
    seen in, the problem's `recurrence_count` goes up (history says from what to what); from the
    same or an earlier period it changes nothing, so deriving a period's problems twice is
    harmless. A proposal matching only final (verified) problems from a later period starts a
    new problem linked to the latest of them by `previous_problem_id`, its recurrence count one
    more than theirs. Proposals of one key in one frame are one problem, first seen in their
    earliest period."""
    rules = (policy or load_policy()).rectification
    now = now or datetime.now(UTC)
    if frame.empty:
        return []
    proposals = _proposals(frame, rules, registry or load_registry())
    proposals["key"] = proposals["unit_code"] + "\x1f" + proposals["theme"] + "\x1f" + proposals["source"]
    lock_for_write(conn, t.problems, t.problem_history)

    p = t.problems
    rows = (
        conn.execute(
            select(
                p.c.problem_id,
                p.c.unit_code,
                p.c.theme,
                p.c.source,
                p.c.status,
                p.c.recurrence_count,
                p.c.last_seen_period,
            ).where(p.c.unit_code.in_(proposals["unit_code"].unique().tolist()))
        )
        .mappings()
        .all()
    )
    existing = pd.DataFrame(
        [dict(r) for r in rows],
        columns=[
            "problem_id",
            "unit_code",
            "theme",
            "source",
            "status",
            "recurrence_count",
            "last_seen_period",
        ],
    )
    existing["key"] = existing["unit_code"] + "\x1f" + existing["theme"] + "\x1f" + existing["source"]
    closed = existing["status"].isin(rules.closed())
    # The problem a key lives on: the one not final (at most one per key), else the latest final.
    active: dict[str, dict[str, Any]] = (
        existing[~closed].sort_values("problem_id").drop_duplicates("key", keep="last").set_index("key")
    ).to_dict("index")  # type: ignore[assignment]
    final: dict[str, dict[str, Any]] = (
        existing[closed].sort_values("problem_id").drop_duplicates("key", keep="last").set_index("key")
    ).to_dict("index")  # type: ignore[assignment]

    ordered = proposals.sort_values(["period"], kind="stable")
    groups = ordered.groupby("key", sort=False)
    keys = groups.head(1).set_index("key")  # first proposal of each key, at its earliest period
    keys["periods"] = groups["period"].agg(lambda s: sorted(set(s)))

    changes: list[Change] = []
    id_of: dict[str, str] = {}
    new_rows: list[dict[str, Any]] = []
    for raw_key, proposal in keys.to_dict("index").items():
        key = str(raw_key)
        later: list[str] = list(proposal["periods"])
        if key in active:
            problem = active[key]
            id_of[key] = problem["problem_id"]
            later = [q for q in later if q > problem["last_seen_period"]]
            if later:
                count = int(problem["recurrence_count"])
                changes += [
                    Change(problem["problem_id"], "recurrence_count", count, count + len(later)),
                    Change(problem["problem_id"], "last_seen_period", problem["last_seen_period"], later[-1]),
                ]
            continue
        previous = final.get(key)
        if previous is not None:
            later = [q for q in later if q > previous["last_seen_period"]]
            if not later:  # seen already by the verified problem: nothing new
                id_of[key] = previous["problem_id"]
                continue
        new_rows.append(
            {
                "key": key,
                "period": later[0],
                "last_seen_period": later[-1],
                "recurrence_count": len(later)
                - 1
                + (int(previous["recurrence_count"]) + 1 if previous is not None else 0),
                "previous_problem_id": None if previous is None else previous["problem_id"],
                **{
                    c: proposal[c]
                    for c in ("unit_code", "co_units", "source", "theme", "description", "evidence", "kind")
                },
            }
        )

    if new_rows:
        created = pd.DataFrame(new_rows)
        last = _next_numbers(conn, created["period"].unique())
        sequence = created.groupby("period").cumcount() + 1 + created["period"].map(lambda q: last.get(q, 0))
        created["problem_id"] = "P" + created["period"] + "-" + sequence.map("{:04d}".format)
        today = city_day(now)
        created["deadline"] = created["kind"].map(lambda kind: deadline_for(rules, kind, today))
        records = [
            {
                **{c: row[c] for c in created.columns if c != "key"},
                "status": "open",
                "supervision": "none",
                "created_at": now,
                "updated_at": now,
            }
            for row in created.to_dict("records")
        ]
        conn.execute(p.insert(), records)
        id_of |= dict(zip(created["key"], created["problem_id"], strict=True))
        record_history(
            conn,
            [
                Change(
                    r["problem_id"],
                    "created",
                    None,
                    json.dumps(
                        {
                            k: history_text(r[k])
                            for k in ("period", "unit_code", "source", "theme", "kind", "deadline", "status")
                        }
                        | (
                            {"previous_problem_id": r["previous_problem_id"]}
                            if r["previous_problem_id"]
                            else {}
                        ),
                        ensure_ascii=False,
                    ),
                )
                for r in records
            ],
            at=now,
            actor=actor,
            via=via,
        )
    apply_changes(conn, changes, at=now, actor=actor, via=via)
    return proposals["key"].map(id_of).tolist()


# --- moving between statuses ---------------------------------------------------------------------


def status_changes(
    problem: Mapping[str, Any], new_status: str, rules: Rectification, at: datetime
) -> list[Change]:
    """The fields a transition changes, or Refused when the policy does not allow it. Resolving
    stamps `resolved_at`; reopening clears it and gives a new deadline of the problem's kind
    from the day it is reopened."""
    problem_id, old = problem["problem_id"], problem["status"]
    if new_status not in PROBLEM_STATUSES:
        raise BizenvError(f"{new_status!r} is not a status ({', '.join(PROBLEM_STATUSES)})")
    if not rules.allowed(old, new_status):
        allowed = ", ".join(next(v for k, v in rules.transitions.items() if k == old)) or "none: it is final"
        raise Refused(f"problem {problem_id} is {old}: it cannot become {new_status} (allowed: {allowed})")
    changes = [Change(problem_id, "status", old, new_status)]
    if new_status == "resolved":
        changes.append(Change(problem_id, "resolved_at", problem["resolved_at"], at))
    if new_status == "reopened":
        changes += [
            Change(problem_id, "resolved_at", problem["resolved_at"], None),
            Change(
                problem_id,
                "deadline",
                problem["deadline"],
                deadline_for(rules, problem["kind"], city_day(at)),
            ),
        ]
    return changes


def transition(
    conn: Connection,
    problem_id: str,
    new_status: str,
    actor: str,
    via: str,
    at: datetime | None = None,
    *,
    note: str | None = None,
    policy: Policy | None = None,
    batch_id: str | None = None,
) -> list[Change]:
    """Move one problem to `new_status` if the policy allows it from its current status (else
    Refused, exit 1, nothing written); an unknown id is unusable input (exit 2). A note is kept
    in the history beside the change."""
    rules = (policy or load_policy()).rectification
    at = at or datetime.now(UTC)
    found = read_problems(conn, [problem_id], for_update=True)
    if found.empty:
        raise BizenvError(f"no problem {problem_id!r} in the register")
    changes = status_changes({str(k): v for k, v in found.iloc[0].items()}, new_status, rules, at)
    if note:
        changes.append(Change(problem_id, "note", None, note))
    apply_changes(
        conn, [c for c in changes if c.field != "note"], at=at, actor=actor, via=via, batch_id=batch_id
    )
    record_history(
        conn, [c for c in changes if c.field == "note"], at=at, actor=actor, via=via, batch_id=batch_id
    )
    return changes


def step_days(conn: Connection, problem_ids: Iterable[str]) -> pd.DataFrame:
    """`problem_id, first_on, second_on, accountability_on`: the day each problem last reached
    each supervision step, from the history (a step's level and its day are one change)."""
    columns = ["problem_id", "first_on", "second_on", "accountability_on"]
    ids = list(problem_ids)
    if not ids:
        return pd.DataFrame(columns=columns)
    h = t.problem_history
    rows = fetch_frame(
        conn,
        select(h.c.problem_id, h.c.changed_at, h.c.field, h.c.new_value)
        .where(h.c.problem_id.in_(ids))
        .where(h.c.field.in_(["supervision", "supervised_on"])),
    )
    if rows.empty:
        return pd.DataFrame(columns=columns)
    wide = (
        rows.pivot_table(
            index=["problem_id", "changed_at"], columns="field", values="new_value", aggfunc="last"
        )
        .reindex(columns=["supervision", "supervised_on"])
        .reset_index()
        .sort_values("changed_at")
    )
    days = (
        wide[wide["supervision"].isin(["first", "second", "accountability"])]
        .pivot_table(index="problem_id", columns="supervision", values="supervised_on", aggfunc="last")
        .reindex(columns=["first", "second", "accountability"])
        .rename(columns=lambda level: f"{level}_on")
        .reset_index()
    )
    for column in columns[1:]:
        days[column] = days[column].map(lambda v: date.fromisoformat(v) if isinstance(v, str) else None)
    return days[columns]


def supervised_unresolved(conn: Connection, period: Period, policy: Policy) -> pd.DataFrame:
    """`problem_id, unit_code, theme, deadline, supervision, first_on, second_on`: the problems
    raised in `period` or before that are not settled and have had their second supervision
    (or more), with the day of each step (`step_days`). What the RECTIFICATION_OVERDUE flag
    names."""
    p = t.problems
    columns = ["problem_id", "unit_code", "theme", "deadline", "supervision", "first_on", "second_on"]
    rows = fetch_frame(
        conn,
        select(p.c.problem_id, p.c.unit_code, p.c.theme, p.c.deadline, p.c.supervision)
        .where(p.c.period <= period.label)
        .where(p.c.supervision.in_(["second", "accountability"]))
        .where(p.c.status.not_in(policy.rectification.settled)),
    )
    if rows.empty:
        return pd.DataFrame(columns=columns)
    out = rows.merge(step_days(conn, rows["problem_id"]), on="problem_id", how="left")
    out["deadline"] = pd.to_datetime(out["deadline"]).dt.strftime("%Y-%m-%d")
    return out[columns]
