"""Load one survey batch: read, check every row, and write it in one transaction.

A batch's id is the SHA-256 of the file's bytes, so loading the same file twice is a no-op.
Within a period a (respondent, unit) pair counts once, across batches too: the latest
submission wins and the earlier one moves to quarantine as a duplicate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, delete, select, update

from bizenv.config import respondent_salt
from bizenv.errors import BizenvError
from bizenv.ingest import canonical, gate, wenjuanxing
from bizenv.ingest.reading import RawTable, read_table
from bizenv.ingest.rows import StandardBatch, check_rows, rows_as_json
from bizenv.periods import Period
from bizenv.schemas import load_policy, load_questionnaire, load_registry, load_validation
from bizenv.schemas.models import Questionnaire
from bizenv.validate import results as validation
from bizenv.validate.gx_runner import run_suite
from bizenv.validate.suites import survey_specs
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import require_migrated
from bizenv.warehouse.writes import ensure_period, insert_frame, lock_for_write, next_ids, sync_units


def standard_batch(table: RawTable, questionnaire: Questionnaire) -> StandardBatch:
    """The file in the standard frame, whichever format it is in."""
    if wenjuanxing.looks_like_wenjuanxing(table, questionnaire):
        return wenjuanxing.to_standard(table, questionnaire)
    return canonical.to_standard(table, questionnaire)


def load_survey(
    engine: Engine, path: Path | str, period: str, schema: str = "enterprise_satisfaction_v1"
) -> dict:
    """Returns the JSON summary of the CLI contract."""
    require_migrated(engine)
    period_ = Period.parse(period)
    questionnaire = load_questionnaire(schema)
    registry = load_registry()
    policy = load_policy()
    table = read_table(Path(path))

    with engine.connect() as conn:
        existing = (
            conn.execute(select(t.survey_batches).where(t.survey_batches.c.batch_id == table.batch_id))
            .mappings()
            .first()
        )
    if existing and existing["period"] != period_.label:
        raise BizenvError(
            f"this file was already loaded for period {existing['period']} "
            f"(batch {table.batch_id[:12]}, {existing['loaded_at']}); it cannot also belong to {period_.label}",
            file=str(table.path),
        )
    if existing:
        return {
            "batch_id": table.batch_id,
            "file": str(table.path),
            "period": existing["period"],
            "schema": existing["schema_name"],
            "rows_in": existing["rows_in"],
            "accepted": existing["accepted"],
            "quarantined": existing["quarantined"],
            "duplicate_batch": True,
            "status": existing["status"],
            "reasons": {},
            "message": f"batch already loaded at {existing['loaded_at']}; nothing changed",
        }

    batch = standard_batch(table, questionnaire)
    salt = respondent_salt()
    checked = check_rows(
        batch,
        period=period_,
        registry=registry,
        questionnaire=questionnaire,
        salt=salt,
        fieldwork_grace_days=policy.fieldwork_grace_days,
        quality=load_validation().survey.quality_rules,
    )
    accepted, quarantined = checked.accepted, checked.quarantined
    outcomes = run_suite(
        f"survey_batch_{table.batch_id[:12]}",
        checked.parsed,
        survey_specs(questionnaire, load_validation(), period_, policy.fieldwork_grace_days),
    )
    critical = validation.critical_failures(outcomes)
    reasons = dict(checked.reason_counts)
    rows_in = len(batch.frame)
    superseded = None
    why = gate.refusals(quarantined, rows_in, outcomes, policy)
    status = "refused" if why else "accepted"

    with engine.begin() as conn:
        lock_for_write(conn, t.survey_responses, t.quarantined_rows, t.survey_batches)
        ensure_period(conn, period_)
        sync_units(conn, registry)
        if status == "refused":
            # Nothing of a refused batch is used, nor may it displace earlier accepted answers.
            refused = gate.refused_rows(accepted, batch.quarantine_raw(accepted.index, salt), why)
            quarantined = pd.concat([quarantined, refused])
            accepted = accepted.iloc[0:0]
        else:
            accepted, quarantined, superseded = _settle_cross_batch_duplicates(
                conn, accepted, quarantined, period_, batch, table.batch_id, salt
            )
            if superseded:
                reasons["duplicate"] = reasons.get("duplicate", 0) + superseded["in_batch"]

        conn.execute(
            t.survey_batches.insert().values(
                batch_id=table.batch_id,
                period=period_.label,
                schema_name=questionnaire.name,
                file_name=table.path.name,
                file_format=batch.file_format,
                encoding=table.encoding,
                loaded_at=datetime.now(UTC),
                rows_in=rows_in,
                accepted=len(accepted),
                quarantined=len(quarantined),
                status=status,
            )
        )
        _write_accepted(conn, accepted, questionnaire, period_, table.batch_id)
        validation.store(
            conn,
            batch_id=table.batch_id,
            period=period_.label,
            suite="survey_batch",
            outcomes=outcomes,
            warnings=checked.warnings,
        )
        insert_frame(
            conn,
            t.quarantined_rows,
            quarantined.assign(batch_id=table.batch_id, period=period_.label)[
                ["batch_id", "period", "source_row", "reasons", "details", "raw"]
            ],
        )
        if rows_in != len(accepted) + len(quarantined):
            raise RuntimeError(
                f"row accounting broken for {table.path}: {rows_in} in, "
                f"{len(accepted)} accepted + {len(quarantined)} quarantined"
            )

    summary = {
        "batch_id": table.batch_id,
        "file": str(table.path),
        "period": period_.label,
        "schema": questionnaire.name,
        "format": batch.file_format,
        "file_rows": batch.file_rows,
        "rows_in": rows_in,
        "accepted": len(accepted),
        "quarantined": len(quarantined),
        "duplicate_batch": False,
        "status": status,
        "reasons": dict(sorted(reasons.items())),
    }
    summary["validation"] = {
        "expectations": len(outcomes),
        "failed": sum(not o.success for o in outcomes),
        "critical_failed": critical,
        "warnings": validation.warnings_of(outcomes) + [w["message"] for w in checked.warnings],
    }
    if table.blank_rows:
        batch.notes.append(f"{table.blank_rows} blank row(s) skipped")
    if batch.notes:
        summary["notes"] = batch.notes
    if superseded and superseded["earlier"]:
        summary["superseded_earlier"] = superseded["earlier"]
    if status == "refused":
        summary["message"] = gate.refusal_message(why)
    return summary


def _settle_cross_batch_duplicates(  # noqa: ANN202
    conn: Connection,
    accepted: pd.DataFrame,
    quarantined: pd.DataFrame,
    period: Period,
    batch: StandardBatch,
    batch_id: str,
    salt: str,
):
    """Compare with pairs already accepted in the period; the later submission wins."""
    none = (accepted, quarantined, None)
    if accepted.empty:
        return none
    r = t.survey_responses
    hashes = accepted["respondent_hash"].unique().tolist()
    rows = []
    for start in range(0, len(hashes), 5_000):
        rows += conn.execute(
            select(
                r.c.response_id,
                r.c.batch_id,
                r.c.source_row,
                r.c.respondent_hash,
                r.c.unit_code,
                r.c.submitted_at,
            )
            .where(r.c.period == period.label)
            .where(r.c.respondent_hash.in_(hashes[start : start + 5_000]))
        ).all()
    earlier = pd.DataFrame(
        rows, columns=["response_id", "old_batch", "old_row", "respondent_hash", "unit_code", "old_at"]
    )
    if earlier.empty:
        return none
    earlier["old_at"] = pd.to_datetime(earlier["old_at"])
    matched = accepted.reset_index(names="index").merge(earlier, on=["respondent_hash", "unit_code"])
    if matched.empty:
        return none
    new_loses = matched["old_at"] >= matched["submitted_at"]

    losers = matched[new_loses].set_index("index")
    lost = pd.DataFrame(
        {
            "source_row": losers["source_row"],
            "reasons": "duplicate",
            "details": "duplicate: an equal or later submission of this respondent for this unit is "
            "already loaded (batch "
            + losers["old_batch"].str[:12]
            + ", row "
            + losers["old_row"].astype("str")
            + ")",
            "raw": batch.quarantine_raw(losers.index, salt),
        }
    )
    winners = matched[~new_loses]
    if not winners.empty:
        _move_to_quarantine(conn, winners, batch_id)
    return (
        accepted.drop(index=losers.index),
        pd.concat([quarantined, lost]),
        {"in_batch": len(losers), "earlier": len(winners)},
    )


def _move_to_quarantine(conn: Connection, winners: pd.DataFrame, batch_id: str) -> None:
    """Earlier submissions superseded by this batch leave the responses for quarantine."""
    r, items = t.survey_responses, t.response_items
    ids = winners["response_id"].astype(int).tolist()
    stored = pd.DataFrame(conn.execute(select(r).where(r.c.response_id.in_(ids))).mappings().all()).set_index(
        "response_id"
    )
    answers = pd.DataFrame(
        conn.execute(
            select(items.c.response_id, items.c.item_code, items.c.answer).where(items.c.response_id.in_(ids))
        ).all(),
        columns=["response_id", "item_code", "answer"],
    ).pivot(index="response_id", columns="item_code", values="answer")
    kept = stored.drop(columns=["batch_id", "period", "source_row"]).join(answers)
    kept["submitted_at"] = kept["submitted_at"].astype("str")
    by_id = winners.set_index("response_id")
    moved = pd.DataFrame(
        {
            "batch_id": stored["batch_id"],
            "period": stored["period"],
            "source_row": stored["source_row"],
            "reasons": "duplicate",
            "details": "duplicate: superseded by a later submission in batch "
            + batch_id[:12]
            + ", row "
            + by_id.loc[stored.index, "source_row"].astype("str"),
            "raw": rows_as_json(kept.loc[stored.index]),
        }
    )
    insert_frame(conn, t.quarantined_rows, moved)
    conn.execute(delete(items).where(items.c.response_id.in_(ids)))
    conn.execute(delete(r).where(r.c.response_id.in_(ids)))
    for old_batch, count in moved.groupby("batch_id").size().items():
        b = t.survey_batches
        conn.execute(
            update(b)
            .where(b.c.batch_id == old_batch)
            .values(accepted=b.c.accepted - int(count), quarantined=b.c.quarantined + int(count))
        )


def _write_accepted(
    conn: Connection, accepted: pd.DataFrame, questionnaire: Questionnaire, period: Period, batch_id: str
) -> None:
    if accepted.empty:
        return
    ids = next_ids(conn, t.survey_responses.c.response_id, len(accepted))
    attributes = [a.code for a in questionnaire.respondent.attributes]
    responses = accepted[
        [
            "source_row",
            "respondent_hash",
            "unit_code",
            "submitted_at",
            "duration_seconds",
            *attributes,
            "comment",
        ]
    ].assign(response_id=ids, batch_id=batch_id, period=period.label)
    responses["comment"] = responses["comment"].replace("", None)
    insert_frame(conn, t.survey_responses, responses)

    codes = [item.code for item in questionnaire.items()]
    scores = accepted[codes].set_axis(ids).stack(future_stack=True).rename("score")
    answers = accepted[[f"answer__{c}" for c in codes]].set_axis(codes, axis=1).set_axis(ids)
    answers = answers.stack(future_stack=True).rename("answer")
    long = pd.concat([answers, scores], axis=1).rename_axis(["response_id", "item_code"]).reset_index()
    long = long[long["answer"].str.strip() != ""]
    insert_frame(conn, t.response_items, long)
