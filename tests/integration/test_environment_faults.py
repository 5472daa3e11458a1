"""What comes from outside the package: file names and cell text that a spreadsheet would run as
formulas, unreadable files and database paths that cannot be created. None of it is a bug: the
outputs stay inert, and the CLI says which file or database (exit 2), never "internal error"."""

import csv

import pandas as pd
from openpyxl import load_workbook

from bizenv.ingest.inbox import Landing, process_file
from tests.builders import load_rows, run_cli, survey_row, unit_sample, write_survey

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _quarantined_batch() -> list[dict]:
    rows = unit_sample("市发改委", 30, "满意")
    return rows + [survey_row(respondent=900, unit="=1+1", comment='=HYPERLINK("http://x")')]


def test_a_formula_file_name_leaves_no_formula_in_the_workbook_or_quarantine_csv(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'w.sqlite'}"
    assert run_cli(capsys, "init-db", "--db", db)[0] == 0
    code, summary, _ = load_rows(capsys, tmp_path / "=1+1.csv", _quarantined_batch(), db)
    assert code == 0 and summary["quarantined"] == 1
    out = tmp_path / "out"
    assert run_cli(capsys, "evaluate", "--period", "2026H1", "--out", str(out), "--db", db)[0] == 0

    book = load_workbook(out / "report.xlsx")
    seen = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith("="), (sheet.title, cell.coordinate, cell.value)
                    seen.append(cell.value)
    assert "'=1+1.csv" in seen  # the file name is still there, as text

    with (out / "quarantine.csv").open(encoding="utf-8-sig", newline="") as handle:
        fields = [field for row in csv.reader(handle) for field in row]
    assert "'=1+1.csv" in fields
    assert not [f for f in fields if f.startswith(FORMULA_STARTS)]
    # The contract's files are unchanged: numbers stay numbers.
    rankings = pd.read_csv(out / "rankings.csv")
    assert rankings.loc[rankings["unit_code"] == "ndrc", "satisfaction_index"].iloc[0] == 75.0


def test_inbox_reports_hold_no_formula(tmp_path, monkeypatch):
    """Whatever text a quarantine report carries, its CSVs beside the moved files stay inert."""
    from bizenv.ingest import inbox
    from bizenv.warehouse.engine import make_engine, migrate

    real_report = inbox.quarantine_report

    def hostile_report(engine, batch_id):
        report = real_report(engine, batch_id)
        return report.assign(details="=1+1", reasons="@SUM(A1)", original_values="-2+3")

    monkeypatch.setattr(inbox, "quarantine_report", hostile_report)
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    migrate(engine)
    landing = Landing(tmp_path / "landing")
    folder = landing.inbox / "2026H1"
    folder.mkdir(parents=True)
    accepted = write_survey(folder / "=1+1.csv", _quarantined_batch())
    refused = write_survey(folder / "+1.csv", [survey_row(respondent=i, unit="-2+3") for i in range(3)])
    reports = []
    summary = process_file(engine, landing, accepted, "2026H1")
    assert summary["status"] == "accepted"
    reports.append(summary["quarantine_report"])
    summary = process_file(engine, landing, refused, "2026H1")
    assert summary["status"] == "refused"
    reports.append(summary["errors"])
    engine.dispose()

    for report in reports:
        frame = pd.read_csv(report, encoding="utf-8-sig", dtype=str)
        assert frame[["details", "reasons", "original_values"]].iloc[0].tolist() == [
            "'=1+1",
            "'@SUM(A1)",
            "'-2+3",
        ]
        assert frame["file_row"].str.isdigit().all()  # numbers stay numbers
