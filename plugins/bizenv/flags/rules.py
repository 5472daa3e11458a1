"""Accountability and recognition flags of one period, each with a reason that names its numbers.

Every rule takes the period's rankings (one row per unit) and returns rows of `FLAG_COLUMNS`.
Rules that look back (repeated bottom-N, decline, most improved) also take `history`: earlier
periods' rankings with their flags, as `flags.history.read_history` returns them.

Rankings columns used: `unit_code`, `group_code`, `level`, `ranked`, `rank`, `group_ranked`,
`composite_score`, `n_respondents`, `satisfaction_index`, `satisfaction_se`,
`satisfaction_ci_low`, `satisfaction_ci_high`, `rank_ci_low`, `rank_ci_high` and, when the
ranks were simulated, `p_bottom_n`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, cast

import numpy as np
import pandas as pd
from scipy import stats

from bizenv.periods import Period
from bizenv.schemas.models import Policy

FLAG_COLUMNS = ["unit_code", "flag", "reason", "reason_en"]
GROUP = ["group_code", "level"]


# The rows the rules read from `DataFrame.itertuples()`. pandas-stubs types every attribute of
# such a row as the union of all pandas scalars, which no comparison or format accepts; each
# loop casts its rows to the Protocol naming the columns it reads.
class _ScoredRow(Protocol):
    satisfaction_index: float
    satisfaction_ci_low: float
    satisfaction_ci_high: float


class _ExtremeRow(_ScoredRow, Protocol):
    """A row of `_extreme_n`."""

    unit_code: str
    rank: float
    group_ranked: int
    composite_score: float
    in_band: int
    rank_ci_low: float
    rank_ci_high: float


class _FunnelRow(Protocol):
    """A row of `funnel_limits`."""

    unit_code: str
    n_respondents: int
    satisfaction_index: float
    target: float
    phi: float
    tau2: float
    limit_low: float
    warning_low: float
    pool: str
    pool_size: int


class _ChangeRow(Protocol):
    """A row of `changes`."""

    unit_code: str
    satisfaction_index: float
    previous: float
    change: float
    change_se: float
    n_paired: int
    p: float
    p_adjusted: float


def _p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _flags(rows: list[dict[str, str]]) -> pd.DataFrame:
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


def _scale_zh(policy: Policy) -> str:
    """Where the composite's scale has its middle, so a unit head can read the number."""
    return "/本组平均为50" if policy.composite.normalisation == "zscore" else ""


def _scale_en(policy: Policy) -> str:
    return " where the group average is 50" if policy.composite.normalisation == "zscore" else ""


def _score_text(row: _ScoredRow) -> tuple[str, str]:
    """The satisfaction part of a reason: index and interval, or why it is missing."""
    if pd.notna(row.satisfaction_index):
        zh = f"满意度指数{row.satisfaction_index:.1f}(95%置信区间{row.satisfaction_ci_low:.1f}–{row.satisfaction_ci_high:.1f})"
        en = f"satisfaction {row.satisfaction_index:.1f} (95% CI {row.satisfaction_ci_low:.1f}–{row.satisfaction_ci_high:.1f})"
        return zh, en
    return "无满意度调查数据", "no survey data"


