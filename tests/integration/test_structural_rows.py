"""Short and truncated rows, their re-delivery, and future submissions, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import func, select

from bizenv.ingest import canonical
from bizenv.ingest.survey_batch import load_survey
from bizenv.schemas import load_questionnaire
from bizenv.warehouse import tables as t
from tests.builders import LABELS, run_cli, survey_row

HEADER = canonical.expected_columns(load_questionnaire())


def csv_text(rows: list[dict]) -> str:
    return pd.DataFrame(rows)[HEADER].to_csv(index=False, lineterminator="\n")


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_short_row_is_quarantined_not_accepted_with_missing_answers(
    engine, warehouse_url, tmp_path, capsys
):
    lines = csv_text([survey_row(respondent=i) for i in range(1, 11)]).splitlines()
    lines[4] = ",".join(lines[4].split(",")[:15])  # file row 5: 15 of 19 fields
    path = tmp_path / "short.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, summary, _ = run_cli(capsys, "load-survey", str(path), "--period", "2026H1", "--db", warehouse_url)
    assert code == 0
    assert (summary["rows_in"], summary["accepted"], summary["quarantined"]) == (10, 9, 1)
    assert summary["reasons"] == {"short_row": 1}
    with engine.connect() as conn:
        row = conn.execute(select(t.quarantined_rows.c.source_row, t.quarantined_rows.c.reasons)).one()
    assert tuple(row) == (5, "short_row")


def test_the_complete_file_after_a_truncated_one_accepts_the_row_cut_short(
    engine, warehouse_url, tmp_path, capsys
):
    complete = csv_text([survey_row(respondent=i, answers="满意") for i in range(1, 11)])
    truncated = complete.rstrip("\n").rsplit(",", len(LABELS) - 4 + 1)[0]  # last row: 4 of 10 items
    (tmp_path / "cut.csv").write_text(truncated, encoding="utf-8")
    (tmp_path / "full.csv").write_text(complete, encoding="utf-8")

    _, first, _ = run_cli(
        capsys, "load-survey", str(tmp_path / "cut.csv"), "--period", "2026H1", "--db", warehouse_url
    )
    assert (first["accepted"], first["quarantined"], first["reasons"]) == (9, 1, {"short_row": 1})

    code, second, _ = run_cli(
        capsys, "load-survey", str(tmp_path / "full.csv"), "--period", "2026H1", "--db", warehouse_url
    )
    assert code == 0 and second["status"] == "accepted"
    assert (second["rows_in"], second["accepted"], second["quarantined"]) == (10, 1, 9)
    assert second["reasons"] == {"duplicate": 9}
    assert "superseded_earlier" not in second
    assert count(engine, t.survey_responses) == 10
    with engine.connect() as conn:
        answers = conn.execute(
            select(func.count())
            .select_from(
                t.response_items.join(
                    t.survey_responses,
                    t.response_items.c.response_id == t.survey_responses.c.response_id,
                )
            )
            .where(t.survey_responses.c.source_row == 11)
        ).scalar_one()
    assert answers == len(LABELS)


def test_a_submission_later_than_the_load_time_plus_a_day_is_quarantined(engine, tmp_path):
    rows = [survey_row(respondent=i, submitted_at="2026-05-01T09:00:00") for i in range(1, 11)]
    rows[3]["submitted_at"] = "2026-05-11T10:00:01"  # a day and a second after the load
    rows[4]["submitted_at"] = "2026-05-11T09:59:59"  # within the day of clock skew
    path = tmp_path / "times.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    summary = load_survey(engine, path, "2026H1", loaded_at=datetime(2026, 5, 10, 2, 0, tzinfo=UTC))
    assert (summary["accepted"], summary["quarantined"]) == (9, 1)
    assert summary["reasons"] == {"future_submitted_at": 1}
    with engine.connect() as conn:
        row = conn.execute(select(t.quarantined_rows.c.source_row, t.quarantined_rows.c.details)).one()
    assert row.source_row == 5 and "later than the load time (2026-05-10 10:00:00" in row.details
