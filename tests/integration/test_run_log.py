"""Loads are in the run log from start to end, and `bizenv status --check` reports the latest
load of a period that failed or was refused until a later load of it succeeds."""

from sqlalchemy import select

from bizenv.warehouse import tables as t
from tests.builders import LABELS, load_rows, run_cli, survey_row, unit_sample


def load_runs(engine):
    r = t.pipeline_runs
    with engine.connect() as conn:
        return conn.execute(select(r).where(r.c.command.like("load-%")).order_by(r.c.id)).mappings().all()


def test_an_accepted_load_is_logged_done_with_its_summary(engine, warehouse_url, tmp_path, capsys):
    code, summary, _ = load_rows(
        capsys, tmp_path / "s.csv", unit_sample("市发改委", 30, "满意"), warehouse_url
    )
    assert code == 0
    [run] = load_runs(engine)
    assert (run["command"], run["period"], run["status"], run["error"]) == (
        "load-survey",
        "2026H1",
        "done",
        None,
    )
    assert run["finished_at"] is not None and '"accepted": 30' in run["summary"]


def test_a_failed_load_is_logged_with_its_one_line_error_and_needs_attention(
    engine, warehouse_url, tmp_path, capsys
):
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,score\n市发改委,5\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "load-survey", str(bad), "--period", "2026H1", "--db", warehouse_url)
    assert code == 2
    [run] = load_runs(engine)
    assert run["status"] == "failed" and run["error"] == err.strip().removeprefix("bizenv: error: ")
    code, status, _ = run_cli(capsys, "status", "--check", "--db", warehouse_url)
    assert code == 1
    assert status["attention"] == [
        f"load-survey 2026H1 ended at {run['finished_at']} (run {run['id']}, failed): {run['error']}"
    ]
    # A later good load of the period clears it.
    load_rows(capsys, tmp_path / "s.csv", unit_sample("市发改委", 30, "满意"), warehouse_url)
    assert run_cli(capsys, "status", "--check", "--db", warehouse_url)[0] == 0


def test_a_refused_load_is_logged_refused_with_the_gate_message(engine, warehouse_url, tmp_path, capsys):
    rows = unit_sample("市发改委", 10, "满意") + [
        survey_row(respondent=100 + i, **{LABELS[0]: "很好"}) for i in range(10)
    ]
    code, summary, _ = load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)
    assert code == 1
    [run] = load_runs(engine)
    assert (run["status"], run["error"]) == ("refused", summary["message"])
