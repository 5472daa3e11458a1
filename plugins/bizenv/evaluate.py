"""Evaluate one period: weights, satisfaction, indicator scores, composite, ranks and flags,
written back idempotently. Called by `bizenv evaluate` and the `semiannual_evaluation` DAG alike.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, case, delete, func, select

from bizenv.config import schemas_dir
from bizenv.errors import BizenvError, GateRefused
from bizenv.flags.history import later_periods, read_history, stored_rankings
from bizenv.flags.paired import overlap_covariance
from bizenv.flags.rules import period_flags
from bizenv.indicators.frontier import city_levels, frontier_scores, unit_indicator_scores
from bizenv.periods import Period
from bizenv.ranking.composite import composite, effective_shares
from bizenv.ranking.ranks import rank_in_groups
from bizenv.ranking.uncertainty import rank_uncertainty
from bizenv.report.publication import write_html, write_workbook
from bizenv.schemas import load_indicators, load_policy, load_questionnaire, load_registry, load_validation
from bizenv.schemas.models import Policy, Questionnaire, Registry
from bizenv.scoring.raking import rake, read_margins
from bizenv.scoring.satisfaction import OVERALL, respondent_scores, unit_scores
from bizenv.validate import results as validation
from bizenv.validate.gx_runner import docs_index, run_suite
from bizenv.validate.reliability import questionnaire_reliability
from bizenv.validate.suites import period_specs
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import require_migrated
from bizenv.warehouse.reads import fetch_frame
from bizenv.warehouse.writes import ensure_period, insert_frame, lock_for_write, sync_units

RANKINGS_COLUMNS = [
    "period",
    "group",
    "unit_code",
    "unit_name",
    "n_respondents",
    "satisfaction_index",
    "satisfaction_ci_low",
    "satisfaction_ci_high",
    "indicator_score",
    "composite_score",
    "rank",
    "rank_ci_low",
    "rank_ci_high",
    "ranked",
]
FLAGS_COLUMNS = ["period", "unit_code", "unit_name", "flag", "reason"]
GROUP_BY = ["group_code", "level"]


def read_period_responses(conn: Connection, period: Period, questionnaire: Questionnaire) -> pd.DataFrame:
    """Accepted responses of the period, one row per (respondent, unit): `respondent_hash`,
    `unit_code`, `submitted_at`, the respondent attributes, and item scale points wide (the
    database pivots the items, so a million responses travel as a million rows, not ten)."""
    r, items, b = t.survey_responses, t.response_items, t.survey_batches
    usable = (
        select(b.c.batch_id)
        .where(b.c.period == period.label)
        .where(b.c.status == "accepted")
        .where(b.c.schema_name == questionnaire.name)
    )
    attributes = [r.c[a.code] for a in questionnaire.respondent.attributes if a.code in r.c]
    responses = fetch_frame(
        conn,
        select(r.c.response_id, r.c.respondent_hash, r.c.unit_code, r.c.submitted_at, *attributes).where(
            r.c.batch_id.in_(usable)
        ),
    ).set_index("response_id")
    codes = [item.code for item in questionnaire.items()]
    pivot = select(
        items.c.response_id,
        *[func.max(case((items.c.item_code == code, items.c.score))).label(code) for code in codes],
    ).where(items.c.response_id.in_(select(r.c.response_id).where(r.c.batch_id.in_(usable))))
    wide = fetch_frame(conn, pivot.group_by(items.c.response_id)).set_index("response_id")
    responses["submitted_at"] = pd.to_datetime(responses["submitted_at"])
    return responses.join(wide.reindex(columns=codes)).astype({c: float for c in codes})


def read_period_metrics(conn: Connection, period: Period) -> pd.DataFrame:
    m = t.department_metrics
    return pd.read_sql(
        select(m.c.unit_code, m.c.indicator, m.c.value).where(m.c.period == period.label), conn
    )


def validate_responses(
    engine: Engine, responses: pd.DataFrame, period: Period, docs_dir: Path | None = None
) -> list:
    """Run the period suite over the accepted responses, store the outcomes, refuse on a failed
    critical expectation (`GateRefused`, exit 1)."""
    if responses.empty:
        return []
    questionnaire, registry, policy = load_questionnaire(), load_registry(), load_policy()
    outcomes = run_suite(
        f"period_{period.label}",
        responses.reset_index(drop=True),
        period_specs(questionnaire, registry, load_validation(), period, policy.fieldwork_grace_days),
        docs_dir=docs_dir,
    )
    critical = validation.critical_failures(outcomes)
    if critical:
        with engine.begin() as conn:
            validation.store(conn, batch_id=None, period=period.label, suite="period", outcomes=outcomes)
        raise GateRefused(
            f"period {period.label} failed critical expectations, nothing was scored: {'; '.join(critical)}"
        )
    return outcomes


def validate_period(engine: Engine, period: str, docs_dir: Path | None = None) -> dict:
    """The period's accepted responses against the period suite (the DAG's validation task)."""
    require_migrated(engine)
    period_ = Period.parse(period)
    with engine.connect() as conn:
        responses = read_period_responses(conn, period_, load_questionnaire())
    outcomes = validate_responses(engine, responses, period_, docs_dir)
    with engine.begin() as conn:
        validation.store(conn, batch_id=None, period=period_.label, suite="period", outcomes=outcomes)
    return {
        "period": period_.label,
        "responses": len(responses),
        "expectations": len(outcomes),
        "failed": sum(not o.success for o in outcomes),
        "warnings": validation.warnings_of(outcomes),
        "data_docs": str(docs_index(docs_dir)) if docs_dir is not None and outcomes else None,
    }


def margins_path(period: Period, explicit: Path | str | None) -> Path | None:
    """--margins FILE, else survey_schemas/margins/<period>.csv if it exists, else no raking."""
    if explicit:
        return Path(explicit)
    default = schemas_dir() / "margins" / f"{period.label}.csv"
    return default if default.exists() else None


def respondent_weights(
    responses: pd.DataFrame, questionnaire: Questionnaire, margins: Path | None, policy: Policy
) -> tuple[pd.Series, pd.DataFrame | None, dict]:
    """One weight per response row: the respondent's, raked once over respondents (not rows),
    within the policy's weight bounds. Also the respondents' raked attributes (None unraked),
    which the standard errors need for the calibration residuals."""
    if margins is None:
        return pd.Series(1.0, index=responses.index), None, {"method": "none"}
    margin_table = read_margins(margins, questionnaire)
    attributes = list(dict.fromkeys(margin_table["attribute"]))
    respondents = (
        responses.sort_values("submitted_at")
        .groupby("respondent_hash")
        .last()  # latest answers describe the firm
    )
    result = rake(respondents, margin_table, bounds=policy.raking.weight_bounds)
    weights = responses["respondent_hash"].map(result.weights)
    calibration = respondents[attributes].astype(str).apply(lambda column: column.str.strip())
    return (
        weights,
        calibration,
        {
            "method": "raking",
            "margins": str(margins),
            "attributes": sorted(attributes),
            "respondents": len(respondents),
            "iterations": result.iterations,
            "max_relative_error": result.max_relative_error,
            "weight_bounds": list(policy.raking.weight_bounds) if policy.raking.weight_bounds else None,
            "weights_at_bounds": result.at_bounds,
        },
    )


def build_rankings(
    unit_table: pd.DataFrame,
    overall: pd.DataFrame,
    indicator_scores: pd.DataFrame,
    indicator_rows: pd.DataFrame,
    period: Period,
    policy: Policy,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per registered unit with its satisfaction, indicator score, composite, rank and
    rank uncertainty; and per group the composite's effective weights (`composite_shares`).

    A surveyed unit under the minimum sample is not ranked and does not take part in its
    group's normalisation. A unit with one part is ranked on it (policy `composite.single_part`:
    with `not_ranked`, a unit without survey data is not ranked; a unit without metrics always
    is, so that having no metrics never takes a unit out of the bottom-five rule)."""
    frame = unit_table.merge(
        overall.rename(
            columns={
                "score": "satisfaction_index",
                "std_error": "satisfaction_se",
                "ci_low": "satisfaction_ci_low",
                "ci_high": "satisfaction_ci_high",
            }
        ),
        on="unit_code",
        how="left",
    ).merge(indicator_scores, on="unit_code", how="left")
    frame["n_respondents"] = frame["n_respondents"].fillna(0).astype(int)
    frame["n_indicators"] = frame["n_indicators"].fillna(0).astype(int)
    frame["satisfaction_ci_low"] = frame["satisfaction_ci_low"].clip(0, 100)
    frame["satisfaction_ci_high"] = frame["satisfaction_ci_high"].clip(0, 100)
    surveyed_too_few = (frame["n_respondents"] > 0) & (frame["n_respondents"] < policy.min_respondents)
    usable_sat = frame["satisfaction_index"].notna() & ~surveyed_too_few
    usable_ind = frame["indicator_score"].notna()
    rankable = ~surveyed_too_few & (usable_sat | usable_ind)
    if policy.composite.single_part == "not_ranked":
        rankable &= usable_sat
    parts = frame.loc[rankable, [*GROUP_BY, "unit_code"]].assign(
        satisfaction_index=frame["satisfaction_index"].where(usable_sat),
        satisfaction_se=frame["satisfaction_se"].where(usable_sat),
        indicator_score=frame["indicator_score"],
    )
    scored = composite(parts, policy, GROUP_BY)
    frame["composite_score"] = scored["composite_score"]
    frame["satisfaction_normalised"] = scored["satisfaction_normalised"]
    frame["indicators_normalised"] = scored["indicators_normalised"]
    frame["composite_basis"] = np.select(
        [
            surveyed_too_few,
            ~rankable & (usable_sat | usable_ind),
            usable_sat & usable_ind,
            usable_sat,
            usable_ind,
        ],
        ["insufficient_sample", "not_ranked", "both", "satisfaction_only", "indicators_only"],
        "none",
    )
    frame["ranked"] = frame["composite_score"].notna()
    frame["rank"] = rank_in_groups(frame, GROUP_BY)
    frame = frame.join(rank_uncertainty(scored.assign(ranked=True), indicator_rows, policy, GROUP_BY))
    frame["group_size"] = frame.groupby(GROUP_BY)["unit_code"].transform("size")
    frame["group_ranked"] = frame.groupby(GROUP_BY)["ranked"].transform("sum")
    frame["period"] = period.label
    frame["policy_version"] = policy.version
    shares = effective_shares(scored, policy, GROUP_BY).assign(period=period.label)
    return frame.sort_values(["group_code", "level", "rank", "unit_code"], ignore_index=True), shares


