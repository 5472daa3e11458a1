"""The register's rules without a database: the policy section, dates as units write them,
which supervision step is due, and evidence as a workbook shows it."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from pydantic import ValidationError

from bizenv.rectification.escalation import due_steps
from bizenv.rectification.workbook import evidence_text, parse_day
from bizenv.schemas import load_policy
from bizenv.schemas.models import Rectification

POLICY = load_policy()
RULES = POLICY.rectification


def test_the_policy_section_holds_every_status_and_final_is_verified_only():
    assert RULES.closed() == ["verified"]
    assert RULES.allowed("resolved", "reopened") and not RULES.allowed("verified", "reopened")
    assert set(RULES.unit_claims) <= set(RULES.transitions)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"default_kind": "urgent"}, "default_kind"),
        ({"deadline_days": {"ordinary": 0}}, "at least 1 day"),
        ({"transitions": {**RULES.transitions, "resolved": ["open"]}}, "back to open"),
        ({"status_labels": {**RULES.status_labels, "open": "已整改"}}, "distinct"),
    ],
)
def test_an_inconsistent_rectification_section_is_refused(change, message):
    data = RULES.model_dump() | change
    with pytest.raises(ValidationError, match=message):
        Rectification.model_validate(data)


def test_a_status_the_register_does_not_know_is_refused():
    data = RULES.model_dump()
    data["transitions"] = {**data["transitions"], "closed": []}
    with pytest.raises(ValidationError):
        Rectification.model_validate(data)


@pytest.mark.parametrize(
    ("written", "day"),
    [
        (datetime(2026, 7, 15, 0, 0), date(2026, 7, 15)),
        (date(2026, 7, 15), date(2026, 7, 15)),
        ("2026-07-15", date(2026, 7, 15)),
        ("2026/7/5", date(2026, 7, 5)),
        ("2026.7.5", date(2026, 7, 5)),
        ("2026年7月15日", date(2026, 7, 15)),
        (" 2026-07-15 00:00:00 ", date(2026, 7, 15)),
        ("2026-02-30", None),
        ("15/07/2026", None),
        ("下周", None),
        (46000, None),
    ],
)
def test_completion_dates_as_units_write_them(written, day):
    assert parse_day(written) == day


def test_evidence_shows_counts_and_quotes_with_identities_masked():
    text = evidence_text('{"comments": 4, "quotes": ["电话 13812345678 打不通", "办事慢"]}')
    assert text.splitlines() == ["comments: 4", "「电话 [电话] 打不通」", "「办事慢」"]


def frame(**columns) -> pd.DataFrame:
    base = {
        "problem_id": ["P1"],
        "unit_code": ["ndrc"],
        "status": ["assigned"],
        "supervision": ["none"],
        "deadline": [date(2026, 8, 9)],
        "supervised_on": [None],
    }
    return pd.DataFrame(base | {k: [v] for k, v in columns.items()})


@pytest.mark.parametrize(
    ("columns", "today", "step"),
    [
        ({}, date(2026, 8, 9), None),  # the deadline day itself is not overdue
        ({}, date(2026, 8, 10), "first"),
        ({"status": "resolved"}, date(2026, 12, 1), None),
        ({"status": "verified"}, date(2026, 12, 1), None),
        ({"supervision": "first", "supervised_on": date(2026, 8, 10)}, date(2026, 8, 23), None),
        ({"supervision": "first", "supervised_on": date(2026, 8, 10)}, date(2026, 8, 24), "second"),
        ({"supervision": "second", "supervised_on": date(2026, 8, 24)}, date(2026, 9, 7), "accountability"),
        ({"supervision": "accountability", "supervised_on": date(2026, 9, 7)}, date(2027, 1, 1), None),
        # reopened with a new deadline: the next step waits for it
        (
            {
                "status": "reopened",
                "supervision": "first",
                "supervised_on": date(2026, 8, 10),
                "deadline": date(2026, 9, 30),
            },
            date(2026, 9, 30),
            None,
        ),
    ],
)
def test_which_supervision_step_is_due(columns, today, step):
    due = due_steps(frame(**columns), today, POLICY)
    assert (due["supervision_to"].iloc[0] if len(due) else None) == step
