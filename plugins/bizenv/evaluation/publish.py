"""The files staff read: rankings.csv and flags.csv (the contract's columns), quarantine.csv, the
HTML report (with report.pdf when Chromium is there) and workbook, a page per unit (`units/`), the
public ranking (`public/`) and the bulletin (bulletin.docx), written after the warehouse has the
results they show.

They are written into a staging folder beside their place, then moved into place one by one
(the old manifest removed first), and `manifest.json` is written last (see `manifest`): a kill at
any point leaves either the last complete publication or a folder that `bizenv status` reports.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, select, text

from bizenv.errors import BizenvError
from bizenv.evaluation.compute import PeriodResults
from bizenv.evaluation.manifest import MANIFEST, write_manifest
from bizenv.evaluation.rules import Rules
from bizenv.evaluation.summary import EvaluationSummary
from bizenv.periods import Period
from bizenv.report.bulletin import write_bulletin
from bizenv.report.cells import safe_cells
from bizenv.report.pdf import print_pdf
from bizenv.report.public import write_public
from bizenv.report.publication import PeriodReport, write_html
from bizenv.report.unit_pages import write_unit_pages
from bizenv.report.workbook import write_workbook
from bizenv.schemas.models import Policy
from bizenv.validate.gx_runner import docs_index
from bizenv.warehouse import tables as t
from bizenv.warehouse.reads import fetch_frame

STAGING_PREFIX = ".staging-"
DATA_DOCS = "data_docs"
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


def period_comments(conn: Connection, period: Period) -> pd.DataFrame:
    """`unit_code, comment` of every accepted response of the period with a comment (masked
    when it was loaded), in load order."""
    r, b = t.survey_responses, t.survey_batches
    accepted = select(b.c.batch_id).where(b.c.period == period.label).where(b.c.status == "accepted")
    rows = fetch_frame(
        conn,
        select(r.c.unit_code, r.c.comment)
        .where(r.c.batch_id.in_(accepted))
        .where(r.c.comment.is_not(None))
        .order_by(r.c.response_id),
    )
    return rows[rows["comment"].str.strip() != ""].reset_index(drop=True)


def unit_trend(conn: Connection, period: Period) -> pd.DataFrame:
    """The `unit_trend` view's rows of this period and every earlier one, oldest first."""
    return pd.read_sql_query(
        text("SELECT * FROM unit_trend WHERE period <= :period ORDER BY period, unit_code"),
        conn,
        params={"period": period.label},
    )


def period_report(
    engine: Engine, results: PeriodResults, flags: pd.DataFrame, summary: EvaluationSummary, rules: Rules
) -> PeriodReport:
    """What every document of the period shows, read once (the warehouse holds the results)."""
    period = results.period
    with engine.connect() as conn:
        quarantine = period_quarantine(conn, period)
        comments = period_comments(conn, period)
        trend = unit_trend(conn, period)
    return PeriodReport(
        period=period.label,
        rankings=results.rankings,
        rankings_csv=rankings_csv_frame(results.rankings, rules.policy),
        flags=flags,
        scores=results.scores,
        shares=results.shares,
        indicator_rows=results.indicator_rows,
        city=results.city,
        reliability=results.reliability,
        quarantine=quarantine,
        responses=results.responses,
        weights=results.weights,
        comments=comments,
        trend=trend,
        summary=summary,
        questionnaire=rules.questionnaire,
        registry=rules.registry,
        policy=rules.policy,
    )


def staging_dir(out_dir: Path, run_id: int) -> Path:
    """Where run `run_id` writes its files (Data Docs included) before they are published."""
    return out_dir / f"{STAGING_PREFIX}{run_id}"


