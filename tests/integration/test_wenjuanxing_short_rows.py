"""A 问卷星 export line cut short, and its complete re-delivery, on SQLite and PostgreSQL."""

from sqlalchemy import select

from bizenv.warehouse import tables as t
from tests.builders import LABELS, run_cli, survey_row, wenjuanxing_export

UNITS = ["市发改委", "人行鄂州中支", "市中级人民法院"]
CUT_RESPONDENT = 99


def export_lines() -> list[str]:
    """15 respondents rating 市发改委, then one rating 市发改委 and 市中级人民法院 (the last line)."""
    rows = [survey_row(respondent=i, unit=UNITS[0]) for i in range(15)]
    rows += [survey_row(respondent=CUT_RESPONDENT, unit=unit) for unit in (UNITS[0], UNITS[2])]
    wide = wenjuanxing_export(rows, UNITS, first_number=3)
    return wide.to_csv(index=False, lineterminator="\n").splitlines()


def cut_last_line(lines: list[str]) -> list[str]:
    """The last respondent's line ends after the fourth item of the 市中级人民法院 grid."""
    header = lines[0].split(",")
    keep = header.index(f"{3 + 5 + 2}、请您对{UNITS[2]}的服务进行评价—{LABELS[3]}") + 1
    return [*lines[:-1], ",".join(lines[-1].split(",")[:keep])]


def load(capsys, path, db: str) -> dict:
    code, summary, _ = run_cli(capsys, "load-survey", str(path), "--period", "2026H1", "--db", db)
    assert code == 0
    return summary


def test_every_unit_row_of_a_cut_wenjuanxing_line_is_short_row(engine, warehouse_url, tmp_path, capsys):
    path = tmp_path / "cut.csv"
    path.write_text("\n".join(cut_last_line(export_lines())) + "\n", encoding="utf-8")
    summary = load(capsys, path, warehouse_url)
    assert summary["format"] == "wenjuanxing-csv"
    assert (summary["rows_in"], summary["accepted"], summary["quarantined"]) == (17, 15, 2)
    assert summary["reasons"] == {"short_row": 2}
    q = t.quarantined_rows
    with engine.connect() as conn:
        rows = conn.execute(select(q.c.source_row, q.c.reasons, q.c.details)).all()
    assert [(row.source_row, row.reasons) for row in rows] == [(17, "short_row"), (17, "short_row")]
    assert "the row has 35 of the header's 42 fields" in rows[0].details


def test_the_complete_wenjuanxing_export_after_a_cut_one_accepts_the_cut_respondents_units(
    engine, warehouse_url, tmp_path, capsys
):
    lines = export_lines()
    (tmp_path / "cut.csv").write_text("\n".join(cut_last_line(lines)) + "\n", encoding="utf-8")
    (tmp_path / "full.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    load(capsys, tmp_path / "cut.csv", warehouse_url)

    second = load(capsys, tmp_path / "full.csv", warehouse_url)
    assert second["status"] == "accepted" and second["duplicate_batch"] is False
    assert (second["rows_in"], second["accepted"], second["quarantined"]) == (17, 2, 15)
    assert second["reasons"] == {"duplicate": 15}
    r = t.survey_responses
    with engine.connect() as conn:
        units = conn.execute(select(r.c.unit_code).where(r.c.source_row == 17).order_by(r.c.unit_code))
        assert [row.unit_code for row in units] == ["intermediate_court", "ndrc"]
