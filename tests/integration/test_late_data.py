"""Batches accepted after their period was evaluated: found in the warehouse, then the period is
evaluated again or people are told, as `late_data.action` says, and only once."""

import json

import pandas as pd
import pytest
from sqlalchemy import func, select

from bizenv.evaluate import evaluate_period
from bizenv.late_data import refresh_stale_periods, stale_periods
from bizenv.warehouse import tables as t
from tests.builders import load_rows, run_cli, unit_sample


@pytest.fixture
def evaluated(engine, warehouse_url, tmp_path, capsys):
    rows = unit_sample("市发改委", 30, "满意") + unit_sample("税务局", 30, "一般", start=100)
    assert load_rows(capsys, tmp_path / "s1.csv", rows, warehouse_url)[0] == 0
    evaluate_period(engine, "2026H1", tmp_path / "published")
    return engine


def stale(engine):
    with engine.connect() as conn:
        return stale_periods(conn)


def evaluations(engine) -> int:
    r = t.pipeline_runs
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(r.c.command == "evaluate")).scalar_one()


class Outbox:
    def __init__(self):
        self.sent = []

    def __call__(self, subject, text):
        self.sent.append((subject, text))
        return ["test"]


def load_late(capsys, warehouse_url, tmp_path):
    late = unit_sample("市发改委", 5, "非常不满意", start=500)
    assert load_rows(capsys, tmp_path / "late.csv", late, warehouse_url)[0] == 0


def never_called(period):
    raise AssertionError(f"no default folder needed for {period}")


def test_batches_of_a_period_never_evaluated_are_not_late(engine, warehouse_url, tmp_path, capsys):
    assert load_rows(capsys, tmp_path / "s.csv", unit_sample("市发改委", 30, "满意"), warehouse_url)[0] == 0
    assert stale(engine) == []


def test_a_survey_batch_accepted_after_the_evaluation_makes_its_period_stale(
    evaluated, warehouse_url, tmp_path, capsys
):
    assert stale(evaluated) == []
    load_late(capsys, warehouse_url, tmp_path)
    [period] = stale(evaluated)
    assert (period.period, period.survey_batches, period.metrics_batches) == ("2026H1", 1, 0)
    assert period.out_dir == (tmp_path / "published").resolve()


def test_a_late_metrics_batch_counts_too(evaluated, warehouse_url, tmp_path, capsys):
    path = tmp_path / "m.csv"
    pd.DataFrame(
        [("供电公司", "electricity_connection_days", "12", "国网统计")],
        columns=["unit", "indicator", "value", "source"],
    ).to_csv(path, index=False)
    assert run_cli(capsys, "load-metrics", str(path), "--period", "2026H1", "--db", warehouse_url)[0] == 0
    [period] = stale(evaluated)
    assert (period.survey_batches, period.metrics_batches) == (0, 1)
    assert "1 metrics batch(es) accepted after the last evaluation" in period.describe()


def test_alert_policy_tells_people_once_per_check_and_evaluates_nothing(
    evaluated, warehouse_url, tmp_path, capsys
):
    load_late(capsys, warehouse_url, tmp_path)
    outbox = Outbox()

    done = refresh_stale_periods(evaluated, "alert", never_called, outbox)

    assert [entry["action"] for entry in done] == ["alerted"]
    [(subject, text)] = outbox.sent
    assert subject == "bizenv: 1 period(s) evaluated before their latest batches"
    assert text.startswith("2026H1: 1 survey batch(es) accepted after the last evaluation")
    assert evaluations(evaluated) == 1
    assert len(stale(evaluated)) == 1  # still stale: only people can clear it


def test_re_evaluate_policy_publishes_the_period_again_where_it_was_published(
    evaluated, warehouse_url, tmp_path, capsys
):
    before = pd.read_csv(tmp_path / "published" / "rankings.csv")
    load_late(capsys, warehouse_url, tmp_path)
    outbox = Outbox()

    done = refresh_stale_periods(evaluated, "re_evaluate", never_called, outbox)

    assert [(entry["period"], entry["action"]) for entry in done] == [("2026H1", "re_evaluated")]
    assert outbox.sent == []
    assert stale(evaluated) == []
    after = pd.read_csv(tmp_path / "published" / "rankings.csv")
    ndrc = lambda frame: frame.loc[frame["unit_name"] == "市发改委"].iloc[0]  # noqa: E731
    assert ndrc(after)["n_respondents"] == ndrc(before)["n_respondents"] + 5
    manifest = json.loads((tmp_path / "published" / "manifest.json").read_text(encoding="utf-8"))
    r = t.pipeline_runs
    with evaluated.connect() as conn:
        latest = conn.execute(select(func.max(r.c.id)).where(r.c.command == "evaluate")).scalar_one()
    assert manifest["run_id"] == latest and evaluations(evaluated) == 2
    # A second check finds nothing left to do.
    assert refresh_stale_periods(evaluated, "re_evaluate", never_called, outbox) == []
    assert evaluations(evaluated) == 2


def test_status_check_names_the_stale_period(evaluated, warehouse_url, tmp_path, capsys):
    load_late(capsys, warehouse_url, tmp_path)
    code, status, _ = run_cli(capsys, "status", "--check", "--db", warehouse_url)
    assert code == 1
    assert any(
        line.startswith("2026H1: 1 survey batch(es) accepted after the last evaluation")
        for line in status["attention"]
    )
