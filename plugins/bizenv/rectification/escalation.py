"""Supervision of overdue problems: 一次督办, 二次督办, then accountability (问责).

A problem that is not settled (policy `rectification.settled`: the unit has reported it done, or
it is verified) and whose deadline has passed moves one step a run: to `first` on the policy's
day after the deadline, to `second` that many days after the first step, to `accountability`
that many days after the second. Each step counts from the day it was taken (`supervised_on`),
so a unit always has the full interval after a notice before the next one, however late a run
comes, and running twice on a day changes nothing the second time. A reopened problem gets a new
deadline; it moves on from its current step only once that deadline has passed too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from bizenv.rectification.register import Change, apply_changes, read_problems
from bizenv.schemas import load_policy
from bizenv.schemas.models import Policy
from bizenv.warehouse import tables as t
from bizenv.warehouse.writes import lock_for_write

NEXT_STEP = {"none": "first", "first": "second", "second": "accountability"}
MOVE_COLUMNS = ["problem_id", "unit_code", "deadline", "days_overdue", "supervision_from", "supervision_to"]


def due_steps(problems: pd.DataFrame, today: date, policy: Policy) -> pd.DataFrame:
    """The problems whose next supervision step is due on `today`, with the step (and the day
    of their last step, `supervised_on`)."""
    rules = policy.rectification
    steps = rules.supervision
    open_ = problems[
        ~problems["status"].isin(rules.settled) & problems["supervision"].isin(list(NEXT_STEP))
    ].copy()
    if open_.empty:
        return pd.DataFrame(columns=[*MOVE_COLUMNS, "supervised_on"])
    deadline = pd.to_datetime(open_["deadline"])
    last_step = pd.to_datetime(open_["supervised_on"])
    wait = open_["supervision"].map(
        {
            "none": steps.first_after_deadline_days,
            "first": steps.second_after_first_days,
            "second": steps.accountability_after_second_days,
        }
    )
    since = deadline.where(open_["supervision"].eq("none"), last_step.fillna(deadline))
    due = since + pd.to_timedelta(wait, unit="D")
    day = pd.Timestamp(today)
    moving = (day > deadline) & (day >= due)
    out = open_[moving.to_numpy()]
    return pd.DataFrame(
        {
            "problem_id": out["problem_id"],
            "unit_code": out["unit_code"],
            "deadline": out["deadline"],
            "days_overdue": (day - deadline[moving]).dt.days.astype(np.int64),
            "supervision_from": out["supervision"],
            "supervision_to": out["supervision"].map(NEXT_STEP),
            "supervised_on": out["supervised_on"],
        }
    ).reset_index(drop=True)


def escalate(
    conn: Connection,
    today: date,
    policy: Policy | None = None,
    actor: str = "bizenv",
    *,
    via: str = "bizenv problems escalate",
    now: datetime | None = None,
) -> pd.DataFrame:
    """Take every supervision step due on `today` (history rows for each); the moves made, one
    row per problem: `problem_id, unit_code, deadline, days_overdue, supervision_from,
    supervision_to`. Idempotent for a day."""
    policy = policy or load_policy()
    lock_for_write(conn, t.problems, t.problem_history)
    moves = due_steps(read_problems(conn, for_update=True), today, policy)
    changes: list[Change] = []
    for move in moves.to_dict("records"):
        changes += [
            Change(move["problem_id"], "supervision", move["supervision_from"], move["supervision_to"]),
            Change(move["problem_id"], "supervised_on", move["supervised_on"], today),
        ]
    apply_changes(conn, changes, at=now or datetime.now(UTC), actor=actor, via=via)
    return moves[MOVE_COLUMNS]
