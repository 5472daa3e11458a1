"""Flag rules on hand-built periods and histories."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bizenv.flags.paired import overlap_covariance
from bizenv.flags.rules import (
    bottom_n,
    changes,
    funnel_limits,
    insufficient_sample,
    most_improved,
    period_flags,
    repeated_bottom_n,
    significant_decline,
    significantly_low,
    top_n,
)
from bizenv.periods import Period
from bizenv.schemas import load_policy

POLICY = load_policy()
P = Period.parse("2026H1")


def group(scores, n_respondents=100, se=1.0, group_code="government", period="2026H1") -> pd.DataFrame:
    k = len(scores)
    frame = pd.DataFrame(
        {
            "period": period,
            "unit_code": [f"u{i:02d}" for i in range(k)],
            "group_code": group_code,
            "level": "department",
            "composite_score": scores,
            "satisfaction_index": scores,
            "satisfaction_se": se,
            "n_respondents": n_respondents,
        }
    )
    frame["satisfaction_ci_low"] = frame["satisfaction_index"] - 1.96 * frame["satisfaction_se"]
    frame["satisfaction_ci_high"] = frame["satisfaction_index"] + 1.96 * frame["satisfaction_se"]
    frame["ranked"] = frame["n_respondents"] >= POLICY.min_respondents
    frame["rank"] = frame["composite_score"].where(frame["ranked"]).rank(method="min", ascending=False)
    frame["rank_ci_low"] = frame["rank"]
    frame["rank_ci_high"] = frame["rank"]
    frame["group_ranked"] = frame["ranked"].sum()
    return frame


def history_of(frame: pd.DataFrame, period: str, flagged: set[str]) -> pd.DataFrame:
    past = frame.assign(period=period)
    past["flags"] = [frozenset({"BOTTOM_N"}) if u in flagged else frozenset() for u in past["unit_code"]]
    return past


TWELVE = [90.0 - i for i in range(12)]  # u07..u11 are the bottom five


def test_bottom_five_are_flagged_with_rank_group_size_and_scores():
    flags = bottom_n(group(TWELVE), POLICY).set_index("unit_code")
    assert sorted(flags.index) == ["u07", "u08", "u09", "u10", "u11"]
    assert (
        "在本组12家参评单位中排名第12(综合得分79.0/本组平均为50,满意度指数79.0(95%置信区间77.0–81.0))"
        in flags.loc["u11", "reason"]
    )
    assert flags.loc["u11", "reason_en"].startswith(
        "ranked 12 of 12 in its group (composite 79.0 where the group average is 50"
    )


def test_the_bottom_reason_gives_the_simulated_probability_of_the_bottom_n():
    frame = group(TWELVE).assign(p_bottom_n=[0.0] * 7 + [0.41, 0.6, 0.83, 0.97, 1.0])
    flags = bottom_n(frame, POLICY).set_index("unit_code")
    assert "P(后5名) = 0.83" in flags.loc["u09", "reason"]
    assert "P(bottom 5) = 0.41" in flags.loc["u07", "reason_en"]


def test_a_minimum_probability_keeps_uncertain_units_out_of_the_bottom_n():
    frame = group(TWELVE).assign(p_bottom_n=[0.0] * 7 + [0.41, 0.6, 0.83, 0.97, 1.0])
    flags = bottom_n(frame, with_flags(min_bottom_probability=0.5))
    assert flags["unit_code"].tolist() == ["u08", "u09", "u10", "u11"]


def test_a_tie_at_the_boundary_includes_every_tied_unit_and_says_so():
    flags = bottom_n(group([90.0, 89, 88, 87, 86, 85, 60, 60, 60, 60, 60, 60]), POLICY)
    assert len(flags) == 6
    assert all("后5名共6家" in r for r in flags["reason"])


def test_a_bottom_unit_whose_rank_interval_reaches_the_middle_is_told_it_is_uncertain():
    frame = group(TWELVE)
    frame.loc[frame["unit_code"] == "u07", "rank_ci_low"] = 5
    flags = bottom_n(frame, POLICY).set_index("unit_code")
    assert "位次在统计上不确定" in flags.loc["u07", "reason"]
    assert "statistically uncertain" not in flags.loc["u08", "reason_en"]


def test_small_groups_and_unranked_units_get_no_bottom_flag():
    assert bottom_n(group([80.0, 70.0, 60.0]), POLICY).empty
    frame = group(TWELVE, n_respondents=[100] * 11 + [12])
    assert "u11" not in set(bottom_n(frame, POLICY)["unit_code"])
    assert insufficient_sample(frame, POLICY)["unit_code"].tolist() == ["u11"]


def test_bottom_twice_in_a_row_triggers_accountability_naming_both_ranks():
    now = group(TWELVE)
    history = history_of(group(TWELVE), "2025H2", {"u07", "u08", "u09", "u10", "u11"})
    flags, notes = repeated_bottom_n(now, bottom_n(now, POLICY), history, P, POLICY)
    assert sorted(flags["unit_code"]) == ["u07", "u08", "u09", "u10", "u11"] and notes == {}
    reason = flags.set_index("unit_code").loc["u11", "reason"]
    assert reason == "连续2期位列本组后5名(2025H2第12名/共12家;2026H1第12名/共12家),按规定启动问责"


def test_not_bottom_last_time_means_no_accountability():
    now = group(TWELVE)
    history = history_of(group(TWELVE[::-1]), "2025H2", set())
    flags, notes = repeated_bottom_n(now, bottom_n(now, POLICY), history, P, POLICY)
    assert flags.empty and notes == {}


def test_an_unranked_period_breaks_the_run_and_the_bottom_reason_says_so():
    now = group(TWELVE)
    before = group(TWELVE, n_respondents=[100] * 11 + [10])  # u11 under the minimum sample then
    history = history_of(before, "2025H2", {"u07", "u08", "u09", "u10"})
    flags = period_flags(now, history, P, POLICY)
    u11 = flags[flags["unit_code"] == "u11"].set_index("flag")
    assert "REPEATED_BOTTOM_N" not in u11.index
    assert "2025H2未参与排名(或未评价),连续2期后5名的计数中断" in u11.loc["BOTTOM_N", "reason"]
    assert set(flags.loc[flags["flag"] == "REPEATED_BOTTOM_N", "unit_code"]) == {"u07", "u08", "u09", "u10"}


def test_a_unit_that_joined_the_group_this_period_has_no_history_to_repeat():
    now = group(TWELVE)
    history = history_of(group(TWELVE[:11]), "2025H2", {"u06", "u07", "u08", "u09", "u10"})
    flags, notes = repeated_bottom_n(now, bottom_n(now, POLICY), history, P, POLICY)
    assert "u11" not in set(flags["unit_code"]) and "u11" in notes


def test_three_consecutive_periods_need_two_earlier_bottoms():
    policy = POLICY.model_copy(update={"flags": POLICY.flags.model_copy(update={"consecutive_periods": 3})})
    now = group(TWELVE)
    bottoms = {"u07", "u08", "u09", "u10", "u11"}
    only_last = history_of(group(TWELVE), "2025H2", bottoms)
    assert repeated_bottom_n(now, bottom_n(now, policy), only_last, P, policy)[0].empty
    both = pd.concat([only_last, history_of(group(TWELVE), "2025H1", {"u11"})])
    flags, _ = repeated_bottom_n(now, bottom_n(now, policy), both, P, policy)
    assert flags["unit_code"].tolist() == ["u11"]
    assert "2025H1第12名/共12家;2025H2第12名/共12家;2026H1第12名/共12家" in flags["reason"].iloc[0]


def test_funnel_limits_by_hand_without_over_dispersion():
    scores = [75.0, 75.2, 74.8, 75.1, 74.9, 75.0, 75.3, 74.7, 75.0, 75.0, 74.9, 66.0]
    frame = group(scores, se=2.0)
    limits = funnel_limits(frame, POLICY).set_index("unit_code")
    target = np.mean(scores)  # equal n: the respondent-weighted mean is the plain mean
    z = (np.array(scores) - target) / 2.0
    low, high = np.quantile(z, [0.1, 0.9])
    phi = np.mean(np.clip(z, low, high) ** 2)
    assert phi < 1
    assert limits["phi"].iloc[0] == pytest.approx(phi)
    assert limits.loc["u11", "limit_low"] == pytest.approx(target - stats.norm.ppf(0.999) * 2.0)
    assert limits.loc["u11", "warning_low"] == pytest.approx(target - 1.959964 * 2.0, abs=1e-5)
    assert significantly_low(frame, POLICY)["unit_code"].tolist() == ["u11"]


def with_flags(**changes) -> object:
    return POLICY.model_copy(update={"flags": POLICY.flags.model_copy(update=changes)})


def dispersed_scores() -> list[float]:
    rng = np.random.default_rng(4)
    return list(75 + rng.normal(0, 5, 11)) + [62.0]


def test_additive_over_dispersion_by_hand():
    scores = dispersed_scores()
    limits = funnel_limits(group(scores, se=1.0), POLICY)
    target = np.mean(scores)
    z = np.array(scores) - target  # SE 1
    low, high = np.quantile(z, [0.1, 0.9])
    phi = np.mean(np.clip(z, low, high) ** 2)
    # Spiegelhalter (2005): τ² = (Iφ − (I − 1)) / (Σw − Σw²/Σw), w = 1/SE² = 1: (12φ − 11) / 11.
    tau2 = (12 * phi - 11) / (12 - 12 / 12)
    assert limits["tau2"].iloc[0] == pytest.approx(tau2)
    assert limits["limit_low"].iloc[0] == pytest.approx(target - stats.norm.ppf(0.999) * np.sqrt(1 + tau2))
    flagged = significantly_low(group(scores, se=1.0), POLICY)
    assert all("过度离散" in r and "τ=" in r for r in flagged["reason"])


def test_multiplicative_over_dispersion_inflates_the_se_by_root_phi():
    policy = with_flags(funnel_overdispersion="multiplicative")
    limits = funnel_limits(group(dispersed_scores(), se=1.0), policy)
    assert limits["phi"].iloc[0] > 1
    inflated = limits["target"].iloc[0] - stats.norm.ppf(0.999) * np.sqrt(limits["phi"].iloc[0])
    assert limits["limit_low"].iloc[0] == pytest.approx(inflated)


def test_no_over_dispersion_leaves_the_limits_alone():
    limits = funnel_limits(group([75.0, 75.5, 74.5, 75.2, 74.8] * 2 + [75.1, 74.9], se=2.0), POLICY)
    assert (limits["tau2"] == 0).all()


def two_unit_group_beside_the_government() -> pd.DataFrame:
    government = group([72.0 + 0.5 * (i % 5 - 2) for i in range(12)], se=1.0)
    judicial = group([80.0, 70.0], se=1.0, group_code="judicial").assign(
        unit_code=["court", "procuratorate"], group_ranked=2
    )
    return pd.concat([government, judicial], ignore_index=True)


def test_a_two_unit_group_is_judged_by_the_funnel_of_its_level():
    frame = two_unit_group_beside_the_government()
    limits = funnel_limits(frame, POLICY).set_index("unit_code")
    assert limits.loc["procuratorate", "pool"] == "level" and limits.loc["procuratorate", "pool_size"] == 14
    assert limits.loc["u00", "pool"] == "group" and limits.loc["u00", "pool_size"] == 12
    # In line with the level (target ≈ 72.4, limit ≈ 66): no flag, although its own two-point
    # funnel (target 75, limit 75 − 3.09 = 71.9) would have flagged it.
    assert "procuratorate" not in set(significantly_low(frame, POLICY)["unit_code"])
    own_funnel = with_flags(min_group_size=2, bottom_n=1, top_n=1)
    judicial = frame[frame["group_code"] == "judicial"]
    alone = funnel_limits(judicial, own_funnel).set_index("unit_code")
    assert alone.loc["procuratorate", "limit_low"] == pytest.approx(75 - stats.norm.ppf(0.999))
    assert significantly_low(judicial, own_funnel)["unit_code"].tolist() == ["procuratorate"]


def test_a_small_group_unit_far_below_its_level_is_flagged_and_told_why():
    frame = two_unit_group_beside_the_government()
    frame.loc[frame["unit_code"] == "procuratorate", "satisfaction_index"] = 55.0
    flags = significantly_low(frame, POLICY).set_index("unit_code")
    assert "同级全部14家单位" in flags.loc["procuratorate", "reason"]
    assert "本组参评单位不足10家" in flags.loc["procuratorate", "reason"]


def test_a_decline_is_flagged_only_when_sampling_noise_cannot_explain_it():
    now = group([75.0, 78.5] + TWELVE[2:], se=1.0)
    before = history_of(group([80.0, 80.0] + TWELVE[2:], se=1.0), "2025H2", set())
    flags = significant_decline(changes(now, before, P, POLICY), P, POLICY).set_index("unit_code")
    # u00: −5 with SE √2 → z −3.54, p 0.0004, BH × 12 / 1 → 0.0048; u01: −1.5 → p 0.29
    assert list(flags.index) == ["u00"]
    assert "满意度指数由2025H2的80.0降至75.0,下降5.0(标准误1.4,p<0.001" in flags.loc["u00", "reason"]
    assert "校正后p=0.005" in flags.loc["u00", "reason"]


def test_decline_p_values_are_benjamini_hochberg_adjusted_across_the_period():
    # Three falls with raw p 0.001, 0.02 and 0.04 among 12 tests (the rest p = 1):
    # adjusted p = min over j ≥ i of p_(j) × 12 / j → 0.012, 0.12, 0.16. Only the first is flagged,
    # although all three are under 0.05 unadjusted.
    drops = [stats.norm.isf(p / 2) * np.sqrt(2) for p in (0.001, 0.02, 0.04)]
    now = group([80.0 - d for d in drops] + TWELVE[3:], se=1.0)
    before = history_of(group([80.0, 80.0, 80.0] + TWELVE[3:], se=1.0), "2025H2", set())
    tested = changes(now, before, P, POLICY).set_index("unit_code")
    assert tested.loc[["u00", "u01", "u02"], "p"].tolist() == pytest.approx([0.001, 0.02, 0.04])
    assert tested.loc[["u00", "u01", "u02"], "p_adjusted"].tolist() == pytest.approx([0.012, 0.12, 0.16])
    assert significant_decline(changes(now, before, P, POLICY), P, POLICY)["unit_code"].tolist() == ["u00"]


def paired_scores(period_scores: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"unit_code": "u00", "respondent_hash": r, "weight": 1.0, "score": y, "complete": True}
        for r, y in period_scores.items()
    ]
    return pd.DataFrame(rows)


def test_paired_change_se_is_the_paired_t_se_by_hand():
    firms = ["a", "b", "c", "d", "e"]
    y_now, y_before = [70.0, 60.0, 80.0, 75.0, 65.0], [72.0, 65.0, 79.0, 80.0, 69.0]
    overlap = overlap_covariance(
        paired_scores(dict(zip(firms, y_now, strict=True))),
        paired_scores(dict(zip(firms, y_before, strict=True))),
    )
    # Linearised SE of a mean of n = 5 (R's svymean): √(Σ(y − ȳ)² / (n (n − 1))).
    se = [np.sqrt(np.sum((np.array(y) - np.mean(y)) ** 2) / 20) for y in (y_now, y_before)]
    now = group([70.0], se=se[0], n_respondents=30).assign(group_ranked=1)
    before = history_of(group([73.0], se=se[1], n_respondents=30), "2025H2", set())
    tested = changes(now, before, P, POLICY, overlap).iloc[0]
    d = np.array(y_now) - np.array(y_before)  # −2, −5, 1, −5, −4
    assert tested["n_paired"] == 5
    assert tested["change_se"] == pytest.approx(np.std(d, ddof=1) / np.sqrt(5))
    independent = changes(now, before, P, POLICY).iloc[0]
    assert independent["change_se"] == pytest.approx(np.hypot(*se))
    assert tested["change_se"] < independent["change_se"]


def test_enterprises_in_one_period_only_add_no_covariance():
    overlap = overlap_covariance(paired_scores({"a": 70.0, "b": 60.0}), paired_scores({"c": 72.0, "d": 65.0}))
    assert overlap.empty


def test_top_n_and_the_most_improved_unit_are_recognised():
    assert sorted(top_n(group(TWELVE), POLICY)["unit_code"]) == ["u00", "u01", "u02", "u03", "u04"]
    now = group(TWELVE, se=0.5)
    past = [s - 0.2 for s in TWELVE]
    past[5], past[8] = TWELVE[5] - 6, TWELVE[8] - 3
    improved = most_improved(
        changes(now, history_of(group(past, se=0.5), "2025H2", set()), P, POLICY), P, POLICY
    )
    assert improved["unit_code"].tolist() == ["u05"]
    assert "提升6.0" in improved["reason"].iloc[0]


def test_units_sharing_a_rank_through_float_noise_share_the_flag():
    scores = [90.0, 89, 88, 87, 86, 0.6 * 40.8 + 0.4 * 80.7, 0.6 * 85.6 + 0.4 * 13.5, 50, 49, 48, 47, 46]
    frame = group(scores)
    frame["rank"] = frame["composite_score"].round(9).rank(method="min", ascending=False)
    assert scores[5] != scores[6] and round(scores[5], 9) == round(scores[6], 9)
    flagged = set(bottom_n(frame, POLICY)["unit_code"]) | set(top_n(frame, POLICY)["unit_code"])
    assert {"u05", "u06"} & flagged in (set(), {"u05", "u06"})


def test_a_tie_across_the_middle_never_makes_a_unit_both_top_and_bottom():
    frame = group([90.0, 89, 88, 87, 80, 80, 70, 69, 68, 67])
    flags = period_flags(frame, pd.DataFrame(), P, POLICY)
    both = flags.groupby("unit_code")["flag"].agg(set)
    assert not any({"TOP_N", "BOTTOM_N"} <= f for f in both)


def test_a_previous_estimate_from_a_tiny_sample_is_neither_tested_nor_published():
    now = group(TWELVE, se=1.0)
    before = history_of(group([20.0] + TWELVE[1:], n_respondents=[3] + [100] * 11, se=15.0), "2025H2", set())
    assert most_improved(changes(now, before, P, POLICY), P, POLICY).empty
    assert significant_decline(changes(now, before, P, POLICY), P, POLICY).empty


def test_the_policy_refuses_overlapping_top_and_bottom_bands():
    with pytest.raises(ValueError, match="min_group_size must be at least top_n \\+ bottom_n"):
        POLICY.flags.model_validate(POLICY.flags.model_dump() | {"min_group_size": 9})


def test_rectification_overdue_names_every_problem_of_a_unit_with_its_dates():
    from bizenv.flags.rules import rectification_overdue

    supervised = pd.DataFrame(
        {
            "problem_id": ["P2025H2-0002", "P2025H2-0001", "P2025H2-0003"],
            "unit_code": ["tax", "tax", "housing"],
            "theme": ["审批时限", "政策兑现", "吃拿卡要"],
            "deadline": ["2026-02-09", "2026-01-20", "2026-02-09"],
            "supervision": ["second", "accountability", "second"],
            "first_on": ["2026-02-10", "2026-01-21", None],
            "second_on": ["2026-02-24", "2026-02-04", "2026-02-24"],
        }
    )
    flags = rectification_overdue(supervised).set_index("unit_code")
    assert list(flags.index) == ["housing", "tax"] and set(flags["flag"]) == {"RECTIFICATION_OVERDUE"}
    tax = flags.loc["tax", "reason"]
    # Earliest deadline first; every problem with its deadline and both supervision days.
    assert tax.index("P2025H2-0001") < tax.index("P2025H2-0002")
    assert "P2025H2-0001「政策兑现」(整改期限2026-01-20,一次督办2026-01-21,二次督办2026-02-04)" in tax
    assert "一次督办—" in flags.loc["housing", "reason"]  # a missing day is shown as missing
    assert "P2025H2-0003 (吃拿卡要, due 2026-02-09" in flags.loc["housing", "reason_en"]


def test_no_supervised_problems_no_rectification_flags():
    from bizenv.flags.rules import rectification_overdue

    assert rectification_overdue(pd.DataFrame()).empty
