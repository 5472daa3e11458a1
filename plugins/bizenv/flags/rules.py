"""Accountability and recognition flags of one period, each with a reason that names its numbers.

Every rule takes the period's rankings (one row per unit) and returns rows of `FLAG_COLUMNS`.
Rules that look back (repeated bottom-N, decline, most improved) also take `history`: earlier
periods' rankings with their flags, as `flags.history.read_history` returns them.

Rankings columns used: `unit_code`, `group_code`, `level`, `ranked`, `rank`, `group_ranked`,
`composite_score`, `n_respondents`, `satisfaction_index`, `satisfaction_se`,
`satisfaction_ci_low`, `satisfaction_ci_high`, `rank_ci_low`, `rank_ci_high`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from bizenv.periods import Period
from bizenv.schemas.models import Policy

FLAG_COLUMNS = ["unit_code", "flag", "reason", "reason_en"]
GROUP = ["group_code", "level"]


def _p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _flags(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)


def _eligible(rankings: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Ranked units of groups large enough for bottom-N and top-N to mean something."""
    return rankings[rankings["ranked"] & (rankings["group_ranked"] >= policy.flags.min_group_size)]


def _extreme_n(rankings: pd.DataFrame, policy: Policy, n: int, worst: bool) -> pd.DataFrame:
    """The n best or worst of each group, ties at the boundary all included; adds `tied_size`."""
    eligible = _eligible(rankings, policy)
    # Rounded as ranks are, so units that share a published rank share the flag.
    order = (
        eligible["composite_score"]
        .round(9)
        .groupby([eligible[c] for c in GROUP])
        .rank(method="min", ascending=worst)
    )
    hit = eligible[order <= n].copy()
    hit["in_band"] = hit.groupby(GROUP)["unit_code"].transform("size")
    return hit


def _score_text(row) -> tuple[str, str]:  # noqa: ANN001
    """The satisfaction part of a reason: index and interval, or why it is missing."""
    if pd.notna(row.satisfaction_index):
        zh = f"满意度指数{row.satisfaction_index:.1f}(95%置信区间{row.satisfaction_ci_low:.1f}–{row.satisfaction_ci_high:.1f})"
        en = f"satisfaction {row.satisfaction_index:.1f} (95% CI {row.satisfaction_ci_low:.1f}–{row.satisfaction_ci_high:.1f})"
        return zh, en
    return "无满意度调查数据", "no survey data"