def stored_respondent_scores(conn: Connection, period: Period, questionnaire: Questionnaire) -> pd.DataFrame:
    """A period's respondent scores as its evaluation weighted them (`respondent_weights`; 1
    where the period was evaluated before weights were stored)."""
    responses = read_period_responses(conn, period, questionnaire)
    w = t.respondent_weights
    stored = dict(
        conn.execute(select(w.c.respondent_hash, w.c.weight).where(w.c.period == period.label)).all()
    )
    weights = responses["respondent_hash"].map(stored).fillna(1.0)
    return respondent_scores(responses.assign(weight=weights), questionnaire)


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
    flags = period_flags(rankings, history, period, policy, overlap)
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


def composite_summary(shares: pd.DataFrame, policy: Policy) -> dict:
    """The JSON summary's view of the composite: method, weights, and each group's effective
    shares of variance (rounded; null where fewer than 3 units have both parts)."""

    def share(value: float) -> float | None:
        return None if pd.isna(value) else round(float(value), 3)

    return {
        "normalisation": policy.composite.normalisation,
        "single_part": policy.composite.single_part,
        "weights": {
            "satisfaction": policy.composite_weights.satisfaction,
            "indicators": policy.composite_weights.indicators,
        },
        "effective_shares": {
            f"{row.group_code}/{row.level}": {
                "units_with_both_parts": int(row.n_units),
                "satisfaction": share(row.share_satisfaction),
                "indicators": share(row.share_indicators),
                "correlation": share(row.correlation),
            }
            for row in shares.itertuples()
        },
    }


