"""Evaluate one period: scores, ranks and flags from the warehouse, written back idempotently.

Called by `bizenv evaluate` and by the `semiannual_evaluation` DAG alike.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, delete, select

from bizenv.errors import BizenvError
from bizenv.flags.rules import period_flags
from bizenv.periods import Period
from bizenv.ranking.ranks import composite, rank_in_groups, rank_intervals
from bizenv.schemas import load_policy, load_questionnaire, load_registry
from bizenv.schemas.models import Questionnaire, Registry
from bizenv.scoring.satisfaction import OVERALL, respondent_scores, unit_scores
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import require_migrated
from bizenv.warehouse.writes import ensure_period, insert_frame, sync_units

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
    """Accepted responses of the period, one row per (respondent, unit), item scale points wide."""
    r, items, b = t.survey_responses, t.response_items, t.survey_batches
    usable = (
        select(b.c.batch_id)
        .where(b.c.period == period.label)
        .where(b.c.status == "accepted")
        .where(b.c.schema_name == questionnaire.name)
    )
    responses = pd.read_sql(
        select(r.c.response_id, r.c.respondent_hash, r.c.unit_code).where(r.c.batch_id.in_(usable)),
        conn,
        index_col="response_id",
    )
    answers = pd.read_sql(
        select(items.c.response_id, items.c.item_code, items.c.score)
        .join(r, r.c.response_id == items.c.response_id)
        .where(r.c.batch_id.in_(usable)),
        conn,
    )
    wide = answers.pivot(index="response_id", columns="item_code", values="score")
    codes = [item.code for item in questionnaire.items()]
    return responses.join(wide.reindex(columns=codes)).astype({c: float for c in codes})


def build_rankings(unit_table: pd.DataFrame, overall: pd.DataFrame, period: Period, policy) -> pd.DataFrame:  # noqa: ANN001
    """One row per registered unit with its satisfaction, composite, rank and interval."""
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
    )
    frame["n_respondents"] = frame["n_respondents"].fillna(0).astype(int)
    frame["indicator_score"] = float("nan")
    frame = composite(frame, policy)
    frame["ranked"] = (frame["n_respondents"] >= policy.min_respondents) & frame["composite_score"].notna()
    frame["rank"] = rank_in_groups(frame, GROUP_BY)
    frame = frame.join(
        rank_intervals(frame, GROUP_BY, policy.rank_intervals.draws, policy.rank_intervals.seed)
    )
    frame["group_size"] = frame.groupby(GROUP_BY)["unit_code"].transform("size")
    frame["group_ranked"] = frame.groupby(GROUP_BY)["ranked"].transform("sum")
    frame["period"] = period.label
    frame["policy_version"] = policy.version
    return frame.sort_values(["group_code", "level", "rank", "unit_code"], ignore_index=True)


def _unit_table(registry: Registry) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"unit_code": u.code, "unit_name": u.name, "group_code": u.group, "level": u.level}
            for u in registry.units
            if u.active
        ]
    )


def evaluate_period(
    engine: Engine, period: str, out_dir: Path | str | None = None, schema: str = "enterprise_satisfaction_v1"
) -> dict:
    """Score, rank and flag `period`; replace its derived rows in one transaction."""
    require_migrated(engine)
    period_ = Period.parse(period)
    questionnaire = load_questionnaire(schema)
    registry = load_registry()
    policy = load_policy()
    started = datetime.now(UTC)

    with engine.connect() as conn:
        responses = read_period_responses(conn, period_, questionnaire)
    if responses.empty:
        raise BizenvError(f"no accepted survey responses for period {period_}: load a survey batch first")

    scored = respondent_scores(responses.assign(weight=1.0), questionnaire)
    scores = unit_scores(scored, questionnaire, policy.confidence_level)
    overall = scores[scores["dimension"] == OVERALL].drop(columns="dimension")
    rankings = build_rankings(_unit_table(registry), overall, period_, policy)
    flags = period_flags(rankings, policy).merge(rankings[["unit_code", "unit_name"]], on="unit_code")
    flags["period"] = period_.label

    with engine.begin() as conn:
        ensure_period(conn, period_)
        sync_units(conn, registry)
        for table in (t.unit_scores, t.rankings, t.flags):
            conn.execute(delete(table).where(table.c.period == period_.label))
        insert_frame(conn, t.unit_scores, scores.assign(period=period_.label))
        insert_frame(conn, t.rankings, rankings[[c.name for c in t.rankings.columns]])
        insert_frame(
            conn,
            t.flags,
            flags.assign(policy_version=policy.version)[[c.name for c in t.flags.columns]],
        )
        summary = {
            "period": period_.label,
            "status": "done",
            "responses": int(len(responses)),
            "respondents": int(responses["respondent_hash"].nunique()),
            "units": int(len(rankings)),
            "ranked": int(rankings["ranked"].sum()),
            "excluded_incomplete": int((~scored["complete"]).sum()),
            "flags": {k: int(v) for k, v in flags["flag"].value_counts().sort_index().items()},
            "policy_version": policy.version,
        }
        if out_dir is not None:
            summary["outputs"] = write_outputs(rankings, flags, Path(out_dir))
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


def rankings_csv_frame(rankings: pd.DataFrame) -> pd.DataFrame:
    """The contract's `rankings.csv` columns, in order, rounded for publication."""
    out = rankings.rename(columns={"group_code": "group"})
    for column in [
        "satisfaction_index",
        "satisfaction_ci_low",
        "satisfaction_ci_high",
        "indicator_score",
        "composite_score",
    ]:
        out[column] = out[column].round(2)
    out["ranked"] = out["ranked"].map({True: "true", False: "false"})
    return out[RANKINGS_COLUMNS]


def write_outputs(rankings: pd.DataFrame, flags: pd.DataFrame, out_dir: Path) -> dict[str, str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"rankings": out_dir / "rankings.csv", "flags": out_dir / "flags.csv"}
    rankings_csv_frame(rankings).to_csv(paths["rankings"], index=False, encoding="utf-8")
    flags[FLAGS_COLUMNS].to_csv(paths["flags"], index=False, encoding="utf-8")
    return {name: str(path) for name, path in paths.items()}
