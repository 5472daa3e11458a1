"""Published folders carry a manifest; `bizenv status` reports a folder that disagrees with the
warehouse, and runs that failed or never ended, and `--check` turns that into exit 1."""

import hashlib
import json

import pytest
from sqlalchemy import select, update

from bizenv.evaluate import evaluate_period
from bizenv.evaluation import publish
from bizenv.schemas import load_registry
from bizenv.warehouse import tables as t
from tests.builders import load_rows, run_cli, unit_sample

PUBLISHED = {
    "rankings.csv", "flags.csv", "quarantine.csv", "report.html", "report.xlsx", "bulletin.docx",
    "public/ranking.html", "public/ranking.csv",
}  # fmt: skip


@pytest.fixture
def loaded(engine, warehouse_url, tmp_path, capsys):
    rows = unit_sample("市发改委", 30, "满意") + unit_sample("税务局", 30, "一般", start=100)
    code, _, err = load_rows(capsys, tmp_path / "s1.csv", rows, warehouse_url)
    assert code == 0, err
    return engine


def status(capsys, warehouse_url, *args):
    return run_cli(capsys, "status", "--check", "--db", warehouse_url, *args)


def runs(engine):
    """The evaluations in the run log, oldest first."""
    r = t.pipeline_runs
    with engine.connect() as conn:
        return conn.execute(select(r).where(r.c.command == "evaluate").order_by(r.c.id)).mappings().all()


def test_the_manifest_names_the_run_and_the_digest_of_every_published_file(loaded, tmp_path):
    out = tmp_path / "out"
    evaluate_period(loaded, "2026H1", out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["period"] == "2026H1"
    assert manifest["run_id"] == runs(loaded)[-1]["id"]
    files = set(manifest["files"])
    assert files > PUBLISHED and "data_docs/index.html" in files
    assert all(name.startswith(("data_docs/", "units/")) for name in files - PUBLISHED)
    active = {u.code for u in load_registry().units if u.active}
    assert {name for name in files if name.startswith("units/")} == {f"units/{code}.html" for code in active}
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    assert not list(out.glob(".*"))  # no staging left behind


def test_a_refused_evaluation_leaves_the_published_folder_and_its_data_docs_as_they_were(
    loaded, tmp_path, monkeypatch
):
    from bizenv.errors import GateRefused
    from bizenv.evaluation import checks

    out = tmp_path / "out"
    evaluate_period(loaded, "2026H1", out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    monkeypatch.setattr(checks.validation, "critical_failures", lambda outcomes: ["scores_on_scale"])
    with pytest.raises(GateRefused):
        evaluate_period(loaded, "2026H1", out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert runs(loaded)[-1]["status"] == "refused"


def test_a_completed_evaluation_is_logged_with_its_folder(loaded, tmp_path):
    out = tmp_path / "out"
    evaluate_period(loaded, "2026H1", out)
    run = runs(loaded)[-1]
    assert (run["command"], run["status"], run["out_dir"], run["error"]) == (
        "evaluate",
        "done",
        str(out),
        None,
    )
    assert run["finished_at"] is not None and json.loads(run["summary"])["period"] == "2026H1"


def test_status_check_passes_when_the_folder_matches_the_warehouse(loaded, warehouse_url, tmp_path, capsys):
    evaluate_period(loaded, "2026H1", tmp_path / "out")
    code, summary, _ = status(capsys, warehouse_url)
    assert (code, summary["healthy"], summary["attention"]) == (0, True, [])


def test_a_folder_older_than_the_warehouse_is_reported(loaded, warehouse_url, tmp_path, capsys):
    first = tmp_path / "first"
    evaluate_period(loaded, "2026H1", first)
    load_rows(capsys, tmp_path / "s2.csv", unit_sample("税务局", 30, "不满意", start=300), warehouse_url)
    evaluate_period(loaded, "2026H1", tmp_path / "second")
    # The latest publication is checked by default and is current; the first one is out of date.
    assert status(capsys, warehouse_url)[0] == 0
    code, summary, _ = status(capsys, warehouse_url, "--out", str(first))
    assert code == 1
    assert summary["attention"] == [
        f"{first}: the warehouse's results for 2026H1 changed after run {runs(loaded)[0]['id']} "
        "wrote these files: re-run evaluate"
    ]


def test_a_file_changed_after_publication_is_reported(loaded, warehouse_url, tmp_path, capsys):
    out = tmp_path / "out"
    evaluate_period(loaded, "2026H1", out)
    with (out / "flags.csv").open("a", encoding="utf-8") as handle:
        handle.write("2026H1,ndrc,市发改委,BOTTOM_N,edited by hand\n")
    code, summary, _ = status(capsys, warehouse_url)
    assert code == 1
    assert summary["attention"] == [f"{out}: flags.csv differs from what run {runs(loaded)[-1]['id']} wrote"]


def test_a_publication_cut_short_keeps_no_manifest_and_is_reported_with_its_failed_run(
    loaded, warehouse_url, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "out"
    evaluate_period(loaded, "2026H1", out)

    def cut(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "write_manifest", cut)
    with pytest.raises(OSError):
        evaluate_period(loaded, "2026H1", out)
    assert not (out / "manifest.json").exists()
    run = runs(loaded)[-1]
    assert (run["status"], run["error"]) == ("failed", "OSError: [Errno 28] No space left on device")
    code, summary, _ = status(capsys, warehouse_url, "--out", str(out))
    assert code == 1
    assert summary["attention"] == [
        f"evaluate 2026H1 ended at {run['finished_at']} (run {run['id']}, failed): {run['error']}",
        f"{out}: no readable manifest.json; the files were not all published "
        "(interrupted, or written by an older version): re-run evaluate",
    ]


def test_a_failed_staging_leaves_the_previous_publication_in_place(loaded, tmp_path, monkeypatch):
    out = tmp_path / "out"
    evaluate_period(loaded, "2026H1", out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def fail(path, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "write_workbook", fail)
    with pytest.raises(OSError):
        evaluate_period(loaded, "2026H1", out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_a_run_that_never_ended_needs_attention(loaded, warehouse_url, tmp_path, capsys):
    evaluate_period(loaded, "2026H1", tmp_path / "out")
    with loaded.begin() as conn:  # as a killed run leaves it
        conn.execute(
            update(t.pipeline_runs)
            .where(t.pipeline_runs.c.command == "evaluate")
            .values(status="running", finished_at=None)
        )
    code, summary, _ = status(capsys, warehouse_url)
    assert code == 1
    assert "has not finished" in summary["attention"][0]


def test_status_without_check_exits_0_even_when_something_needs_attention(
    loaded, warehouse_url, tmp_path, capsys
):
    code, summary, _ = run_cli(capsys, "status", "--db", warehouse_url, "--out", str(tmp_path / "none"))
    assert (code, summary["healthy"]) == (0, False)
    assert summary["attention"] == [f"{tmp_path / 'none'}: the output folder is missing"]


def test_a_batch_accepted_after_the_last_evaluation_needs_attention(loaded, warehouse_url, tmp_path, capsys):
    evaluate_period(loaded, "2026H1", tmp_path / "out")
    load_rows(capsys, tmp_path / "s2.csv", unit_sample("税务局", 30, "不满意", start=300), warehouse_url)
    code, summary, _ = status(capsys, warehouse_url)
    assert code == 1
    assert len(summary["attention"]) == 1
    assert summary["attention"][0].startswith("2026H1: 1 survey batch(es) accepted after the last evaluation")
    evaluate_period(loaded, "2026H1", tmp_path / "out")
    assert status(capsys, warehouse_url)[0] == 0
