import pandas as pd
import pytest
from sqlalchemy import func, select

from bizenv.warehouse import tables as t
from tests.builders import load_rows, run_cli, unit_sample


def write_metrics(path, rows):  # noqa: ANN001, ANN201
    pd.DataFrame(rows, columns=["unit", "indicator", "value", "source"]).to_csv(
        path, index=False, encoding="gb18030"
    )
    return path


@pytest.fixture
def metrics_file(tmp_path):
    return write_metrics(
        tmp_path / "metrics.csv",
        [
            ("市场监管局", "business_startup_days", "1", "市场监管局年报"),
            ("行政审批局", "online_service_rate", "95.5%", "政务服务网"),
            ("供电公司", "electricity_connection_days", "12", "国网统计"),
            ("税务局", "tax_payment_hours", "1,200", "抽样"),  # implausible: over 1000
            ("税务局", "no_such_indicator", "3", ""),
            ("市教育局", "online_service_rate", "90", ""),
            ("财政局", "electricity_connection_days", "12", ""),  # not responsible for it
            ("供电公司", "electricity_connection_days", "10", "国网统计(更正)"),  # later row wins
        ],
    )


def test_load_metrics_quarantines_every_bad_row_with_its_reason(engine, warehouse_url, metrics_file, capsys):
    code, summary, _ = run_cli(
        capsys, "load-metrics", str(metrics_file), "--period", "2026H1", "--db", warehouse_url
    )
    assert code == 1  # 5 of 8 rows quarantined: over the gate
    assert summary["reasons"] == {
        "duplicate": 1, "implausible_value": 1, "not_responsible": 1, "unknown_indicator": 1, "unknown_unit": 1,
    }  # fmt: skip
    assert summary["rows_in"] == summary["accepted"] + summary["quarantined"] == 8


def test_good_metrics_load_once_and_a_later_batch_supersedes(engine, warehouse_url, tmp_path, capsys):
    first = write_metrics(tmp_path / "a.csv", [("供电公司", "electricity_connection_days", "12", "a")])
    second = write_metrics(tmp_path / "b.csv", [("鄂州供电公司", "electricity_connection_days", "9", "b")])
    code, summary, _ = run_cli(
        capsys, "load-metrics", str(first), "--period", "2026H1", "--db", warehouse_url
    )
    assert code == 0 and summary["accepted"] == 1
    _, again, _ = run_cli(capsys, "load-metrics", str(first), "--period", "2026H1", "--db", warehouse_url)
    assert again["duplicate_batch"] is True
    _, newer, _ = run_cli(capsys, "load-metrics", str(second), "--period", "2026H1", "--db", warehouse_url)
    assert newer["superseded_earlier"] == 1
    with engine.connect() as conn:
        values = conn.execute(select(t.department_metrics.c.value)).scalars().all()
        batches = {r.file_name: (r.accepted, r.quarantined) for r in conn.execute(select(t.metric_batches))}
        quarantined = conn.execute(select(func.count()).select_from(t.quarantined_rows)).scalar_one()
    assert values == [9.0]
    assert batches == {"a.csv": (0, 1), "b.csv": (1, 0)}
    assert quarantined == 1


def test_composite_combines_satisfaction_and_indicators_by_policy_weights(
    engine, warehouse_url, tmp_path, capsys
):
    survey = unit_sample("市场监管局", 30, "满意") + unit_sample("供电公司", 30, "一般", start=100)
    load_rows(capsys, tmp_path / "s.csv", survey, warehouse_url)
    metrics = write_metrics(
        tmp_path / "m.csv",
        [
            ("市场监管局", "business_startup_days", "0.5", ""),  # frontier best → 100
            ("供电公司", "electricity_connection_days", "60", ""),  # frontier worst → 0
            ("市水务集团", "water_connection_days", "3", ""),  # no survey: ranked on indicators alone
        ],
    )
    run_cli(capsys, "load-metrics", str(metrics), "--period", "2026H1", "--db", warehouse_url)
    out = tmp_path / "out"
    code, summary, _ = run_cli(
        capsys, "evaluate", "--period", "2026H1", "--out", str(out), "--db", warehouse_url
    )
    assert code == 0
    rankings = pd.read_csv(out / "rankings.csv").set_index("unit_code")
    assert rankings.loc["market_regulation", "composite_score"] == pytest.approx(0.6 * 75 + 0.4 * 100)
    assert rankings.loc["power_supply", "composite_score"] == pytest.approx(0.6 * 50 + 0.4 * 0)
    assert rankings.loc["water_group", "composite_score"] == 100.0
    assert bool(rankings.loc["water_group", "ranked"]) and rankings.loc["water_group", "rank"] == 1
    assert rankings.loc["power_supply", "rank"] == 2
    assert summary["composite_basis"]["indicators_only"] == 1
    with engine.connect() as conn:
        basis = dict(conn.execute(select(t.rankings.c.unit_code, t.rankings.c.composite_basis)).all())
        levels = dict(conn.execute(select(t.indicator_scores.c.unit_code, t.indicator_scores.c.level)).all())
    assert basis["water_group"] == "indicators_only" and basis["market_regulation"] == "both"
    assert levels == {"market_regulation": "leading", "power_supply": "lagging", "water_group": "leading"}
