"""Gates on both sides of their thresholds, results in validation_results, Data Docs on disk."""

import shutil

import pytest
import yaml
from sqlalchemy import select

from bizenv.config import schemas_dir
from bizenv.warehouse import tables as t
from tests.builders import load_rows, run_cli, survey_row, unit_sample


@pytest.mark.parametrize(("unknown", "status"), [(1, "accepted"), (3, "refused")])
def test_the_critical_unit_expectation_gates_on_its_mostly(
    engine, warehouse_url, tmp_path, capsys, unknown, status
):
    # 20 rows: 1 unknown unit is 5% (within mostly 0.9), 3 is 15% (beyond it, though under the 20% row gate).
    rows = [survey_row(respondent=i) for i in range(20 - unknown)]
    rows += [survey_row(respondent=100 + i, unit="市教育局") for i in range(unknown)]
    code, summary, _ = load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)
    assert summary["status"] == status and code == (1 if status == "refused" else 0)
    if status == "refused":
        assert (
            "critical expectation failed: unit_in_registry (unit_code): 3 of 20 rows unexpected"
            in summary["message"]
        )
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                t.validation_results.c.expectation,
                t.validation_results.c.success,
                t.validation_results.c.unexpected_count,
            ).where(t.validation_results.c.expectation.like("unit_in_registry%"))
        ).one()
    assert bool(stored.success) == (status == "accepted")
    assert stored.unexpected_count == unknown


def test_quality_warnings_are_stored_and_reported(engine, warehouse_url, tmp_path, capsys):
    rows = unit_sample("市发改委", 10, "非常满意")
    _, summary, _ = load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)
    assert summary["status"] == "accepted"
    assert any("top answer" in w for w in summary["validation"]["warnings"])
    with engine.connect() as conn:
        rules = set(
            conn.execute(
                select(t.validation_results.c.expectation).where(
                    t.validation_results.c.suite == "survey_quality_rules"
                )
            ).scalars()
        )
    assert rules == {"straight_lining", "top_box_batch"}


def test_evaluate_writes_data_docs_and_the_period_quarantine(engine, warehouse_url, tmp_path, capsys):
    rows = unit_sample("市发改委", 30, "满意") + [survey_row(respondent=900, unit="市教育局")]
    load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)
    out = tmp_path / "out"
    code, summary, _ = run_cli(
        capsys, "evaluate", "--period", "2026H1", "--out", str(out), "--db", warehouse_url
    )
    assert code == 0
    index = out / "data_docs" / "index.html"
    assert summary["outputs"]["data_docs"] == str(index)
    assert "period_2026H1" in index.read_text(encoding="utf-8")
    quarantine = (out / "quarantine.csv").read_text(encoding="utf-8-sig").splitlines()
    assert quarantine[0] == "file,batch_id,file_row,reasons,details,original_values"
    assert "s.csv" in quarantine[1] and "unknown_unit" in quarantine[1]
    assert summary["reliability"]["overall"] is None or summary["reliability"]["overall"] <= 1


def test_a_period_failing_a_critical_expectation_is_not_scored(
    engine, warehouse_url, tmp_path, monkeypatch, capsys
):
    load_rows(capsys, tmp_path / "s.csv", unit_sample("市发改委", 30, "满意"), warehouse_url)
    # The unit is retired from the registry after its answers were accepted.
    schemas = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), schemas)
    registry = yaml.safe_load((schemas / "units.yaml").read_text(encoding="utf-8"))
    next(u for u in registry["units"] if u["code"] == "ndrc")["active"] = False
    (schemas / "units.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("BIZENV_SCHEMAS_DIR", str(schemas))

    code, summary, err = run_cli(capsys, "evaluate", "--period", "2026H1", "--db", warehouse_url)
    assert code == 1 and summary["status"] == "error"
    assert "failed critical expectations, nothing was scored: unit_in_registry (unit_code): 30 of 30" in err
    with engine.connect() as conn:
        assert conn.execute(select(t.rankings)).first() is None
        failed = (
            conn.execute(
                select(t.validation_results.c.expectation).where(
                    t.validation_results.c.suite == "period", t.validation_results.c.success.is_(False)
                )
            )
            .scalars()
            .all()
        )
    assert failed == ["unit_in_registry:expect_column_values_to_be_in_set"]