def publish(
    engine: Engine,
    out_dir: Path,
    results: PeriodResults,
    flags: pd.DataFrame,
    summary: EvaluationSummary,
    rules: Rules,
    *,
    run_id: int,
    state: str,
) -> dict[str, str]:
    """Every output file of the period, from results the warehouse already holds (`state`, the
    digest of what run `run_id` committed, goes into the manifest). Data Docs the run's
    validation staged replace the folder's `data_docs/` as a whole."""
    staging = staging_dir(out_dir, run_id)
    staging.mkdir(exist_ok=True)
    remove_abandoned_staging(out_dir, run_id)
    written = write_files(engine, staging, out_dir, results, flags, summary, rules)
    (out_dir / MANIFEST).unlink(missing_ok=True)
    outputs = {}
    for key, name in written.items():
        _move_into_place(staging / name, out_dir / name)
        outputs[key] = str(out_dir / name)
    published = list(written.values())
    if (staging / DATA_DOCS).is_dir():
        _replace_folder(staging / DATA_DOCS, out_dir / DATA_DOCS)
        published.append(DATA_DOCS)
    files = [
        path
        for name in published
        for path in ([out_dir / name] if (out_dir / name).is_file() else sorted((out_dir / name).rglob("*")))
        if path.is_file()
    ]
    staging.rmdir()
    database = engine.url.render_as_string(hide_password=True)
    write_manifest(
        out_dir, run_id=run_id, period=results.period.label, state=state, files=files, database=database
    )
    docs = docs_index(out_dir / DATA_DOCS)
    if docs.exists():
        outputs["data_docs"] = str(docs)
    return outputs


def _move_into_place(new: Path, target: Path) -> None:
    """A file by one rename; a folder (`units/`, `public/`) replaces the old one as a whole, so
    that a unit dropped from the registry leaves no page behind."""
    if new.is_dir():
        _replace_folder(new, target)
    else:
        os.replace(new, target)


def _replace_folder(new: Path, target: Path) -> None:
    """Two renames: the old folder moves aside, the new one into its place."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def remove_abandoned_staging(out_dir: Path, run_id: int) -> None:
    """Staging folders of earlier runs into this folder: what a killed run left behind. (An
    earlier run still publishing here would fail loudly on its missing files: two evaluations
    into one folder at once are not supported.)"""
    for folder in out_dir.glob(f"{STAGING_PREFIX}*"):
        suffix = folder.name.removeprefix(STAGING_PREFIX)
        if suffix.isdigit() and int(suffix) < run_id:
            shutil.rmtree(folder, ignore_errors=True)


def discard_staging(out_dir: Path, run_id: int) -> None:
    """A run that failed or was refused publishes nothing, not even its Data Docs: its
    validation is in `validation_results` and its message."""
    shutil.rmtree(staging_dir(out_dir, run_id), ignore_errors=True)


def write_files(
    engine: Engine,
    folder: Path,
    out_dir: Path,
    results: PeriodResults,
    flags: pd.DataFrame,
    summary: EvaluationSummary,
    rules: Rules,
) -> dict[str, str]:
    """Write the period's files into `folder`; their names by output key. Links point where the
    files will be once published (`out_dir`)."""
    report = period_report(engine, results, flags, summary, rules)
    # Spreadsheet-bound: text that would run as a formula gets a leading quote (numbers never do).
    safe_cells(report.rankings_csv).to_csv(folder / "rankings.csv", index=False, encoding="utf-8")
    safe_cells(flags[FLAGS_COLUMNS]).to_csv(folder / "flags.csv", index=False, encoding="utf-8")
    safe_cells(report.quarantine).to_csv(folder / "quarantine.csv", index=False, encoding="utf-8-sig")
    staged_docs = docs_index(folder / DATA_DOCS).exists() or docs_index(out_dir / DATA_DOCS).exists()
    data_docs = "data_docs/index.html" if staged_docs else None
    write_html(folder / "report.html", report, summary, data_docs)
    write_workbook(folder / "report.xlsx", report)
    write_unit_pages(folder / "units", report)
    write_public(folder / "public", report)
    write_bulletin(folder / "bulletin.docx", report)
    written = {
        "rankings": "rankings.csv",
        "flags": "flags.csv",
        "quarantine": "quarantine.csv",
        "report_html": "report.html",
        "report_xlsx": "report.xlsx",
        "unit_pages": "units",
        "public": "public",
        "bulletin": "bulletin.docx",
    }
    # Printed from the staged copy, whose links (units/, data_docs/) resolve the same way.
    if print_pdf(folder / "report.html", folder / "report.pdf"):
        written["report_pdf"] = "report.pdf"
    return written