def _unit_table(registry: Registry) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"unit_code": u.code, "unit_name": u.name, "group_code": u.group, "level": u.level}
            for u in registry.units
            if u.active
        ]
    )


def evaluate_period(
    engine: Engine,
    period: str,
    out_dir: Path | str | None = None,
    schema: str = "enterprise_satisfaction_v1",
    margins: Path | str | None = None,
    validated: bool = False,
) -> dict:
    """Score, rank and flag `period`; replace its derived rows in one transaction.

    The period's responses are validated first (a failed critical expectation refuses the run)
    unless `validated` says `validate_period` already did so."""
    require_migrated(engine)
    period_ = Period.parse(period)
    questionnaire = load_questionnaire(schema)
    registry = load_registry()
    policy = load_policy()
    catalogue = load_indicators()
    started = datetime.now(UTC)
    if out_dir is not None:
        out_dir = _usable_out_dir(Path(out_dir))

    with engine.connect() as conn:
        responses = read_period_responses(conn, period_, questionnaire)
        metrics = read_period_metrics(conn, period_)
    if responses.empty and metrics.empty:
        raise BizenvError(
            f"no accepted survey responses and no department metrics for period {period_}: load a batch first"
        )

    checks = load_validation()
    outcomes = []
    if not validated:
        outcomes = validate_responses(
            engine, responses, period_, docs_dir=out_dir / "data_docs" if out_dir is not None else None
        )
    reliability = questionnaire_reliability(
        responses,
        questionnaire,
        checks.reliability.confidence_level,
        checks.reliability.alpha_warning_below,
        missing=checks.reliability.missing,
    )

    weights, calibration, weighting = respondent_weights(
        responses, questionnaire, margins_path(period_, margins), policy
    )
    scored = respondent_scores(responses.assign(weight=weights), questionnaire)
    scores = unit_scores(scored, questionnaire, policy.confidence_level, calibration)
    overall = scores[scores["dimension"] == OVERALL].drop(columns="dimension")

    indicator_rows = (
        frontier_scores(metrics, catalogue, policy.min_units_for_observed_frontier)
        if not metrics.empty
        else pd.DataFrame()
    )
    if indicator_rows.empty:
        per_unit = pd.DataFrame(columns=["unit_code", "indicator_score", "n_indicators"])
        city, city_summary = (
            pd.DataFrame(columns=["indicator", "city_value", "n_units", "level"]),
            {"indicators": 0},
        )
    else:
        per_unit = unit_indicator_scores(indicator_rows)
        city, city_summary = city_levels(indicator_rows, catalogue, policy.indicator_targets)

    rankings, shares = build_rankings(
        _unit_table(registry), overall, per_unit, indicator_rows, period_, policy
    )
    rankings["weighting"] = weighting["method"]
    with engine.begin() as conn:
        # Flags look at earlier periods: read them under the lock, so that two evaluations of
        # neighbouring periods cannot each work from the other's stale flags.
        lock_for_write(conn, t.rankings, t.flags)
        flags = derive_flags(conn, rankings, period_, registry, policy, questionnaire, scored)
        ensure_period(conn, period_)
        sync_units(conn, registry)
        for table in (
            t.unit_scores,
            t.rankings,
            t.flags,
            t.indicator_scores,
            t.city_indicators,
            t.reliability,
            t.composite_shares,
            t.respondent_weights,
        ):
            conn.execute(delete(table).where(table.c.period == period_.label))
        if outcomes:
            validation.store(conn, batch_id=None, period=period_.label, suite="period", outcomes=outcomes)
        insert_frame(conn, t.reliability, reliability.assign(period=period_.label))
        insert_frame(conn, t.unit_scores, scores.assign(period=period_.label))
        insert_frame(conn, t.rankings, rankings[[c.name for c in t.rankings.columns]])
        insert_frame(conn, t.composite_shares, shares[[c.name for c in t.composite_shares.columns]])
        insert_frame(conn, t.respondent_weights, respondent_weight_rows(responses, weights, period_))
        _insert_flags(conn, flags, policy)
        if not indicator_rows.empty:
            insert_frame(
                conn,
                t.indicator_scores,
                indicator_rows.assign(period=period_.label)[[c.name for c in t.indicator_scores.columns]],
            )
            insert_frame(conn, t.city_indicators, city.assign(period=period_.label))
        summary = {
            "period": period_.label,
            "status": "done",
            "responses": int(len(responses)),
            "respondents": int(responses["respondent_hash"].nunique()),
            "units": int(len(rankings)),
            "ranked": int(rankings["ranked"].sum()),
            "excluded_incomplete": int((~scored["complete"]).sum()),
            "weighting": weighting,
            "validation": {
                "expectations": len(outcomes),
                "failed": sum(not o.success for o in outcomes),
                "warnings": validation.warnings_of(outcomes),
            }
            if not validated
            else "validated before",
            "reliability": {
                row.scope: None if pd.isna(row.alpha) else round(row.alpha, 3)
                for row in reliability.itertuples()
            },
            "reliability_warnings": [
                f"{row.scope}: Cronbach's alpha {row.alpha:.2f} is under {checks.reliability.alpha_warning_below}"
                for row in reliability.itertuples()
                if row.warning
            ],
            "indicators": city_summary,
            "composite": composite_summary(shares, policy),
            "composite_basis": {
                k: int(v) for k, v in rankings["composite_basis"].value_counts().sort_index().items()
            },
            "flags": {k: int(v) for k, v in flags["flag"].value_counts().sort_index().items()},
            "policy_version": policy.version,
        }
        rederived = rederive_later_flags(conn, period_, registry, policy, questionnaire)
        if rederived:
            summary["rederived_later_periods"] = rederived
            summary["stale_outputs"] = (
                f"flags of {', '.join(rederived)} were re-derived in the warehouse; "
                "re-run evaluate for those periods to refresh their files"
            )
        if out_dir is not None:
            quarantine = period_quarantine(conn, period_)
            outputs = write_outputs(rankings, flags, out_dir, policy)
            quarantine.to_csv(out_dir / "quarantine.csv", index=False, encoding="utf-8-sig")
            outputs["quarantine"] = str(out_dir / "quarantine.csv")
            docs = docs_index(out_dir / "data_docs")
            if docs.exists():
                outputs["data_docs"] = str(docs)
            summary["outputs"] = outputs
            outputs["report_html"] = str(
                write_html(
                    out_dir / "report.html",
                    period=period_.label,
                    rankings=rankings,
                    flags=flags,
                    scores=scores,
                    shares=shares,
                    reliability=reliability,
                    quarantine=quarantine,
                    summary=summary,
                    questionnaire=questionnaire,
                    registry=registry,
                    policy=policy,
                    data_docs="data_docs/index.html" if docs.exists() else None,
                )
            )
            outputs["report_xlsx"] = str(
                write_workbook(
                    out_dir / "report.xlsx",
                    rankings_csv=rankings_csv_frame(rankings, policy),
                    rankings=rankings,
                    shares=shares,
                    flags=flags,
                    scores=scores,
                    indicator_rows=indicator_rows,
                    reliability=reliability,
                    quarantine=quarantine,
                    questionnaire=questionnaire,
                    policy=policy,
                )
            )
        conn.execute(
            t.pipeline_runs.insert().values(
                period=period_.label,
                command="evaluate",
                started_at=started,
                finished_at=datetime.now(UTC),
                status="done",
                summary=json.dumps(summary, ensure_ascii=False),
            )
        )
    return summary


