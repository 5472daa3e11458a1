from pathlib import Path

from sqlalchemy import text

from bizenv.cli import main
from tests.builders import load_rows, unit_sample

SQL = Path(__file__).resolve().parents[2] / "sql"


def test_rankings_by_group_query_runs_and_orders_best_first(engine, warehouse_url, tmp_path, capsys):
    rows = unit_sample("市发改委", 30, "一般") + unit_sample("公安局", 30, "非常满意", start=100)
    load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)
    main(["evaluate", "--period", "2026H1", "--db", warehouse_url])
    capsys.readouterr()
    with engine.connect() as conn:
        result = (
            conn.execute(text((SQL / "rankings_by_group.sql").read_text()), {"period": "2026H1"})
            .mappings()
            .all()
        )
    assert len(result) == 35
    government = [r for r in result if r["group_name"] == "政府部门"]
    assert [r["unit_code"] for r in government[:2]] == ["public_security", "ndrc"]
    assert float(government[0]["satisfaction_index"]) == 100.0
    assert government[0]["rank"] == 1
