"""load-survey → evaluate on SQLite and PostgreSQL, through the CLI as evaluators and ops use it."""

from typing import NotRequired, get_origin, get_type_hints

import pandas as pd
import pytest
from sqlalchemy import func, select

from bizenv.evaluation.summary import EvaluationSummary, PeriodValidationSummary
from bizenv.warehouse import tables as t
from tests.builders import LABELS, load_rows, run_cli, survey_row, unit_sample, write_survey


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def declared_keys(summary_type):
    """A summary TypedDict's required and optional keys (from its hints: its module postpones
    annotations, so `__optional_keys__` cannot see NotRequired)."""
    hints = get_type_hints(summary_type, include_extras=True)
    optional = {k for k, v in hints.items() if get_origin(v) is NotRequired}
    return set(hints) - optional, optional


@pytest.fixture
def two_unit_batch(tmp_path):
    rows = unit_sample("市发改委", 40, "满意") + unit_sample("税务局", 35, "一般", start=100)
    rows += [survey_row(respondent=500, unit="市教育局"), survey_row(respondent=501, **{LABELS[0]: "很好"})]
    return write_survey(tmp_path / "batch1.csv", rows, "gb18030")


def test_load_accounts_for_every_row_and_a_reload_is_a_no_op(engine, warehouse_url, two_unit_batch, capsys):
    code, summary, _ = run_cli(
        capsys, "load-survey", str(two_unit_batch), "--period", "2026H1", "--db", warehouse_url
    )
    assert code == 0
    assert (summary["rows_in"], summary["accepted"], summary["quarantined"]) == (77, 75, 2)
    assert summary["reasons"] == {"off_scale": 1, "unknown_unit": 1}
    assert summary["duplicate_batch"] is False
    assert count(engine, t.survey_responses) == 75
    assert count(engine, t.response_items) == 750
    assert count(engine, t.quarantined_rows) == 2

    code, again, _ = run_cli(
        capsys, "load-survey", str(two_unit_batch), "--period", "2026H1", "--db", warehouse_url
    )
    assert code == 0 and again["duplicate_batch"] is True and again["batch_id"] == summary["batch_id"]
    assert count(engine, t.survey_responses) == 75
    assert count(engine, t.quarantined_rows) == 2


def test_evaluate_scores_ranks_and_writes_the_contract_csv(
    engine, warehouse_url, two_unit_batch, tmp_path, capsys
):
    run_cli(capsys, "load-survey", str(two_unit_batch), "--period", "2026H1", "--db", warehouse_url)
    out = tmp_path / "out"
    code, summary, _ = run_cli(
        capsys, "evaluate", "--period", "2026H1", "--out", str(out), "--db", warehouse_url
    )
    assert code == 0
    assert summary["units"] == 35 and summary["ranked"] == 2
    required, optional = declared_keys(EvaluationSummary)
    assert required <= summary.keys() <= required | optional

    rankings = pd.read_csv(out / "rankings.csv")
    assert list(rankings.columns) == [
        "period", "group", "unit_code", "unit_name", "n_respondents", "satisfaction_index",
        "satisfaction_ci_low", "satisfaction_ci_high", "indicator_score", "composite_score",
        "rank", "rank_ci_low", "rank_ci_high", "ranked",
    ]  # fmt: skip
    by_unit = rankings.set_index("unit_code")
    assert by_unit.loc["ndrc", "satisfaction_index"] == 75.0  # all 满意: (4-1)/4*100
    assert by_unit.loc["tax", "satisfaction_index"] == 50.0  # all 一般
    assert by_unit.loc["ndrc", "n_respondents"] == 40
    assert by_unit.loc["ndrc", "rank"] == 1 and bool(by_unit.loc["ndrc", "ranked"])
    assert not by_unit.loc["finance", "ranked"] and pd.isna(by_unit.loc["finance", "rank"])
    flags = pd.read_csv(out / "flags.csv")
    assert list(flags.columns) == ["period", "unit_code", "unit_name", "flag", "reason"]
    assert set(flags.loc[flags["flag"] == "INSUFFICIENT_SAMPLE", "unit_code"]) >= {"finance"}


def test_validate_period_returns_the_keys_its_type_declares(engine, warehouse_url, two_unit_batch, capsys):
    from bizenv.evaluate import validate_period

    run_cli(capsys, "load-survey", str(two_unit_batch), "--period", "2026H1", "--db", warehouse_url)
    summary = validate_period(engine, "2026H1")
    required, optional = declared_keys(PeriodValidationSummary)
    assert summary.keys() == required and not optional
    assert (summary["period"], summary["responses"], summary["failed"]) == ("2026H1", 75, 0)


