"""Problems proposed from a period's results, on small frames built here: which comments, item
scores and flags become proposals, with what evidence, kind and co-units, and the policy
section that decides it."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from pydantic import ValidationError

from bizenv.errors import BizenvError
from bizenv.rectification.derive import (
    PROPOSAL_COLUMNS,
    Derived,
    PeriodEvidence,
    check_rules,
    comment_proposals,
    flag_proposals,
    low_score_proposals,
    propose,
)
from bizenv.report.unit_pages import item_scores
from bizenv.schemas import load_policy, load_questionnaire, load_registry
from bizenv.schemas.loader import load_themes
from bizenv.schemas.models import ProblemDerivation, Rectification

POLICY = load_policy()
RULES = POLICY.rectification.derive
THEMES = load_themes()
QUESTIONNAIRE = load_questionnaire()
REGISTRY = load_registry()
PERIOD = "2026H1"


def rules(**change) -> ProblemDerivation:
    return RULES.model_copy(update=change)


def policy(**change):
    derive = rules(**change)
    return POLICY.model_copy(
        update={"rectification": POLICY.rectification.model_copy(update={"derive": derive})}
    )


def comments(*pairs: tuple[str, str | None, int]) -> pd.DataFrame:
    """(unit, comment, how many times) as `period_comments` returns them."""
    rows = [(unit, text) for unit, text, n in pairs for _ in range(n)]
    return pd.DataFrame(rows, columns=["unit_code", "comment"])


# --- comments -------------------------------------------------------------------------------------


def test_a_theme_needs_the_minimum_number_of_comments_and_says_how_many():
    frame = comments(("ndrc", "审批太慢", 3), ("tax", "审批太慢", 2))
    proposals = comment_proposals(frame, PERIOD, rules(min_comments=3), THEMES)
    assert proposals[["unit_code", "source", "theme"]].values.tolist() == [["ndrc", "comment", "审批时限"]]
    row = proposals.iloc[0]
    assert row["description"] == "企业意见反映「审批时限」方面的问题 3 条"
    assert row["evidence"] == {"comments": 3, "quotes": ["审批太慢"], "theme_code": "time_limit"}
    assert (row["period"], row["kind"], row["code"]) == (PERIOD, RULES.kinds["comment"], "time_limit")
    assert list(proposals.columns) == [*PROPOSAL_COLUMNS, "code"]
    assert comment_proposals(frame, PERIOD, rules(min_comments=2), THEMES)["unit_code"].tolist() == [
        "ndrc",
        "tax",
    ]


def test_praise_and_other_never_become_problems_and_praise_counts_for_no_theme():
    frame = comments(
        ("ndrc", "工作人员态度很好，点赞", 6),  # 服务态度 and 表扬: praise
        ("ndrc", "希望园区多种树", 6),  # no theme: other
        ("ndrc", "窗口态度冷漠", 2),  # 服务态度 only
    )
    assert comment_proposals(frame, PERIOD, rules(min_comments=2), THEMES)["theme"].tolist() == ["服务态度"]
    attitude = comment_proposals(frame, PERIOD, rules(min_comments=2), THEMES).iloc[0]
    assert attitude["evidence"]["comments"] == 2
    # Without the praise rule the compliments would be counted as complaints about attitude.
    counted = comment_proposals(frame, PERIOD, rules(min_comments=2, praise_themes=[]), THEMES)
    assert counted.set_index("theme").loc["服务态度", "evidence"]["comments"] == 8


def test_quotes_are_distinct_masked_most_frequent_first_and_capped():
    frame = comments(
        ("ndrc", "审批太慢", 1),
        ("ndrc", "审批周期太长，联系人张三 13812345678", 4),
        ("ndrc", "办理时间太长", 2),
        ("ndrc", "迟迟不办", 1),
    )
    evidence = comment_proposals(frame, PERIOD, rules(min_comments=1, max_quotes=2), THEMES).iloc[0][
        "evidence"
    ]
    assert evidence["comments"] == 8
    assert evidence["quotes"] == ["审批周期太长，联系人[姓名] [电话]", "办理时间太长"]
    assert "13812345678" not in json.dumps(evidence, ensure_ascii=False)
    assert (
        comment_proposals(frame, PERIOD, rules(min_comments=1, max_quotes=0), THEMES).iloc[0]["evidence"][
            "quotes"
        ]
        == []
    )


def test_a_comment_about_two_themes_counts_for_both_and_blank_comments_for_none():
    frame = comments(("tax", "跑了好几趟，审批也太慢", 2), ("tax", "  ", 5), ("tax", None, 5))
    proposals = comment_proposals(frame, PERIOD, rules(min_comments=2), THEMES)
    assert proposals["theme"].tolist() == ["跑动次数", "审批时限"]  # themes.yaml's order
    assert comment_proposals(comments(("tax", " ", 9)), PERIOD, rules(min_comments=1), THEMES).empty


# --- low scores -------------------------------------------------------------------------------------


def rankings(*units: tuple[str, str, int]) -> pd.DataFrame:
    """(unit, group, n_respondents) as the rankings table holds them."""
    return pd.DataFrame(
        [
            {"unit_code": u, "group_code": g, "level": "department", "n_respondents": n}
            | {"rank": i + 1, "satisfaction_index": 70.0}
            for i, (u, g, n) in enumerate(units)
        ]
    )


def items(*rows: tuple[str, str, float, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["unit_code", "item", "score", "n_answered"])


def test_items_below_the_threshold_become_problems_named_by_their_label():
    ranks = rankings(("ndrc", "government", 40), ("tax", "government", 40), ("finance", "government", 40))
    scores = items(
        ("ndrc", "efficiency_time_limit", 59.9, 40),
        ("ndrc", "attitude_warmth", 60.0, 40),  # at the threshold: not below it
        ("tax", "efficiency_time_limit", 70.0, 40),
        ("finance", "efficiency_time_limit", 80.0, 40),
    )
    proposals = low_score_proposals(scores, ranks, PERIOD, policy(low_score_below=60), QUESTIONNAIRE)
    assert proposals[["unit_code", "source", "theme"]].values.tolist() == [["ndrc", "low_score", "办理时限"]]
    row = proposals.iloc[0]
    assert row["evidence"] == {
        "item": "efficiency_time_limit",
        "score": 59.9,
        "group_median": 70.0,
        "threshold": 60.0,
        "n_answered": 40,
        "n_respondents": 40,
    }
    assert row["description"] == "「办理时限」得分 59.9 分，低于 60 分（同组中位数 70.0 分，40 家企业评价）"
    assert row["kind"] == RULES.kinds["low_score"]


def test_a_higher_threshold_proposes_more_items():
    ranks = rankings(("ndrc", "government", 40))
    scores = items(("ndrc", "efficiency_time_limit", 59.9, 40), ("ndrc", "attitude_warmth", 70.0, 40))
    assert len(low_score_proposals(scores, ranks, PERIOD, policy(low_score_below=60), QUESTIONNAIRE)) == 1
    assert len(low_score_proposals(scores, ranks, PERIOD, policy(low_score_below=75), QUESTIONNAIRE)) == 2


def test_items_answered_by_too_few_respondents_are_not_problems():
    assert POLICY.suppression_min < 10 < POLICY.min_respondents
    ranks = rankings(("ndrc", "government", 10), ("tax", "government", POLICY.min_respondents))
    scores = items(
        ("ndrc", "efficiency_time_limit", 20.0, 10),
        ("tax", "efficiency_time_limit", 20.0, POLICY.min_respondents - 1),  # the item's own count
    )
    ranking = low_score_proposals(
        scores, ranks, PERIOD, policy(low_score_min_respondents="ranking"), QUESTIONNAIRE
    )
    assert ranking.empty
    suppression = low_score_proposals(
        scores, ranks, PERIOD, policy(low_score_min_respondents="suppression"), QUESTIONNAIRE
    )
    assert suppression["unit_code"].tolist() == ["ndrc", "tax"]


def test_the_group_median_leaves_out_suppressed_units_and_other_groups():
    ranks = rankings(
        ("ndrc", "government", 40),
        ("tax", "vertical", 40),
        ("finance", "government", POLICY.suppression_min - 1),
    )
    scores = items(
        ("ndrc", "efficiency_time_limit", 50.0, 40),
        ("tax", "efficiency_time_limit", 10.0, 40),
        ("finance", "efficiency_time_limit", 0.0, POLICY.suppression_min - 1),
    )
    proposals = low_score_proposals(scores, ranks, PERIOD, POLICY, QUESTIONNAIRE).set_index("unit_code")
    assert proposals.loc["ndrc", "evidence"]["group_median"] == 50.0
    assert proposals.loc["tax", "evidence"]["group_median"] == 10.0
    assert "finance" not in proposals.index


def test_low_scores_are_the_weighted_item_scores_of_the_unit_pages():
    """Through item_scores: the unit's respondents weighted as the evaluation weighted them."""
    codes = [item.code for item in QUESTIONNAIRE.items()]
    n = POLICY.min_respondents
    responses = pd.DataFrame({c: [5.0] * n + [1.0] * n for c in codes}).assign(unit_code="ndrc")
    ranks = rankings(("ndrc", "government", 2 * n))
    # Equal weights: half 非常满意 (100), half 非常不满意 (0): every item at 50.
    equal = item_scores(responses, pd.Series(1.0, index=responses.index), QUESTIONNAIRE)
    proposals = low_score_proposals(equal, ranks, PERIOD, POLICY, QUESTIONNAIRE)
    assert proposals["theme"].tolist() == [item.label for item in QUESTIONNAIRE.items()]
    assert {e["score"] for e in proposals["evidence"]} == {50.0}
    # The satisfied half weighing three times as much: (3 × 100 + 1 × 0) / 4 = 75, none low.
    weighted = item_scores(responses, pd.Series([3.0] * n + [1.0] * n, index=responses.index), QUESTIONNAIRE)
    assert set(weighted["score"]) == {75.0}
    assert low_score_proposals(weighted, ranks, PERIOD, POLICY, QUESTIONNAIRE).empty


