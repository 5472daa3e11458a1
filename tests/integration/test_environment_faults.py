"""What comes from outside the package: file names and cell text that a spreadsheet would run as
formulas, unreadable files and database paths that cannot be created. None of it is a bug: the
outputs stay inert, and the CLI says which file or database (exit 2), never "internal error"."""

import csv
import os

import pandas as pd
import pytest
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


# --- Files and databases that cannot be used: exit 2 naming them, never exit 3 ---------------


def _deny(monkeypatch, denied):
    """Opening `denied` fails as an unreadable file does (the tests run as root: chmod is no bar)."""
    import builtins
    import errno
    import io

    real_open = io.open

    def guarded_open(file, *args, **kwargs):
        if isinstance(file, str | os.PathLike) and os.path.abspath(file) == os.path.abspath(denied):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(builtins, "open", guarded_open)


def _assert_exit_2_naming(code, last, err, name):
    assert code == 2, err
    assert last is not None and last["status"] == "error" and last["exit_code"] == 2
    assert name in last["message"]
    assert err.strip() == f"bizenv: error: {last['message']}"
    assert len(err.strip().splitlines()) == 1 and "internal error" not in err


@pytest.fixture
def db(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    assert run_cli(capsys, "init-db", "--db", url)[0] == 0
    return url


@pytest.mark.parametrize("command", ["load-survey", "load-metrics"])
def test_an_unreadable_input_file_is_unusable_input(tmp_path, capsys, monkeypatch, db, command):
    path = write_survey(tmp_path / "batch.csv", unit_sample("市发改委", 3, "满意"))
    _deny(monkeypatch, path)
    code, last, err = run_cli(capsys, command, str(path), "--period", "2026H1", "--db", db)
    _assert_exit_2_naming(code, last, err, str(path))
    assert "Permission denied" in last["message"]


def test_an_unreadable_margins_file_is_unusable_input(tmp_path, capsys, monkeypatch, db):
    load_rows(capsys, tmp_path / "s.csv", unit_sample("市发改委", 30, "满意"), db)
    margins = tmp_path / "margins.csv"
    margins.write_text("attribute,category,population\nenterprise_size,小型,10\n", encoding="utf-8")
    _deny(monkeypatch, margins)
    code, last, err = run_cli(capsys, "evaluate", "--period", "2026H1", "--margins", str(margins), "--db", db)
    _assert_exit_2_naming(code, last, err, str(margins))


def test_a_directory_given_as_the_input_file_is_unusable_input(tmp_path, capsys, db):
    folder = tmp_path / "batch.csv"
    folder.mkdir()
    code, last, err = run_cli(capsys, "load-survey", str(folder), "--period", "2026H1", "--db", db)
    _assert_exit_2_naming(code, last, err, str(folder))


@pytest.mark.parametrize("under", ["file.txt/sub", "file.txt"])
@pytest.mark.parametrize(
    "argv",
    [
        ["init-db"],
        ["status"],
        ["load-survey", "s.csv", "--period", "2026H1"],
        ["evaluate", "--period", "2026H1"],
    ],
)
def test_a_database_folder_that_cannot_be_created_is_unusable_configuration(tmp_path, capsys, under, argv):
    (tmp_path / "file.txt").write_text("a regular file where a folder should be\n")
    path = tmp_path / under / "w.sqlite"
    code, last, err = run_cli(capsys, *argv, "--db", f"sqlite:///{path}")
    if argv[0] in ("init-db", "status"):  # no JSON line promised
        assert code == 2 and err.strip().startswith("bizenv: error: ") and "internal error" not in err
        assert str(path) in err and len(err.strip().splitlines()) == 1
    else:
        _assert_exit_2_naming(code, last, err, str(path))


@pytest.mark.parametrize("argv", [["init-db"], ["load-survey", "s.csv", "--period", "2026H1"]])
def test_a_read_only_database_is_unusable_configuration(tmp_path, capsys, db, argv):
    write_survey(tmp_path / "s.csv", unit_sample("市发改委", 3, "满意"))
    path = tmp_path / "w.sqlite"
    argv = [str(tmp_path / a) if a == "s.csv" else a for a in argv]
    code, last, err = run_cli(capsys, *argv, "--db", f"sqlite:///file:{path}?mode=ro&uri=true")
    assert code == 2 and "internal error" not in err, err
    assert err.strip().startswith("bizenv: error: ") and str(path) in err and "readonly" in err
    if argv[0] == "load-survey":
        _assert_exit_2_naming(code, last, err, str(path))
    assert not (tmp_path / "file:").exists()  # a SQLite URI is no folder to create


# --- Bugs stay bugs -----------------------------------------------------------------------------


def _raising(exc):
    def fail(*_args, **_kwargs):
        raise exc

    return fail


@pytest.mark.parametrize(
    "exc",
    [
        KeyError("unit_code"),
        FileNotFoundError(2, "No such file or directory", "/nonexistent/bizenv/template.j2"),
        PermissionError(13, "Permission denied"),
    ],
)
def test_a_bug_is_still_an_internal_error(tmp_path, capsys, monkeypatch, db, exc):
    from bizenv.ingest import survey_batch

    monkeypatch.setattr(survey_batch, "load_survey", _raising(exc))
    path = write_survey(tmp_path / "s.csv", unit_sample("市发改委", 3, "满意"))
    code, last, err = run_cli(capsys, "load-survey", str(path), "--period", "2026H1", "--db", db)
    assert code == 3 and last["exit_code"] == 3
    assert err.startswith("bizenv: internal error: ")


def test_a_wrong_statement_on_sqlite_is_still_an_internal_error(tmp_path, capsys, monkeypatch, db):
    import sqlalchemy as sa

    from bizenv.ingest import survey_batch

    def broken_load(engine, *_args, **_kwargs):
        with engine.connect() as conn:
            conn.execute(sa.text("select * from no_such_table"))

    monkeypatch.setattr(survey_batch, "load_survey", broken_load)
    path = write_survey(tmp_path / "s.csv", unit_sample("市发改委", 3, "满意"))
    code, last, err = run_cli(capsys, "load-survey", str(path), "--period", "2026H1", "--db", db)
    assert code == 3 and last["exit_code"] == 3 and "no such table" in err