def test_evaluate_twice_replaces_the_period_rows(engine, warehouse_url, two_unit_batch, capsys):
    run_cli(capsys, "load-survey", str(two_unit_batch), "--period", "2026H1", "--db", warehouse_url)
    run_cli(capsys, "evaluate", "--period", "2026H1", "--db", warehouse_url)
    first = (count(engine, t.rankings), count(engine, t.unit_scores), count(engine, t.flags))
    run_cli(capsys, "evaluate", "--period", "2026H1", "--db", warehouse_url)
    assert (count(engine, t.rankings), count(engine, t.unit_scores), count(engine, t.flags)) == first
    assert first[0] == 35


def test_a_later_batch_supersedes_an_earlier_submission(engine, warehouse_url, tmp_path, capsys):
    early = write_survey(
        tmp_path / "a.csv", [survey_row(respondent=1, submitted_at="2026-05-01T08:00:00", answers="一般")]
    )
    late = write_survey(
        tmp_path / "b.csv", [survey_row(respondent=1, submitted_at="2026-05-09T08:00:00", answers="满意")]
    )
    stale = write_survey(tmp_path / "c.csv", [survey_row(respondent=1, submitted_at="2026-04-01T08:00:00")])
    run_cli(capsys, "load-survey", str(early), "--period", "2026H1", "--db", warehouse_url)
    _, second, _ = run_cli(capsys, "load-survey", str(late), "--period", "2026H1", "--db", warehouse_url)
    assert second["accepted"] == 1 and second["superseded_earlier"] == 1
    _, third, _ = run_cli(capsys, "load-survey", str(stale), "--period", "2026H1", "--db", warehouse_url)
    assert (third["accepted"], third["quarantined"], third["reasons"]) == (0, 1, {"duplicate": 1})

    with engine.connect() as conn:
        batches = {
            r.file_name: (r.rows_in, r.accepted, r.quarantined)
            for r in conn.execute(select(t.survey_batches))
        }
        scores = conn.execute(select(t.response_items.c.score)).scalars().all()
    assert batches == {"a.csv": (1, 0, 1), "b.csv": (1, 1, 0), "c.csv": (1, 0, 1)}
    assert set(scores) == {4.0}
    assert count(engine, t.quarantined_rows) == 2


def test_a_batch_over_the_quarantine_gate_is_refused_with_exit_1(engine, warehouse_url, tmp_path, capsys):
    rows = unit_sample("市发改委", 6, "满意") + [
        survey_row(respondent=50 + i, unit="不存在的局") for i in range(4)
    ]
    path = write_survey(tmp_path / "bad.csv", rows)
    code, summary, _ = run_cli(capsys, "load-survey", str(path), "--period", "2026H1", "--db", warehouse_url)
    assert code == 1
    assert summary["status"] == "refused" and "refused" in summary["message"]
    assert (summary["accepted"], summary["quarantined"]) == (0, 10)
    assert count(engine, t.survey_responses) == 0
    assert count(engine, t.quarantined_rows) == 10


def test_unusable_input_gives_exit_2_and_one_line(engine, warehouse_url, tmp_path, capsys):
    path = tmp_path / "wrong.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    code, summary, err = run_cli(
        capsys, "load-survey", str(path), "--period", "2026H1", "--db", warehouse_url
    )
    assert code == 2 and summary["status"] == "error" and summary["exit_code"] == 2
    assert err.count("\n") == 1 and "wrong.csv" in err and "row 1" in err and "Traceback" not in err
    assert count(engine, t.survey_batches) == 0


def test_evaluate_without_data_is_a_clear_error(engine, warehouse_url, capsys):
    code, _, err = run_cli(capsys, "evaluate", "--period", "2026H1", "--db", warehouse_url)
    assert code == 2 and "no accepted survey responses and no department metrics for period 2026H1" in err


def test_a_gbk_wenjuanxing_export_loads_with_per_unit_per_item_scores(
    engine, warehouse_url, tmp_path, capsys
):
    from tests.builders import wenjuanxing_export, write_frame

    answers = ["非常满意", "满意", "一般", "不满意", "非常不满意", "满意", "满意", "不了解", "一般", "(跳过)"]
    rows = [
        survey_row(1, "市发改委", answers),
        survey_row(1, "鄂州海关", "一般"),
        survey_row(2, "鄂州海关", "满意"),
    ]
    path = write_frame(
        tmp_path / "wjx.csv", wenjuanxing_export(rows, ["鄂州海关", "市发改委"], first_number=9), "gbk"
    )
    code, summary, _ = run_cli(capsys, "load-survey", str(path), "--period", "2026H1", "--db", warehouse_url)
    assert code == 0
    assert (summary["format"], summary["file_rows"], summary["rows_in"], summary["accepted"]) == (
        "wenjuanxing-csv",
        2,
        3,
        3,
    )

    r, items = t.survey_responses, t.response_items
    with engine.connect() as conn:
        stored = conn.execute(
            select(r.c.unit_code, items.c.item_code, items.c.answer, items.c.score)
            .join(items, items.c.response_id == r.c.response_id)
            .order_by(r.c.unit_code, items.c.item_code)
        ).all()
    ndrc = {code: (answer, score) for unit, code, answer, score in stored if unit == "ndrc"}
    assert ndrc["attitude_warmth"] == ("非常满意", 5.0)
    assert ndrc["efficiency_trips"] == ("不满意", 2.0)
    assert ndrc["integrity_no_buck_passing"] == ("不了解", None)
    assert ndrc["transparency_progress"] == ("(跳过)", None)
    customs = [score for unit, _, _, score in stored if unit == "customs"]
    assert sorted(customs) == [3.0] * 10 + [4.0] * 10


