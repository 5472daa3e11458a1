"""Writing a period's results: its flags (which look back at earlier periods), its derived rows
replaced in one transaction, and the later periods whose flags look back at it."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, delete

from bizenv.evaluation.compute import PeriodResults
from bizenv.evaluation.inputs import stored_respondent_scores
from bizenv.evaluation.rules import Rules
from bizenv.flags.history import later_periods, read_history, stored_rankings
from bizenv.flags.paired import overlap_covariance
from bizenv.flags.rules import period_flags
from bizenv.periods import Period
from bizenv.rectification.register import supervised_unresolved
from bizenv.schemas.models import Policy, Questionnaire, Registry
from bizenv.validate import results as validation
from bizenv.warehouse import tables as t
from bizenv.warehouse.writes import ensure_period, insert_frame, lock_for_write, sync_units


def derive_flags(
    conn: Connection,
    rankings: pd.DataFrame,
    period: Period,
    registry: Registry,
    policy: Policy,
    questionnaire: Questionnaire,
    scored: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The period's flags, reading the earlier periods they look back at, with unit names.

    Change tests are paired over the enterprises that rated a unit in both periods: `scored` is
    this period's `respondent_scores` output (read from the warehouse when not given)."""
    history = read_history(conn, period, max(policy.flags.consecutive_periods - 1, 1))
    overlap = None
    if (history["period"] == period.previous().label).any():
        now = scored if scored is not None else stored_respondent_scores(conn, period, questionnaire)
        before = stored_respondent_scores(conn, period.previous(), questionnaire)
        overlap = overlap_covariance(now, before)
    supervised = supervised_unresolved(conn, period, policy)
    flags = period_flags(rankings, history, period, policy, overlap=overlap, supervised=supervised)
    names = {u.code: u.name for u in registry.units}
    return flags.assign(unit_name=flags["unit_code"].map(names), period=period.label)


def _insert_flags(conn: Connection, flags: pd.DataFrame, policy: Policy) -> None:
    insert_frame(
        conn, t.flags, flags.assign(policy_version=policy.version)[[c.name for c in t.flags.columns]]
    )


def rederive_later_flags(
    conn: Connection, period: Period, registry: Registry, policy: Policy, questionnaire: Questionnaire
) -> list[str]:
    """Later periods' flags look back at this one: re-derive them, in order, in this transaction."""
    done = []
    for later in later_periods(conn, period):
        flags = derive_flags(
            conn, stored_rankings(conn, [later.label]), later, registry, policy, questionnaire
        )
        conn.execute(delete(t.flags).where(t.flags.c.period == later.label))
        _insert_flags(conn, flags, policy)
        done.append(later.label)
    return done


def respondent_weight_rows(responses: pd.DataFrame, weights: pd.Series, period: Period) -> pd.DataFrame:
    """One row per respondent: the weight they carried (the same on each of their rows)."""
    frame = pd.DataFrame({"respondent_hash": responses["respondent_hash"], "weight": weights})
    return frame.drop_duplicates("respondent_hash").assign(period=period.label)[
        ["period", "respondent_hash", "weight"]
    ]


# A period's derived rows: all replaced together, never another period's.
DERIVED = (
    t.unit_scores,
    t.rankings,
    t.flags,
    t.indicator_scores,
    t.city_indicators,
    t.reliability,
    t.composite_shares,
    t.respondent_weights,
)


def store_period(
    conn: Connection, results: PeriodResults, outcomes: list, rules: Rules
) -> tuple[pd.DataFrame, list[str]]:
    """Replace the period's derived rows, in the caller's transaction; return its flags and the
    later periods whose flags were re-derived."""
    period, policy, registry = results.period, rules.policy, rules.registry
    # Flags look at earlier periods: read them under the lock, so that two evaluations of
    # neighbouring periods cannot each work from the other's stale flags.
    lock_for_write(conn, t.rankings, t.flags)
    flags = derive_flags(
        conn, results.rankings, period, registry, policy, rules.questionnaire, results.scored
    )
    ensure_period(conn, period)
    sync_units(conn, registry)
    for table in DERIVED:
        conn.execute(delete(table).where(table.c.period == period.label))
    if outcomes:
        validation.store(conn, batch_id=None, period=period.label, suite="period", outcomes=outcomes)
    insert_frame(conn, t.reliability, results.reliability.assign(period=period.label))
    insert_frame(conn, t.unit_scores, results.scores.assign(period=period.label))
    insert_frame(conn, t.rankings, results.rankings[[c.name for c in t.rankings.columns]])
    insert_frame(conn, t.composite_shares, results.shares[[c.name for c in t.composite_shares.columns]])
    insert_frame(
        conn, t.respondent_weights, respondent_weight_rows(results.responses, results.weights, period)
    )
    _insert_flags(conn, flags, policy)
    if not results.indicator_rows.empty:
        columns = [c.name for c in t.indicator_scores.columns]
        insert_frame(conn, t.indicator_scores, results.indicator_rows.assign(period=period.label)[columns])
        insert_frame(conn, t.city_indicators, results.city.assign(period=period.label))
    return flags, rederive_later_flags(conn, period, registry, policy, rules.questionnaire)