# --- flags ---------------------------------------------------------------------------------------------


def test_only_the_flags_the_policy_lists_become_problems_of_their_kind():
    flags = pd.DataFrame(
        [
            ("ndrc", "REPEATED_BOTTOM_N", "连续2期位列本组后5名"),
            ("ndrc", "BOTTOM_N", "排名后5名"),
            ("tax", "TOP_N", "排名前5名"),
            ("tax", "SIGNIFICANTLY_LOW", "满意度指数低于漏斗图控制下限"),
        ],
        columns=["unit_code", "flag", "reason"],
    )
    ranks = rankings(("ndrc", "government", 40), ("tax", "vertical", 40))
    proposals = flag_proposals(flags, ranks, PERIOD, rules(flags=["REPEATED_BOTTOM_N", "SIGNIFICANTLY_LOW"]))
    assert proposals[["unit_code", "theme", "description", "kind"]].values.tolist() == [
        ["ndrc", "REPEATED_BOTTOM_N", "连续2期位列本组后5名", RULES.kinds["flag"]],
        ["tax", "SIGNIFICANTLY_LOW", "满意度指数低于漏斗图控制下限", RULES.kinds["flag"]],
    ]
    assert proposals.iloc[0]["evidence"] == {
        "flag": "REPEATED_BOTTOM_N",
        "rank": 1,
        "satisfaction_index": 70.0,
        "n_respondents": 40,
    }
    assert len(flag_proposals(flags, ranks, PERIOD, rules(flags=["BOTTOM_N"]))) == 1
    assert flag_proposals(flags, ranks, PERIOD, rules(flags=[])).empty