def bottom_n(rankings: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The N lowest ranked units of each group; ties at the boundary are all included, and a unit
    whose rank interval reaches the middle of the group is told its position is uncertain."""
    n = policy.flags.bottom_n
    rows = []
    for row in _extreme_n(rankings, policy, n, worst=True).itertuples():
        size = int(row.group_ranked)
        score_zh, score_en = _score_text(row)
        zh = (
            f"在本组{size}家参评单位中排名第{int(row.rank)}(综合得分{row.composite_score:.1f},{score_zh}),"
            f"位列后{n}名"
        )
        en = (
            f"ranked {int(row.rank)} of {size} in its group (composite {row.composite_score:.1f}, {score_en}), "
            f"in the bottom {n}"
        )
        if row.in_band > n:
            zh += f";因分数并列,后{n}名共{row.in_band}家"
            en += f"; tied scores put {row.in_band} units in the bottom {n}"
        middle = (size + 1) / 2
        if pd.notna(row.rank_ci_low) and row.rank_ci_low <= middle:
            zh += f";排名区间为{int(row.rank_ci_low)}–{int(row.rank_ci_high)},已达本组中位,位次在统计上不确定"
            en += (
                f"; its rank interval {int(row.rank_ci_low)}–{int(row.rank_ci_high)} reaches the middle of the "
                "group, so the position is statistically uncertain"
            )
        rows.append({"unit_code": row.unit_code, "flag": "BOTTOM_N", "reason": zh, "reason_en": en})
    return _flags(rows)


def top_n(rankings: pd.DataFrame, policy: Policy, bottom: pd.DataFrame | None = None) -> pd.DataFrame:
    """Recognition: the N best of each group (ties included), so others know whom to learn from;
    never a unit that is also in the bottom N (a tie across the middle of a small group)."""
    n = policy.flags.top_n
    excluded = set(bottom["unit_code"]) if bottom is not None else set()
    rows = []
    for row in _extreme_n(rankings, policy, n, worst=False).itertuples():
        if row.unit_code in excluded:
            continue
        size = int(row.group_ranked)
        score_zh, score_en = _score_text(row)
        rows.append(
            {
                "unit_code": row.unit_code,
                "flag": "TOP_N",
                "reason": f"在本组{size}家参评单位中排名第{int(row.rank)}(综合得分{row.composite_score:.1f},{score_zh}),位列前{n}名",
                "reason_en": f"ranked {int(row.rank)} of {size} in its group (composite {row.composite_score:.1f}, "
                f"{score_en}), in the top {n}",
            }
        )
    return _flags(rows)


def repeated_bottom_n(
    rankings: pd.DataFrame, bottom: pd.DataFrame, history: pd.DataFrame, period: Period, policy: Policy
) -> tuple[pd.DataFrame, dict[str, tuple[str, str]]]:
    """BOTTOM_N now and in each of the preceding periods the policy counts, consecutively.

    Returns the flags, and for units whose run was broken by a period in which they were not
    ranked (or not evaluated), a note to add to their BOTTOM_N reason: no accountability then.
    """
    needed, n = policy.flags.consecutive_periods, policy.flags.bottom_n
    earlier = [period.previous()]
    while len(earlier) < needed - 1:
        earlier.append(earlier[-1].previous())
    now = rankings.set_index("unit_code")
    past = history.set_index(["period", "unit_code"]) if not history.empty else None
    rows, notes = [], {}
    for unit in bottom["unit_code"]:
        trail, broken_by, in_run = [], None, True
        for before in earlier:
            key = (before.label, unit)
            if past is None or key not in past.index or not bool(past.loc[key, "ranked"]):
                broken_by = before
                break
            if "BOTTOM_N" not in past.loc[key, "flags"]:
                in_run = False
                break
            trail.append((before, past.loc[key]))
        if not in_run:
            continue
        if broken_by is not None:
            notes[unit] = (
                f";{broken_by.label}未参与排名(或未评价),连续{needed}期后{n}名的计数中断,本期不触发问责",
                f"; not ranked in {broken_by.label}, which breaks the run of {needed} consecutive periods: "
                "no accountability this period",
            )
            continue
        steps = [*reversed(trail), (period, now.loc[unit])]
        zh = ";".join(f"{p.label}第{int(r['rank'])}名/共{int(r['group_ranked'])}家" for p, r in steps)
        en = "; ".join(f"{p.label} rank {int(r['rank'])} of {int(r['group_ranked'])}" for p, r in steps)
        rows.append(
            {
                "unit_code": unit,
                "flag": "REPEATED_BOTTOM_N",
                "reason": f"连续{needed}期位列本组后{n}名({zh}),按规定启动问责",
                "reason_en": f"bottom {n} of its group in {needed} consecutive periods ({en}): "
                "the accountability rule applies",
            }
        )
    return _flags(rows), notes


def funnel_limits(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Per ranked unit with a satisfaction index: the group's target, over-dispersion factor φ and
    the lower funnel limits (`limit_low` at the policy's limit, `warning_low` at its warning band).

    Target: the respondent-weighted mean of the group's indices. z = (y − target) / SE; φ is the
    mean of squared z-scores winsorised at `funnel_winsor` in each tail, applied (as √φ on the SE)
    only when the group is over-dispersed (φ > 1).
    """
    rules = policy.flags
    data = frame[
        frame["ranked"] & frame["satisfaction_index"].notna() & (frame["satisfaction_se"] > 0)
    ].copy()
    if data.empty:
        return data.assign(target=[], phi=[], limit_low=[], warning_low=[])
    parts = []
    for _, group in data.groupby(GROUP):
        target = np.average(group["satisfaction_index"], weights=group["n_respondents"])
        z = (group["satisfaction_index"] - target) / group["satisfaction_se"]
        if len(z) >= 3:
            low, high = z.quantile([rules.funnel_winsor, 1 - rules.funnel_winsor])
            phi = float((z.clip(low, high) ** 2).mean())
        else:
            phi = 1.0
        inflate = np.sqrt(max(phi, 1.0))
        se = group["satisfaction_se"] * inflate
        parts.append(
            group.assign(
                target=target,
                phi=phi,
                limit_low=target - stats.norm.ppf(0.5 + rules.funnel_limit / 2) * se,
                warning_low=target - stats.norm.ppf(0.5 + rules.funnel_warning / 2) * se,
            )
        )
    return pd.concat(parts)


def significantly_low(rankings: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    rules = policy.flags
    rows = []
    for row in funnel_limits(rankings, policy).itertuples():
        if row.satisfaction_index >= row.limit_low:
            continue
        dispersion = f",组内存在过度离散(φ={row.phi:.2f}),标准误已相应放大" if row.phi > 1 else ""
        dispersion_en = (
            f"; the group is over-dispersed (φ = {row.phi:.2f}), standard errors inflated"
            if row.phi > 1
            else ""
        )
        rows.append(
            {
                "unit_code": row.unit_code,
                "flag": "SIGNIFICANTLY_LOW",
                "reason": f"满意度指数{row.satisfaction_index:.1f}(n={row.n_respondents})低于本组漏斗图"
                f"{rules.funnel_limit:.1%}控制下限{row.limit_low:.1f}(本组基准{row.target:.1f},"
                f"{rules.funnel_warning:.0%}预警下限{row.warning_low:.1f}){dispersion}",
                "reason_en": f"satisfaction {row.satisfaction_index:.1f} (n={row.n_respondents}) is below the group's "
                f"{rules.funnel_limit:.1%} funnel limit {row.limit_low:.1f} (group target {row.target:.1f}, "
                f"{rules.funnel_warning:.0%} warning limit {row.warning_low:.1f}){dispersion_en}",
            }
        )
    return _flags(rows)


def _changes(rankings: pd.DataFrame, history: pd.DataFrame, period: Period, policy: Policy) -> pd.DataFrame:
    """Satisfaction change since the previous period with its z and two-sided p; the previous
    estimate must rest on the minimum sample too (a tiny sample is neither tested nor published)."""
    if history.empty:
        return rankings.iloc[0:0].assign(previous=[], previous_se=[], change=[], change_se=[], p=[])
    previous = history[history["period"] == period.previous().label]
    previous = previous[previous["n_respondents"].astype(float) >= policy.min_respondents]
    before = previous[["unit_code", "satisfaction_index", "satisfaction_se"]].rename(
        columns={"satisfaction_index": "previous", "satisfaction_se": "previous_se"}
    )
    both = rankings.merge(before, on="unit_code")
    both = both[both["satisfaction_index"].notna() & both["previous"].notna()]
    both = both[(both["satisfaction_se"] > 0) & (both["previous_se"] > 0)]
    both = both.astype(
        {c: float for c in ["satisfaction_index", "satisfaction_se", "previous", "previous_se"]}
    )
    se = np.sqrt(both["satisfaction_se"] ** 2 + both["previous_se"] ** 2)
    change = both["satisfaction_index"] - both["previous"]
    return both.assign(change=change, change_se=se, p=2 * stats.norm.sf(np.abs(change / se)))


def significant_decline(
    rankings: pd.DataFrame, history: pd.DataFrame, period: Period, policy: Policy
) -> pd.DataFrame:
    level = policy.flags.change_fdr_q
    changes = _changes(rankings[rankings["n_respondents"] >= policy.min_respondents], history, period, policy)
    rows = []
    for row in changes[(changes["change"] < 0) & (changes["p"] < level)].itertuples():
        rows.append(
            {
                "unit_code": row.unit_code,
                "flag": "SIGNIFICANT_DECLINE",
                "reason": f"满意度指数由{period.previous().label}的{row.previous:.1f}降至{row.satisfaction_index:.1f},"
                f"下降{-row.change:.1f}(标准误{row.change_se:.1f},{_p(row.p)},显著性水平{level})",
                "reason_en": f"satisfaction fell from {row.previous:.1f} in {period.previous().label} to "
                f"{row.satisfaction_index:.1f}, by {-row.change:.1f} (SE {row.change_se:.1f}, {_p(row.p)} "
                f"< {level})",
            }
        )
    return _flags(rows)


def most_improved(
    rankings: pd.DataFrame, history: pd.DataFrame, period: Period, policy: Policy
) -> pd.DataFrame:
    """Recognition: per group, the units with the largest significant rise since last period."""
    level, n = policy.flags.change_fdr_q, policy.flags.most_improved_n
    if n == 0:
        return _flags([])
    changes = _changes(
        rankings[rankings["ranked"] & (rankings["n_respondents"] >= policy.min_respondents)],
        history,
        period,
        policy,
    )
    rising = changes[(changes["change"] > 0) & (changes["p"] < level)]
    order = rising.groupby(GROUP)["change"].rank(method="min", ascending=False)
    rows = []
    for row in rising[order <= n].itertuples():
        rows.append(
            {
                "unit_code": row.unit_code,
                "flag": "MOST_IMPROVED",
                "reason": f"满意度指数由{period.previous().label}的{row.previous:.1f}升至{row.satisfaction_index:.1f},"
                f"提升{row.change:.1f}({_p(row.p)}),为本组进步最大",
                "reason_en": f"satisfaction rose from {row.previous:.1f} in {period.previous().label} to "
                f"{row.satisfaction_index:.1f}, by {row.change:.1f} ({_p(row.p)}): the largest rise in its group",
            }
        )
    return _flags(rows)


def insufficient_sample(rankings: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    minimum = policy.min_respondents
    low = rankings[~rankings["ranked"]]
    n = low["n_respondents"].astype(int).astype(str)
    return pd.DataFrame(
        {
            "unit_code": low["unit_code"],
            "flag": "INSUFFICIENT_SAMPLE",
            "reason": "有效评价企业" + n + "家,少于最低样本量" + str(minimum) + "家,本期不参与排名",
            "reason_en": n + " valid respondents, fewer than the minimum of " + str(minimum) + "; not ranked",
        }
    )


def period_flags(
    rankings: pd.DataFrame, history: pd.DataFrame, period: Period, policy: Policy
) -> pd.DataFrame:
    bottom = bottom_n(rankings, policy)
    repeated, notes = repeated_bottom_n(rankings, bottom, history, period, policy)
    for unit, (zh, en) in notes.items():
        at = bottom["unit_code"] == unit
        bottom.loc[at, "reason"] += zh
        bottom.loc[at, "reason_en"] += en
    parts = [
        bottom,
        repeated,
        significantly_low(rankings, policy),
        significant_decline(rankings, history, period, policy),
        top_n(rankings, policy, bottom),
        most_improved(rankings, history, period, policy),
        insufficient_sample(rankings, policy),
    ]
    flags = (
        pd.concat([p for p in parts if not p.empty], ignore_index=True)
        if any(not p.empty for p in parts)
        else _flags([])
    )
    return flags.sort_values(["flag", "unit_code"], ignore_index=True)[FLAG_COLUMNS]
