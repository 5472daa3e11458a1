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
from bizenv.schemas.models import IndicatorCatalogue, Policy, Questionnaire
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


def read_period_metrics(
    conn: Connection, period: Period, catalogue: IndicatorCatalogue, policy: Policy
) -> pd.DataFrame:
    """`unit_code, indicator, value`: the period's loaded metrics, and the indicators the
    evaluation computes from the problem register."""
    m = t.department_metrics
    loaded = pd.read_sql(
        select(m.c.unit_code, m.c.indicator, m.c.value).where(m.c.period == period.label), conn
    )
    computed = register_metrics(conn, period, catalogue, policy)
    return pd.concat([loaded, computed], ignore_index=True) if not computed.empty else loaded


def register_metrics(
    conn: Connection, period: Period, catalogue: IndicatorCatalogue, policy: Policy
) -> pd.DataFrame:
    """`unit_code, indicator, value` of each `source: problem_register` indicator: every unit's
    `rectification_rate` over the problems raised in the period before, as they stood at the end
    of this period (`bizenv.rectification.rates`), for the units the catalogue makes responsible."""
    from bizenv.rectification.rates import unit_rates
    from bizenv.rectification.register import read_problems

    specs = [i for i in catalogue.indicators if i.source == "problem_register"]
    empty = pd.DataFrame({"unit_code": pd.Series(dtype=object), "indicator": [], "value": []})
    if not specs:
        return empty
    p = t.problems
    ids = conn.execute(select(p.c.problem_id).where(p.c.period == period.previous().label)).scalars().all()
    if not ids:
        return empty
    rates = unit_rates(read_problems(conn, ids), period.end, policy)
    frames = [
        pd.DataFrame(
            {"unit_code": rates["unit_code"], "indicator": spec.code, "value": rates[spec.code].astype(float)}
        )[rates["unit_code"].isin(spec.responsible).to_numpy()]
        for spec in specs
    ]
    return pd.concat(frames, ignore_index=True)


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