# --- together --------------------------------------------------------------------------------------------


def evidence(**parts) -> PeriodEvidence:
    empty = {
        "rankings": rankings(("ndrc", "government", 40), ("finance", "government", 40)),
        "items": items(),
        "comments": comments(),
        "flags": pd.DataFrame(columns=["unit_code", "flag", "reason"]),
    }
    return PeriodEvidence(period=PERIOD, **(empty | parts))


def test_co_units_come_from_the_policy_by_theme_or_item_code():
    period = evidence(
        comments=comments(("ndrc", "补贴迟迟不兑现", 5), ("finance", "补贴迟迟不兑现", 5)),
        items=items(("ndrc", "policy_honoured", 30.0, 40), ("ndrc", "attitude_warmth", 30.0, 40)),
    )
    proposals = propose(period, policy(min_comments=5), QUESTIONNAIRE, THEMES, REGISTRY)
    by_key = {(r["unit_code"], r["source"], r["code"]): r["co_units"] for r in proposals.to_dict("records")}
    assert by_key[("ndrc", "comment", "policy")] == ["finance"]
    assert by_key[("ndrc", "comment", "time_limit")] == []
    assert by_key[("ndrc", "low_score", "policy_honoured")] == ["finance"]
    assert by_key[("ndrc", "low_score", "attitude_warmth")] == []
    # finance's own policy complaints name finance; the register drops the lead unit from them.
    assert by_key[("finance", "comment", "policy")] == ["finance"]
    assert proposals["source"].tolist() == ["comment"] * 4 + ["low_score"] * 2


