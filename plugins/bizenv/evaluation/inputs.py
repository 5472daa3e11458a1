"""What an evaluation reads: the period's accepted responses and department metrics, the
margins to rake to, and an earlier period's respondent scores as its evaluation weighted them."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, select

from bizenv.config import schemas_dir
from bizenv.ingest.distinct import on_distinct
from bizenv.ingest.reading import fields_per_row
from bizenv.periods import Period
from bizenv.schemas.models import Questionnaire
from bizenv.scoring.satisfaction import respondent_scores
from bizenv.warehouse import tables as t
from bizenv.warehouse.reads import fetch_frame


def read_period_responses(conn: Connection, period: Period, questionnaire: Questionnaire) -> pd.DataFrame:
    """Accepted responses of the period, one row per (respondent, unit): `respondent_hash`,
    `unit_code`, `submitted_at`, the respondent attributes, and item scale points wide (from
    each response's `scores` array, decoded once per distinct array)."""
    r, b = t.survey_responses, t.survey_batches
    usable = (
        select(b.c.batch_id)
        .where(b.c.period == period.label)
        .where(b.c.status == "accepted")
        .where(b.c.schema_name == questionnaire.name)
    )
    attributes = [r.c[a.code] for a in questionnaire.respondent.attributes if a.code in r.c]
    responses = fetch_frame(
        conn,
        select(
            r.c.response_id, r.c.respondent_hash, r.c.unit_code, r.c.submitted_at, *attributes, r.c.scores
        ).where(r.c.batch_id.in_(usable)),
    ).set_index("response_id")
    codes = [item.code for item in questionnaire.items()]
    scores = on_distinct(responses.pop("scores").astype("str"), lambda arrays: score_columns(arrays, codes))
    responses["submitted_at"] = pd.to_datetime(responses["submitted_at"])
    return responses.join(scores)


def score_columns(arrays: pd.Series, codes: list[str]) -> pd.DataFrame:
    """`survey_responses.scores` (JSON arrays of numbers or null, in item order) as one float
    column per item code.

    The arrays' insides are read as the lines of one CSV by pandas' C parser (a third of the
    time of splitting each string); every line must have one field per item, and every field
    must be a number or null."""
    if arrays.empty:
        return pd.DataFrame({code: pd.Series(dtype=float) for code in codes}, index=arrays.index)
    data = "\n".join(arrays.str.slice(1, -1).tolist()).encode()
    fields = fields_per_row(data, "utf-8", len(arrays))
    if len(fields) != len(arrays) or (fields != len(codes)).any():
        raise RuntimeError(f"stored score arrays do not all have the questionnaire's {len(codes)} items")
    cells = pd.read_csv(
        io.BytesIO(data), header=None, names=codes, dtype=float, na_values=["null"],
        keep_default_na=False, skip_blank_lines=False,
    )  # fmt: skip
    return cells.set_axis(arrays.index)


def read_period_metrics(conn: Connection, period: Period) -> pd.DataFrame:
    m = t.department_metrics
    return pd.read_sql(
        select(m.c.unit_code, m.c.indicator, m.c.value).where(m.c.period == period.label), conn
    )


def margins_path(period: Period, explicit: Path | str | None) -> Path | None:
    """--margins FILE, else survey_schemas/margins/<period>.csv if it exists, else no raking."""
    if explicit:
        return Path(explicit)
    default = schemas_dir() / "margins" / f"{period.label}.csv"
    return default if default.exists() else None


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
