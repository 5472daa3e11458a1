"""`bizenv problems derive` on SQLite and PostgreSQL: a small period loaded and evaluated through
the command itself, its problems derived, derived again (nothing changes), a dry run (nothing
written), the next period's same complaints counted as recurrences, and a period not evaluated
refused."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import func, select

from bizenv.rectification.register import read_problems
from bizenv.schemas import load_policy
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import make_engine
from tests.builders import LABELS, load_rows, run_cli, survey_row

POLICY = load_policy()
RULES = POLICY.rectification.derive
N = POLICY.min_respondents  # every unit of the fixture is ranked and its item scores count
SLOW = "审批太慢，等了两个多月，联系人张三 13812345678"
PRAISE = "工作人员态度很好，点赞"
SUBMITTED = {"2025H2": "2025-11-10T10:00:00", "2026H1": "2026-05-10T10:00:00"}


def period_rows(period: str) -> list[dict]:
    """ndrc: 办理时限 不满意 (25 of 100, every other item 满意) and a complaint about slow
    approvals from more enterprises than the policy's minimum, besides as many compliments;
    tax: all 满意, and fewer complaints about trips than the minimum."""
    low_time_limit = ["不满意" if label == "办理时限" else "满意" for label in LABELS]
    rows = []
    for i in range(N):
        ndrc_comment = (
            SLOW if i < RULES.min_comments + 1 else PRAISE if i < 2 * RULES.min_comments + 2 else ""
        )
        tax_comment = "跑了好几趟才办成" if i < RULES.min_comments - 1 else ""
        rows.append(
            survey_row(i, "市发改委", low_time_limit, comment=ndrc_comment, submitted_at=SUBMITTED[period])
        )
        rows.append(survey_row(i, "税务局", "满意", comment=tax_comment, submitted_at=SUBMITTED[period]))
    return rows


def load_and_evaluate(capsys, tmp_path, url: str, period: str, evaluate: bool = True) -> None:
    code, summary, err = load_rows(
        capsys, tmp_path / f"survey_{period}.csv", period_rows(period), url, period
    )
    assert code == 0, err
    assert summary is not None and summary["status"] == "accepted"
    if evaluate:
        code, summary, err = run_cli(capsys, "evaluate", "--period", period, "--db", url)
        assert code == 0, err


def derive(capsys, url: str, period: str, *options: str) -> tuple[int, dict, str, list[str]]:
    from bizenv.cli import main

    code = main(["problems", "derive", "--period", period, *options, "--db", url])
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    return code, json.loads(lines[-1]), err, lines[:-1]


def register(url: str) -> tuple[pd.DataFrame, int]:
    """The problems and how many history rows there are."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            problems = read_problems(conn).set_index("problem_id")
            rows = conn.execute(select(func.count()).select_from(t.problem_history)).scalar_one()
    finally:
        engine.dispose()
    return problems, int(rows)


@pytest.fixture
def evaluated(engine, warehouse_url, tmp_path, capsys, monkeypatch) -> str:
    """2025H2 loaded and evaluated, the register empty."""
    monkeypatch.setenv("BIZENV_ACTOR", "督查科")
    load_and_evaluate(capsys, tmp_path, warehouse_url, "2025H2")
    return warehouse_url


