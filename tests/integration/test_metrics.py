import shutil

import pandas as pd
import pytest
import yaml
from sqlalchemy import func, select

from bizenv.config import schemas_dir
from bizenv.warehouse import tables as t
from tests.builders import load_rows, run_cli, unit_sample


def write_metrics(path, rows):
    pd.DataFrame(rows, columns=["unit", "indicator", "value", "source"]).to_csv(
        path, index=False, encoding="gb18030"
    )
    return path


def load_metrics_rows(capsys, path, rows, db, period="2026H1"):
    """Write `rows` (unit, indicator, value, source) as a metrics file and load it."""
    return run_cli(capsys, "load-metrics", str(write_metrics(path, rows)), "--period", period, "--db", db)


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
    engine, warehouse_url, tmp_path, monkeypatch, capsys
):
    # The weights' arithmetic end to end, on the raw 0-100 parts: under the default z-score
    # normalisation every unit here would be alone in its group with a part (z = 0, shown as 50),
    # which tests nothing. Normalisation itself is tested in tests/unit/ranking/test_composite.py.
    schemas = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), schemas)
    policy = yaml.safe_load((schemas / "policy.yaml").read_text(encoding="utf-8"))
    policy["composite"]["normalisation"] = "none"
    (schemas / "policy.yaml").write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("BIZENV_SCHEMAS_DIR", str(schemas))
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


def short_of_units(units: int, period: str = "2026H1") -> str:
    return (
        f"indicator complaint_resolution_rate has no catalogue frontier and only {units} reporting unit(s) in "
        f"{period} (5 needed): it will not be scored"
    )


def test_an_indicator_without_catalogue_frontier_and_too_few_units_is_warned_about(
    engine, warehouse_url, tmp_path, capsys
):
    # complaint_resolution_rate has no catalogue frontier; the policy wants 5 reporting units.
    code, summary, _ = load_metrics_rows(
        capsys,
        tmp_path / "a.csv",
        [
            ("市发改委", "complaint_resolution_rate", "96", ""),
            ("经信局", "complaint_resolution_rate", "92", ""),
            ("税务局", "tax_payment_hours", "70", ""),  # catalogue frontier: no warning however few
        ],
        warehouse_url,
    )
    assert code == 0 and summary["status"] == "accepted"
    assert summary["warnings"] == [short_of_units(2)]
    # Units report in separate batches: the count is the period's, not the batch's. 4 is still short.
    _, summary, _ = load_metrics_rows(
        capsys,
        tmp_path / "b.csv",
        [
            ("商务局", "complaint_resolution_rate", "99", ""),
            ("市场监管局", "complaint_resolution_rate", "90", ""),
        ],
        warehouse_url,
    )
    assert summary["warnings"] == [short_of_units(4)]
    # Another period is counted on its own (a different file: the same one would be a re-load).
    _, other, _ = load_metrics_rows(
        capsys,
        tmp_path / "h2.csv",
        [("经信局", "complaint_resolution_rate", "91", "")],
        warehouse_url,
        "2025H2",
    )
    assert other["warnings"] == [short_of_units(1, "2025H2")]
    # The fifth unit reaches the minimum: no warning.
    _, summary, _ = load_metrics_rows(
        capsys, tmp_path / "c.csv", [("城管委", "complaint_resolution_rate", "85", "")], warehouse_url
    )
    assert summary["status"] == "accepted" and "warnings" not in summary


def test_an_indicator_short_of_units_is_kept_but_not_scored_by_evaluation(
    engine, warehouse_url, tmp_path, capsys
):
    load_metrics_rows(
        capsys,
        tmp_path / "m.csv",
        [
            ("市发改委", "complaint_resolution_rate", "96", ""),
            ("市场监管局", "complaint_resolution_rate", "90", ""),
            ("市场监管局", "business_startup_days", "0.5", ""),  # catalogue frontier best: 100
        ],
        warehouse_url,
    )
    code, _, _ = run_cli(
        capsys, "evaluate", "--period", "2026H1", "--out", str(tmp_path / "out"), "--db", warehouse_url
    )
    assert code == 0
    with engine.connect() as conn:
        rows = {
            (r.unit_code, r.indicator): (r.frontier_source, r.frontier_score, r.level)
            for r in conn.execute(select(t.indicator_scores))
        }
    assert rows == {
        ("ndrc", "complaint_resolution_rate"): ("insufficient_units", None, "advanced"),
        ("market_regulation", "complaint_resolution_rate"): ("insufficient_units", None, "lagging"),
        ("market_regulation", "business_startup_days"): ("catalogue", 100.0, "leading"),
    }
    rankings = pd.read_csv(tmp_path / "out" / "rankings.csv").set_index("unit_code")
    # market_regulation's indicator score is its one scored indicator; ndrc has none.
    assert rankings.loc["market_regulation", "indicator_score"] == 100.0
    assert pd.isna(rankings.loc["ndrc", "indicator_score"])
