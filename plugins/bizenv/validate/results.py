"""Validation outcomes: stored in `validation_results`, and the gate they feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Connection, delete

from bizenv.validate.gx_runner import Outcome
from bizenv.warehouse import tables as t
from bizenv.warehouse.writes import insert_frame

QUALITY_SUITE = "survey_quality_rules"


def store(
    conn: Connection,
    *,
    batch_id: str | None,
    period: str,
    suite: str,
    outcomes: list[Outcome],
    warnings: list[dict] | None = None,
) -> None:
    """One row per expectation (and per quality warning), so quality can be followed over time.
    A period-level suite replaces the period's previous rows of the same suite."""
    if batch_id is None:
        v = t.validation_results
        conn.execute(delete(v).where(v.c.period == period, v.c.suite == suite, v.c.batch_id.is_(None)))
    rows = [o.as_row() | {"suite": suite} for o in outcomes]
    rows += [
        {
            "suite": QUALITY_SUITE,
            "expectation": w["rule"],
            "column_name": None,
            "success": False,
            "unexpected_count": w["count"],
            "unexpected_sample": json.dumps([w["message"]], ensure_ascii=False),
        }
        for w in warnings or []
    ]
    if rows:
        frame = pd.DataFrame(rows).assign(
            batch_id=batch_id, period=period, run_at=datetime.now(UTC).replace(tzinfo=None)
        )
        insert_frame(conn, t.validation_results, frame)


def critical_failures(outcomes: list[Outcome]) -> list[str]:
    """Plain-language lines for the failed critical expectations (empty: the gate passes)."""
    return [
        f"{o.rule} ({o.column or 'table'}): {o.unexpected_count} of {o.element_count} rows unexpected"
        for o in outcomes
        if o.critical and not o.success
    ]


def warnings_of(outcomes: list[Outcome]) -> list[str]:
    return [
        f"{o.rule} ({o.column or 'table'}): {o.unexpected_count} of {o.element_count} rows unexpected"
        for o in outcomes
        if not o.critical and not o.success
    ]