def _usable_out_dir(out_dir: Path) -> Path:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BizenvError(f"cannot write outputs there: {exc.strerror}", file=str(out_dir)) from None
    return out_dir


def period_quarantine(conn: Connection, period: Period) -> pd.DataFrame:
    """Every quarantined row of the period's batches, for evaluators: which file, which row, why,
    and the original values (identities hashed)."""
    q, surveys, metrics = t.quarantined_rows, t.survey_batches, t.metric_batches
    rows = fetch_frame(
        conn,
        select(q.c.batch_id, q.c.source_row, q.c.reasons, q.c.details, q.c.raw)
        .where(q.c.period == period.label)
        .order_by(q.c.batch_id, q.c.source_row, q.c.id),
    )
    names = dict(conn.execute(select(surveys.c.batch_id, surveys.c.file_name)).all())
    names |= dict(conn.execute(select(metrics.c.batch_id, metrics.c.file_name)).all())
    report = rows.assign(file=rows["batch_id"].map(names)).rename(
        columns={"source_row": "file_row", "raw": "original_values"}
    )
    return report[["file", "batch_id", "file_row", "reasons", "details", "original_values"]]


def rankings_csv_frame(rankings: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The contract's `rankings.csv` columns, in order, rounded for publication. Satisfaction
    figures resting on fewer respondents than the suppression threshold are left blank."""
    out = rankings.rename(columns={"group_code": "group"})
    suppressed = out["n_respondents"] < policy.suppression_min
    for column in ["satisfaction_index", "satisfaction_ci_low", "satisfaction_ci_high"]:
        out[column] = out[column].where(~suppressed).round(2)
    for column in ["indicator_score", "composite_score"]:
        out[column] = out[column].round(2)
    out["ranked"] = out["ranked"].map({True: "true", False: "false"})
    return out[RANKINGS_COLUMNS]


def write_outputs(
    rankings: pd.DataFrame, flags: pd.DataFrame, out_dir: Path, policy: Policy
) -> dict[str, str]:
    paths = {"rankings": out_dir / "rankings.csv", "flags": out_dir / "flags.csv"}
    rankings_csv_frame(rankings, policy).to_csv(paths["rankings"], index=False, encoding="utf-8")
    flags[FLAGS_COLUMNS].to_csv(paths["flags"], index=False, encoding="utf-8")
    return {name: str(path) for name, path in paths.items()}