def test_a_refused_batch_never_displaces_earlier_accepted_answers(engine, warehouse_url, tmp_path, capsys):
    early = [survey_row(respondent=i, submitted_at="2026-05-01T08:00:00") for i in range(10)]
    later = [survey_row(respondent=i, submitted_at="2026-05-09T08:00:00") for i in range(10)]
    later += [survey_row(respondent=50 + i, unit="不存在的局") for i in range(5)]
    load_rows(capsys, tmp_path / "a.csv", early, warehouse_url)
    code, refused, _ = load_rows(capsys, tmp_path / "b.csv", later, warehouse_url)
    assert code == 1 and refused["status"] == "refused"
    assert count(engine, t.survey_responses) == 10


def test_a_cumulative_re_export_is_accepted_and_adds_only_the_new_answers(
    engine, warehouse_url, tmp_path, capsys
):
    first = [survey_row(respondent=i) for i in range(10)]
    cumulative = first + [survey_row(respondent=100 + i) for i in range(5)]
    load_rows(capsys, tmp_path / "a.csv", first, warehouse_url)
    code, summary, _ = load_rows(capsys, tmp_path / "c.csv", cumulative, warehouse_url)
    assert code == 0 and summary["status"] == "accepted"
    assert (summary["accepted"], summary["quarantined"], summary["reasons"]) == (5, 10, {"duplicate": 10})
    assert count(engine, t.survey_responses) == 15


def test_the_same_file_cannot_be_loaded_for_a_second_period(engine, warehouse_url, two_unit_batch, capsys):
    run_cli(capsys, "load-survey", str(two_unit_batch), "--period", "2026H1", "--db", warehouse_url)
    code, summary, err = run_cli(
        capsys, "load-survey", str(two_unit_batch), "--period", "2026H2", "--db", warehouse_url
    )
    assert code == 2 and "already loaded for period 2026H1" in err


def test_long_free_text_and_odd_line_separators_load_on_every_database(
    engine, warehouse_url, tmp_path, capsys
):
    rows = [survey_row(respondent=i) for i in range(9)]
    rows[0]["industry"] = "制" * 500
    rows.append(survey_row(respondent=99, unit="市教育局", comment="办事慢\u2028希望改进"))
    code, summary, err = load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)
    assert code == 0, err
    assert (summary["accepted"], summary["quarantined"]) == (9, 1)


def test_weighted_index_matches_raked_weights_computed_independently(engine, warehouse_url, tmp_path, capsys):
    import numpy as np

    rows = []
    for i in range(60):
        size = "小型" if i < 40 else "中型"
        answer = "满意" if size == "小型" else "一般"
        rows += [survey_row(respondent=i, unit="市发改委", answers=answer, enterprise_size=size)]
    load_rows(capsys, tmp_path / "s.csv", rows, warehouse_url)
    margins = tmp_path / "margins.csv"
    margins.write_text(
        "attribute,category,population\n企业规模,小型,500\n企业规模,中型,1500\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    code, summary, err = run_cli(
        capsys,
        "evaluate",
        "--period",
        "2026H1",
        "--margins",
        str(margins),
        "--out",
        str(out),
        "--db",
        warehouse_url,
    )
    assert code == 0, err
    assert summary["weighting"]["method"] == "raking" and summary["weighting"]["respondents"] == 60
    # One attribute: raking is post-stratification. Small firms 40 → 500, medium 20 → 1500.
    w = np.array([500 / 40] * 40 + [1500 / 20] * 20)
    y = np.array([75.0] * 40 + [50.0] * 20)
    mean = np.average(y, weights=w)
    rankings = pd.read_csv(out / "rankings.csv").set_index("unit_code")
    assert rankings.loc["ndrc", "satisfaction_index"] == pytest.approx(mean, abs=0.005)
    n_eff = w.sum() ** 2 / (w**2).sum()
    with engine.connect() as conn:
        stored = conn.execute(
            select(t.unit_scores.c.n_effective).where(
                t.unit_scores.c.unit_code == "ndrc", t.unit_scores.c.dimension == "overall"
            )
        ).scalar_one()
    assert stored == pytest.approx(n_eff)