def test_derive_registers_the_periods_problems_and_a_second_run_changes_nothing(evaluated, capsys):
    code, dry, err, lines = derive(capsys, evaluated, "2025H2", "--dry-run")
    assert code == 0, err
    written, history = register(evaluated)
    assert written.empty and history == 0
    assert dry["dry_run"] is True and dry["created"] == dry["proposed"] == 2
    assert lines[:2] == [
        "P2025H2-0001\tcreated\tndrc\tcomment\t审批时限\t"
        f"企业意见反映「审批时限」方面的问题 {RULES.min_comments + 1} 条",
        "P2025H2-0002\tcreated\tndrc\tlow_score\t办理时限\t"
        f"「办理时限」得分 25.0 分，低于 {RULES.low_score_below:g} 分（同组中位数 25.0 分，{N} 家企业评价）",
    ]
    assert lines[2:] == [
        "comment: 1 proposed: 1 new, 0 recurring, 0 already registered (dry run: nothing written)",
        "low_score: 1 proposed: 1 new, 0 recurring, 0 already registered (dry run: nothing written)",
        "flag: 0 proposed: 0 new, 0 recurring, 0 already registered (dry run: nothing written)",
    ]

    code, summary, err, lines = derive(capsys, evaluated, "2025H2")
    assert code == 0, err
    assert summary == {
        "period": "2025H2",
        "dry_run": False,
        "proposed": 2,
        "created": 2,
        "recurring": 0,
        "unchanged": 0,
        "by_source": {"comment": 1, "low_score": 1, "flag": 0},
        "problem_ids": ["P2025H2-0001", "P2025H2-0002"],
        "status": "ok",
    }
    assert lines[0] == "comment: 1 proposed: 1 new, 0 recurring, 0 already registered"
    problems, history = register(evaluated)
    comment, low = problems.loc["P2025H2-0001"], problems.loc["P2025H2-0002"]
    assert (comment["unit_code"], comment["source"], comment["theme"], comment["kind"]) == (
        "ndrc",
        "comment",
        "审批时限",
        RULES.kinds["comment"],
    )
    evidence = json.loads(comment["evidence"])
    # The compliments (态度很好) are no complaint about attitude; tax's trips are too few.
    assert evidence["comments"] == RULES.min_comments + 1
    assert evidence["quotes"] == ["审批太慢，等了两个多月，联系人[姓名] [电话]"]
    assert (low["theme"], json.loads(low["evidence"])["score"], low["status"]) == ("办理时限", 25.0, "open")
    assert set(problems["unit_code"]) == {"ndrc"}

    engine = make_engine(evaluated)
    with engine.connect() as conn:
        h = t.problem_history
        who = set(conn.execute(select(h.c.actor, h.c.via)).all())
    engine.dispose()
    assert who == {("督查科", "bizenv problems derive")}

    code, again, err, lines = derive(capsys, evaluated, "2025H2")
    assert code == 0, err
    assert (again["created"], again["recurring"], again["unchanged"]) == (0, 0, 2)
    assert again["problem_ids"] == summary["problem_ids"]
    assert lines[0] == "comment: 1 proposed: 0 new, 0 recurring, 1 already registered"
    after, history_after = register(evaluated)
    pd.testing.assert_frame_equal(after, problems)
    assert history_after == history


def test_the_next_periods_same_problems_are_recurrences_not_new_problems(evaluated, tmp_path, capsys):
    assert derive(capsys, evaluated, "2025H2")[0] == 0
    before, _ = register(evaluated)
    load_and_evaluate(capsys, tmp_path, evaluated, "2026H1")

    code, dry, err, _ = derive(capsys, evaluated, "2026H1", "--dry-run")
    assert code == 0, err
    assert (dry["created"], dry["recurring"]) == (0, 2)
    pd.testing.assert_frame_equal(register(evaluated)[0], before)

    code, summary, err, lines = derive(capsys, evaluated, "2026H1")
    assert code == 0, err
    assert (summary["proposed"], summary["created"], summary["recurring"], summary["unchanged"]) == (
        2,
        0,
        2,
        0,
    )
    assert summary["problem_ids"] == ["P2025H2-0001", "P2025H2-0002"]
    assert lines[1] == "low_score: 1 proposed: 0 new, 1 recurring, 0 already registered"
    after, _ = register(evaluated)
    assert list(after.index) == ["P2025H2-0001", "P2025H2-0002"]
    assert after["recurrence_count"].tolist() == [1, 1]
    assert after["last_seen_period"].tolist() == ["2026H1", "2026H1"]

    code, again, err, _ = derive(capsys, evaluated, "2026H1")
    assert (code, again["recurring"], again["unchanged"]) == (0, 0, 2)
    assert register(evaluated)[0]["recurrence_count"].tolist() == [1, 1]


def test_a_period_not_evaluated_is_refused_in_one_line(evaluated, tmp_path, capsys):
    load_and_evaluate(capsys, tmp_path, evaluated, "2026H1", evaluate=False)
    for options in ((), ("--dry-run",)):
        code, summary, err, _ = derive(capsys, evaluated, "2026H1", *options)
        assert code == 2
        assert err == (
            "bizenv: error: period 2026H1 has not been evaluated (no rankings in the warehouse): "
            "run `bizenv evaluate --period 2026H1` first\n"
        )
        assert summary == {
            "status": "error",
            "exit_code": 2,
            "message": err.removeprefix("bizenv: error: ").strip(),
        }
    assert register(evaluated)[1] == 0
    code, summary, err, _ = derive(capsys, evaluated, "2026Q1")
    assert code == 2 and "not a half-year label" in err