def bottom_n(rankings: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The N lowest ranked units of each group by point rank (the rule as the programme states
    it); ties at the boundary are all included. The reason gives P(bottom N) from the rank
    simulation, and says when the rank interval reaches the middle of the group. With a policy
    `min_bottom_probability` above 0, a unit below that probability is not flagged."""
    n, threshold = policy.flags.bottom_n, policy.flags.min_bottom_probability
    level = f"{policy.rank_intervals.level:.0%}"
    rows = []
    for row in cast(Iterator[_ExtremeRow], _extreme_n(rankings, policy, n, worst=True).itertuples()):
        probability = getattr(row, "p_bottom_n", np.nan)
        if threshold > 0 and not probability >= threshold:
            continue
        size = int(row.group_ranked)
        score_zh, score_en = _score_text(row)
        zh = (
            f"在本组{size}家参评单位中排名第{int(row.rank)}(综合得分{row.composite_score:.1f}{_scale_zh(policy)},{score_zh}),"
            f"位列后{n}名"
        )
        en = (
            f"ranked {int(row.rank)} of {size} in its group (composite {row.composite_score:.1f}{_scale_en(policy)}, {score_en}), "
            f"in the bottom {n}"
        )
        if pd.notna(probability):
            zh += f";综合考虑抽样误差、权重、指标和标准化方法的不确定性,P(后{n}名) = {probability:.2f}"
            en += f"; allowing for sampling error, weights, indicators and normalisation, P(bottom {n}) = {probability:.2f}"
        if row.in_band > n:
            zh += f";因分数并列,后{n}名共{row.in_band}家"
            en += f"; tied scores put {row.in_band} units in the bottom {n}"
        middle = (size + 1) / 2
        if pd.notna(row.rank_ci_low) and row.rank_ci_low <= middle:
            zh += f";{level}排名区间为{int(row.rank_ci_low)}–{int(row.rank_ci_high)},已达本组中位,位次在统计上不确定"
            en += (
                f"; its {level} rank interval {int(row.rank_ci_low)}–{int(row.rank_ci_high)} reaches the middle of "
                "the group, so the position is statistically uncertain"
            )
        rows.append({"unit_code": row.unit_code, "flag": "BOTTOM_N", "reason": zh, "reason_en": en})
    return _flags(rows)


def top_n(rankings: pd.DataFrame, policy: Policy, bottom: pd.DataFrame | None = None) -> pd.DataFrame:
    """Recognition: the N best of each group (ties included), so others know whom to learn from;
    never a unit that is also in the bottom N (a tie across the middle of a small group)."""
    n = policy.flags.top_n
    excluded = set(bottom["unit_code"]) if bottom is not None else set()
    rows = []
    for row in cast(Iterator[_ExtremeRow], _extreme_n(rankings, policy, n, worst=False).itertuples()):
        if row.unit_code in excluded:
            continue
        size = int(row.group_ranked)
        score_zh, score_en = _score_text(row)
        rows.append(
            {
                "unit_code": row.unit_code,
                "flag": "TOP_N",
                "reason": f"在本组{size}家参评单位中排名第{int(row.rank)}(综合得分{row.composite_score:.1f}{_scale_zh(policy)},{score_zh}),位列前{n}名",
                "reason_en": f"ranked {int(row.rank)} of {size} in its group (composite {row.composite_score:.1f}{_scale_en(policy)}, "
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


def dispersion(z: pd.Series, se: pd.Series, winsor: float) -> tuple[float, float]:
    """φ and τ² of Spiegelhalter (2005, Qual Saf Health Care 14:347): φ = mean of the squared
    z-scores winsorised at `winsor` in each tail; τ² = (Iφ − (I − 1)) / (Σw − Σw²/Σw) with
    w = 1/SE², or 0 when Iφ ≤ I − 1 (no evidence of over-dispersion)."""
    count = len(z)
    if count < 3:
        return 1.0, 0.0
    low, high = z.quantile([winsor, 1 - winsor])
    phi = float((z.clip(low, high) ** 2).mean())
    w = 1.0 / se.to_numpy(dtype=float) ** 2
    excess = count * phi - (count - 1)
    tau2 = float(excess / (w.sum() - (w**2).sum() / w.sum())) if excess > 0 else 0.0
    return phi, tau2


def funnel_limits(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Per ranked unit with a satisfaction index: its funnel's `target`, `phi`, `tau2`, the
    lower limits (`limit_low` at the policy's limit, `warning_low` at its warning band), and
    `pool`/`pool_size`: the units the funnel was built from.

    A group with at least `min_group_size` such units is its own funnel; a smaller group is
    compared with the funnel of every unit of its level across groups (a two-unit group's own
    funnel would flag one of any two units that differ). Target: the respondent-weighted mean of
    the pool's indices. Limits: target − z × √(SE² + τ²) (additive) or target − z × SE × √φ when
    φ > 1 (multiplicative).
    """
    rules = policy.flags
    data = frame[
        frame["ranked"] & frame["satisfaction_index"].notna() & (frame["satisfaction_se"] > 0)
    ].astype({"satisfaction_index": float, "satisfaction_se": float})
    columns = ["target", "phi", "tau2", "limit_low", "warning_low", "pool", "pool_size"]
    if data.empty:
        return data.assign(**{c: [] for c in columns})
    parts = []
    for (_, level), group in data.groupby(GROUP):
        own = len(group) >= rules.min_group_size
        pool = group if own else data[data["level"] == level]
        target = np.average(pool["satisfaction_index"], weights=pool["n_respondents"])
        phi, tau2 = dispersion(
            (pool["satisfaction_index"] - target) / pool["satisfaction_se"],
            pool["satisfaction_se"],
            rules.funnel_winsor,
        )
        if rules.funnel_overdispersion == "additive":
            se = np.sqrt(group["satisfaction_se"] ** 2 + tau2)
        else:
            se = group["satisfaction_se"] * np.sqrt(max(phi, 1.0))
        parts.append(
            group.assign(
                target=target,
                phi=phi,
                tau2=tau2,
                limit_low=target - stats.norm.ppf(0.5 + rules.funnel_limit / 2) * se,
                warning_low=target - stats.norm.ppf(0.5 + rules.funnel_warning / 2) * se,
                pool="group" if own else "level",
                pool_size=len(pool),
            )
        )
    return pd.concat(parts)


def _dispersion_text(row: _FunnelRow, policy: Policy) -> tuple[str, str]:
    if policy.flags.funnel_overdispersion == "additive":
        if row.tau2 <= 0:
            return "", ""
        tau = np.sqrt(row.tau2)
        return (
            f",单位间存在过度离散(φ={row.phi:.2f},单位间标准差τ={tau:.1f}),控制限已相应放宽",
            f"; the units are over-dispersed (φ = {row.phi:.2f}, between-unit SD τ = {tau:.1f}), limits widened",
        )
    if row.phi <= 1:
        return "", ""
    return (
        f",单位间存在过度离散(φ={row.phi:.2f}),标准误已相应放大",
        f"; the units are over-dispersed (φ = {row.phi:.2f}), standard errors inflated",
    )


def significantly_low(rankings: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    rules = policy.flags
    rows = []
    for row in cast(Iterator[_FunnelRow], funnel_limits(rankings, policy).itertuples()):
        if row.satisfaction_index >= row.limit_low:
            continue
        dispersion_zh, dispersion_en = _dispersion_text(row, policy)
        if row.pool == "group":
            pool_zh, pool_en, note_zh, note_en = "本组", "the group's", "", ""
        else:
            pool_zh, pool_en = f"同级全部{row.pool_size}家单位", f"its level's ({row.pool_size} units)"
            note_zh = f";本组参评单位不足{rules.min_group_size}家,按同级全部单位比较"
            note_en = f"; its group has fewer than {rules.min_group_size} ranked units, so it is compared with its level"
        rows.append(
            {
                "unit_code": row.unit_code,
                "flag": "SIGNIFICANTLY_LOW",
                "reason": f"满意度指数{row.satisfaction_index:.1f}(n={row.n_respondents})低于{pool_zh}漏斗图"
                f"{rules.funnel_limit:.1%}控制下限{row.limit_low:.1f}(基准{row.target:.1f},"
                f"{rules.funnel_warning:.0%}预警下限{row.warning_low:.1f}){dispersion_zh}{note_zh}",
                "reason_en": f"satisfaction {row.satisfaction_index:.1f} (n={row.n_respondents}) is below "
                f"{pool_en} {rules.funnel_limit:.1%} funnel limit {row.limit_low:.1f} (target {row.target:.1f}, "
                f"{rules.funnel_warning:.0%} warning limit {row.warning_low:.1f}){dispersion_en}{note_en}",
            }
        )
    return _flags(rows)


def changes(
    rankings: pd.DataFrame,
    history: pd.DataFrame,
    period: Period,
    policy: Policy,
    overlap: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Satisfaction change since the previous period for every unit with the minimum sample in
    both: `previous`, `change`, `change_se`, `n_paired`, two-sided `p` and `p_adjusted`
    (Benjamini-Hochberg over all of the period's tests, falls and rises alike: 35 tests at 5%
    would otherwise flag about two units a period by chance).

    `overlap` (`flags.paired.overlap_covariance`) makes the test paired where the same
    enterprises rated the unit in both periods; without it the estimates are independent."""
    empty = rankings.iloc[0:0].assign(previous=[], change=[], change_se=[], n_paired=[], p=[], p_adjusted=[])
    if history.empty:
        return empty
    current = rankings[rankings["n_respondents"] >= policy.min_respondents]
    previous = history[history["period"] == period.previous().label]
    previous = previous[previous["n_respondents"].astype(float) >= policy.min_respondents]
    before = previous[["unit_code", "satisfaction_index", "satisfaction_se"]].rename(
        columns={"satisfaction_index": "previous", "satisfaction_se": "previous_se"}
    )
    both = current.merge(before, on="unit_code")
    both = both[both["satisfaction_index"].notna() & both["previous"].notna()]
    both = both[(both["satisfaction_se"] > 0) & (both["previous_se"] > 0)]
    if both.empty:
        return empty
    both = both.astype(
        {c: float for c in ["satisfaction_index", "satisfaction_se", "previous", "previous_se"]}
    )
    paired = overlap if overlap is not None else pd.DataFrame(columns=["unit_code", "n_paired", "covariance"])
    both = both.merge(paired, on="unit_code", how="left")
    both["n_paired"] = both["n_paired"].fillna(0).astype(int)
    covariance = both["covariance"].fillna(0.0).astype(float)
    variance = both["satisfaction_se"] ** 2 + both["previous_se"] ** 2 - 2 * covariance
    # Calibrated SEs and uncalibrated covariances can disagree at the margin: never below
    # (SE_now − SE_before)², the least a difference of two such estimates varies (correlation 1).
    floor = (both["satisfaction_se"] - both["previous_se"]) ** 2
    # np.maximum of two Series is a Series (pandas' __array_ufunc__); pandas-stubs says ndarray.
    se = np.sqrt(cast(pd.Series, np.maximum(variance, floor)).clip(lower=1e-12))
    change = both["satisfaction_index"] - both["previous"]
    p = 2 * stats.norm.sf(np.abs(change / se))
    return both.assign(
        change=change, change_se=se, p=p, p_adjusted=stats.false_discovery_control(p, method="bh")
    )


def _test_text(row: _ChangeRow, q: float) -> tuple[str, str]:
    paired = f",其中{row.n_paired}家企业两期均参评,按配对计算" if row.n_paired else ""
    paired_en = f"; {row.n_paired} enterprises rated it in both periods, paired" if row.n_paired else ""
    return (
        f"标准误{row.change_se:.1f},{_p(row.p)},经Benjamini–Hochberg多重比较校正后{_p(row.p_adjusted)},"
        f"错误发现率q={q}{paired}",
        f"SE {row.change_se:.1f}, {_p(row.p)}, Benjamini–Hochberg adjusted {_p(row.p_adjusted)} < q={q}{paired_en}",
    )


def significant_decline(tested: pd.DataFrame, period: Period, policy: Policy) -> pd.DataFrame:
    """`tested`: the period's `changes`."""
    q = policy.flags.change_fdr_q
    rows = []
    falling = tested[(tested["change"] < 0) & (tested["p_adjusted"] < q)]
    for row in cast(Iterator[_ChangeRow], falling.itertuples()):
        test_zh, test_en = _test_text(row, q)
        rows.append(
            {
                "unit_code": row.unit_code,
                "flag": "SIGNIFICANT_DECLINE",
                "reason": f"满意度指数由{period.previous().label}的{row.previous:.1f}降至{row.satisfaction_index:.1f},"
                f"下降{-row.change:.1f}({test_zh})",
                "reason_en": f"satisfaction fell from {row.previous:.1f} in {period.previous().label} to "
                f"{row.satisfaction_index:.1f}, by {-row.change:.1f} ({test_en})",
            }
        )
    return _flags(rows)


def most_improved(tested: pd.DataFrame, period: Period, policy: Policy) -> pd.DataFrame:
    """Recognition: per group, the ranked units with the largest significant rise since last
    period. `tested`: the period's `changes`."""
    q, n = policy.flags.change_fdr_q, policy.flags.most_improved_n
    if n == 0:
        return _flags([])
    rising = tested[tested["ranked"].astype(bool) & (tested["change"] > 0) & (tested["p_adjusted"] < q)]
    order = rising.groupby(GROUP)["change"].rank(method="min", ascending=False)
    rows = []
    for row in cast(Iterator[_ChangeRow], rising[order <= n].itertuples()):
        rows.append(
            {
                "unit_code": row.unit_code,
                "flag": "MOST_IMPROVED",
                "reason": f"满意度指数由{period.previous().label}的{row.previous:.1f}升至{row.satisfaction_index:.1f},"
                f"提升{row.change:.1f}(校正后{_p(row.p_adjusted)}),为本组进步最大",
                "reason_en": f"satisfaction rose from {row.previous:.1f} in {period.previous().label} to "
                f"{row.satisfaction_index:.1f}, by {row.change:.1f} (adjusted {_p(row.p_adjusted)}): "
                "the largest rise in its group",
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
    rankings: pd.DataFrame,
    history: pd.DataFrame,
    period: Period,
    policy: Policy,
    *,
    overlap: pd.DataFrame | None = None,
    supervised: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every flag of the period. `overlap`: see `changes`; `supervised`: see
    `rectification_overdue` (none when not given)."""
    tested = changes(rankings, history, period, policy, overlap)
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
        significant_decline(tested, period, policy),
        top_n(rankings, policy, bottom),
        most_improved(tested, period, policy),
        insufficient_sample(rankings, policy),
        rectification_overdue(supervised if supervised is not None else pd.DataFrame()),
    ]
    flags = (
        pd.concat([p for p in parts if not p.empty], ignore_index=True)
        if any(not p.empty for p in parts)
        else _flags([])
    )
    return flags.sort_values(["flag", "unit_code"], ignore_index=True)[FLAG_COLUMNS]


def _day(value: object) -> str:
    return "—" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def rectification_overdue(supervised: pd.DataFrame) -> pd.DataFrame:
    """RECTIFICATION_OVERDUE: a unit with a problem still unresolved after its second supervision
    (二次督办) — the step after which the policy holds the unit accountable. One flag per unit;
    its reason names every such problem with its deadline and the days of its supervision steps.

    `supervised`: `problem_id, unit_code, theme, deadline, supervision, first_on, second_on`
    (`rectification.register.supervised_unresolved`), one row per unresolved problem at second
    supervision or beyond."""
    if supervised.empty:
        return _flags([])
    ordered = supervised.sort_values(["unit_code", "deadline", "problem_id"])
    day = _day
    zh = (
        "整改问题" + ordered["problem_id"] + "「" + ordered["theme"] + "」(整改期限"
        + ordered["deadline"].map(day) + ",一次督办" + ordered["first_on"].map(day)
        + ",二次督办" + ordered["second_on"].map(day) + ")"
    )  # fmt: skip
    en = (
        "problem " + ordered["problem_id"] + " (" + ordered["theme"] + ", due "
        + ordered["deadline"].map(day) + "; first supervision " + ordered["first_on"].map(day)
        + ", second " + ordered["second_on"].map(day) + ")"
    )  # fmt: skip
    by_unit = pd.DataFrame({"unit_code": ordered["unit_code"], "zh": zh, "en": en}).groupby(
        "unit_code", sort=True
    )
    return pd.DataFrame(
        {
            "unit_code": list(by_unit.groups),
            "flag": "RECTIFICATION_OVERDUE",
            "reason": [
                "、".join(part["zh"]) + "经二次督办仍未整改到位,按规定启动问责" for _, part in by_unit
            ],
            "reason_en": [
                "; ".join(part["en"])
                + ": still not resolved after second supervision; the accountability rule applies"
                for _, part in by_unit
            ],
        }
    )[FLAG_COLUMNS]
