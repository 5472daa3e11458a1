"""The files staff read: rankings.csv and flags.csv (the contract's columns), quarantine.csv, and
the HTML report and workbook, written after the warehouse has the results they show."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, select

from bizenv.errors import BizenvError
from bizenv.evaluation.compute import PeriodResults
from bizenv.evaluation.rules import Rules
from bizenv.evaluation.summary import EvaluationSummary
from bizenv.periods import Period
from bizenv.report.cells import safe_cells
from bizenv.report.publication import PeriodReport, write_html, write_workbook
from bizenv.schemas.models import Policy
from bizenv.validate.gx_runner import docs_index
from bizenv.warehouse import tables as t
from bizenv.warehouse.reads import fetch_frame

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


def usable_out_dir(out_dir: Path) -> Path:
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


def _replace(path: Path, write: Callable[[Path], object]) -> str:
    """Write beside the target, then rename over it: a reader (or a kill) never leaves half a file."""
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    write(partial)
    os.replace(partial, path)
    return str(path)


def publish(
    engine: Engine,
    out_dir: Path,
    results: PeriodResults,
    flags: pd.DataFrame,
    summary: EvaluationSummary,
    rules: Rules,
) -> dict[str, str]:
    """Every output file of the period, from results the warehouse already holds."""
    policy, period = rules.policy, results.period
    with engine.connect() as conn:
        quarantine = period_quarantine(conn, period)
    ranking_rows = rankings_csv_frame(results.rankings, policy)
    # Spreadsheet-bound: text that would run as a formula gets a leading quote (numbers never do).
    outputs = {
        "rankings": _replace(
            out_dir / "rankings.csv",
            lambda p: safe_cells(ranking_rows).to_csv(p, index=False, encoding="utf-8"),
        ),
        "flags": _replace(
            out_dir / "flags.csv",
            lambda p: safe_cells(flags[FLAGS_COLUMNS]).to_csv(p, index=False, encoding="utf-8"),
        ),
        "quarantine": _replace(
            out_dir / "quarantine.csv",
            lambda p: safe_cells(quarantine).to_csv(p, index=False, encoding="utf-8-sig"),
        ),
    }
    docs = docs_index(out_dir / "data_docs")
    if docs.exists():
        outputs["data_docs"] = str(docs)
    report = PeriodReport(
        period=period.label,
        rankings=results.rankings,
        rankings_csv=ranking_rows,
        flags=flags,
        scores=results.scores,
        shares=results.shares,
        indicator_rows=results.indicator_rows,
        reliability=results.reliability,
        quarantine=quarantine,
        questionnaire=rules.questionnaire,
        registry=rules.registry,
        policy=policy,
    )
    data_docs = "data_docs/index.html" if docs.exists() else None
    outputs["report_html"] = _replace(
        out_dir / "report.html", lambda p: write_html(p, report, summary, data_docs)
    )
    outputs["report_xlsx"] = _replace(out_dir / "report.xlsx", lambda p: write_workbook(p, report))
    return outputs