def test_nothing_to_propose_is_an_empty_frame_with_the_columns():
    proposals = propose(evidence(), POLICY, QUESTIONNAIRE, THEMES, REGISTRY)
    assert proposals.empty and list(proposals.columns) == [*PROPOSAL_COLUMNS, "code"]


def test_the_shipped_policy_names_real_themes_items_and_units():
    check_rules(RULES, THEMES, QUESTIONNAIRE, REGISTRY)
    units = {u.code for u in REGISTRY.units}
    assert {c for codes in RULES.co_units.values() for c in codes} <= units
    assert "praise" in RULES.praise_themes
    assert set(RULES.flags) == {"REPEATED_BOTTOM_N", "SIGNIFICANTLY_LOW"}


def test_codes_the_files_do_not_know_are_refused_in_one_message():
    wrong = rules(praise_themes=["kudos"], co_units={"policy": ["treasury"], "weather": ["finance"]})
    with pytest.raises(BizenvError) as refused:
        check_rules(wrong, THEMES, QUESTIONNAIRE, REGISTRY)
    message = str(refused.value)
    assert message.startswith("policy.yaml rectification.derive: ")
    assert "['kudos']" in message and "['treasury']" in message and "['weather']" in message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"kinds": {"comment": "ordinary", "low_score": "ordinary", "flag": "urgent"}},
            "no deadline_days for flag",
        ),
        ({"kinds": {"comment": "ordinary", "flag": "complex"}}, "missing low_score"),
        ({"flags": ["TOP_N"]}, "flags"),
        ({"praise_themes": ["other"]}, "no praise theme"),
        ({"co_units": {"policy": []}}, "name no unit"),
        ({"min_comments": 0}, "min_comments"),
        ({"low_score_below": 0}, "low_score_below"),
        ({"low_score_min_respondents": "some"}, "low_score_min_respondents"),
    ],
)
def test_an_inconsistent_derive_section_is_refused(change, message):
    data = POLICY.rectification.model_dump()
    data["derive"] = data["derive"] | change
    with pytest.raises(ValidationError, match=message):
        Rectification.model_validate(data)


# --- what the command prints ---------------------------------------------------------------------------


def test_lines_and_summary_count_each_source_and_outcome():
    proposals = pd.DataFrame(
        {
            "source": ["comment", "comment", "flag"],
            "outcome": ["created", "recurring", "unchanged"],
            "problem_id": ["P2026H1-0001", "P2025H2-0003", "P2026H1-0002"],
            "unit_code": ["ndrc", "tax", "ndrc"],
            "theme": ["审批时限", "跑动次数", "SIGNIFICANTLY_LOW"],
            "description": ["d1", "d2", "d3"],
        }
    )
    derived = Derived(period=PERIOD, proposals=proposals, dry_run=False)
    assert derived.lines() == [
        "comment: 2 proposed: 1 new, 1 recurring, 0 already registered",
        "low_score: 0 proposed: 0 new, 0 recurring, 0 already registered",
        "flag: 1 proposed: 0 new, 0 recurring, 1 already registered",
    ]
    summary = derived.summary()
    assert (summary["proposed"], summary["created"], summary["recurring"], summary["unchanged"]) == (
        3,
        1,
        1,
        1,
    )
    assert summary["by_source"] == {"comment": 2, "low_score": 0, "flag": 1}
    assert summary["problem_ids"] == ["P2026H1-0001", "P2025H2-0003", "P2026H1-0002"]
    dry = Derived(period=PERIOD, proposals=proposals, dry_run=True).lines()
    assert dry[0] == "P2026H1-0001\tcreated\tndrc\tcomment\t审批时限\td1"
    assert dry[-1].endswith("(dry run: nothing written)") and len(dry) == 6
