"""The metrics inbox: the survey inbox's steps for department-metric files, in their own folders."""

import os
import time

import pandas as pd
import pytest
from sqlalchemy import select

from bizenv.ingest.inbox import Landing, process_file, waiting_files
from bizenv.warehouse import tables as t
from tests.builders import unit_sample, write_survey

GOOD = [
    ("供电公司", "electricity_connection_days", "12", "国网统计"),
    ("行政审批局", "online_service_rate", "95.5%", "政务服务网"),
]


@pytest.fixture
def landing(tmp_path):
    return Landing(tmp_path / "landing", "metrics")


def drop_metrics(landing: Landing, period: str, name: str, rows) -> str:
    folder = landing.inbox / period
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    pd.DataFrame(rows, columns=["unit", "indicator", "value", "source"]).to_csv(path, index=False)
    old = time.time() - 3600
    os.utime(path, (old, old))
    return str(path)


def test_metrics_inbox_lives_under_metrics_beside_the_survey_inbox(tmp_path):
    assert Landing(tmp_path, "metrics").inbox == tmp_path / "metrics" / "inbox"
    assert Landing(tmp_path).inbox == tmp_path / "inbox"


def test_an_unknown_kind_of_inbox_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no inbox for 'budget'"):
        Landing(tmp_path, "budget")


def test_a_good_metrics_file_is_loaded_as_a_metrics_batch_and_archived(engine, landing):
    drop_metrics(landing, "2026H1", "agency.csv", GOOD)
    (item,) = waiting_files(landing, min_age_seconds=60)

    summary = process_file(engine, landing, item["path"], item["period"])

    assert summary["status"] == "accepted" and summary["accepted"] == 2
    archived = [p.name for p in (landing.root / "metrics" / "archive" / "2026H1").iterdir()]
    assert archived == [f"agency.{summary['batch_id'][:12]}.csv"]
    with engine.connect() as conn:
        assert conn.execute(select(t.metric_batches.c.file_name)).scalars().all() == ["agency.csv"]
        assert conn.execute(select(t.survey_batches.c.batch_id)).scalars().all() == []
    assert not (landing.root / "archive").exists()


def test_a_refused_metrics_file_is_rejected_with_every_faulty_row_listed(engine, landing):
    bad = [("税务局", "no_such_indicator", "3", ""), ("无此单位", "online_service_rate", "90", "")]
    path = drop_metrics(landing, "2026H1", "bad.csv", bad + GOOD[:1])

    summary = process_file(engine, landing, path, "2026H1")

    assert summary["status"] == "refused"
    errors = pd.read_csv(summary["errors"], encoding="utf-8-sig")
    assert errors["file_row"].tolist() == [2, 3, 4]
    assert errors["reasons"].tolist()[:2] == ["unknown_indicator", "unknown_unit"]
    assert errors["reasons"].iloc[2].startswith("batch_refused")
    assert summary["moved_to"].startswith(str(landing.root / "metrics" / "rejected" / "2026H1"))


def test_each_inbox_sees_only_its_own_files(engine, tmp_path):
    surveys, metrics = Landing(tmp_path), Landing(tmp_path, "metrics")
    drop_metrics(metrics, "2026H1", "agency.csv", GOOD)
    (surveys.inbox / "2026H1").mkdir(parents=True)
    survey = write_survey(surveys.inbox / "2026H1" / "batch.csv", unit_sample("市发改委", 3, "满意"))
    old = time.time() - 3600
    os.utime(survey, (old, old))

    assert [item["path"] for item in waiting_files(surveys)] == [str(survey)]
    assert [item["path"] for item in waiting_files(metrics)] == [str(metrics.inbox / "2026H1" / "agency.csv")]


def test_a_survey_file_in_the_metrics_inbox_is_rejected_naming_the_header(engine, tmp_path):
    metrics = Landing(tmp_path, "metrics")
    (metrics.inbox / "2026H1").mkdir(parents=True)
    path = write_survey(metrics.inbox / "2026H1" / "survey.csv", unit_sample("市发改委", 3, "满意"))

    summary = process_file(engine, metrics, path, "2026H1")

    assert summary["status"] == "rejected"
    assert "header must be unit, indicator, value" in summary["message"]
    assert (tmp_path / "metrics" / "rejected" / "2026H1").is_dir()
