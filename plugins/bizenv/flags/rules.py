"""Flags of one period: bottom N of a group and insufficient sample, each with its numbers.

Out columns of every rule: `unit_code`, `flag`, `reason` (Chinese), `reason_en`.
"""

from __future__ import annotations

import pandas as pd

from bizenv.schemas.models import Policy

FLAG_COLUMNS = ["unit_code", "flag", "reason", "reason_en"]


def bottom_n(rankings: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The N lowest ranked units of each group; ties at the boundary are all included.

    Groups with fewer ranked units than the policy's `min_group_size` get no bottom-N flags.

    In: `unit_code`, `group_code`, `level`, `ranked`, `rank`, `composite_score`, `group_ranked`.
    """
    n = policy.flags.bottom_n
    ranked = rankings[rankings["ranked"] & (rankings["group_ranked"] >= policy.flags.min_group_size)]
    worst_first = ranked.groupby(["group_code", "level"])["composite_score"].rank(
        method="min", ascending=True
    )
    hit = ranked[worst_first <= n]
    if hit.empty:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    tie = worst_first[hit.index].groupby([hit["group_code"], hit["level"]]).transform("size") > n
    rank = hit["rank"].astype(int).astype(str)
    size = hit["group_ranked"].astype(int).astype(str)
    score = hit["composite_score"].map("{:.1f}".format)
    reason = "在" + size + "家参评单位中排名第" + rank + "(综合得分" + score + "),位列本组后" + str(n) + "名"
    reason_en = (
        "ranked " + rank + " of " + size + " in its group (composite " + score + "), in the bottom " + str(n)
    )
    reason = reason.where(
        ~tie,
        reason
        + ";因分数并列,后"
        + str(n)
        + "名共"
        + tie.groupby([hit["group_code"], hit["level"]]).transform("size").astype(str)
        + "家",
    )
    reason_en = reason_en.where(
        ~tie, reason_en + "; ties at the boundary put more than " + str(n) + " units there"
    )
    return pd.DataFrame(
        {"unit_code": hit["unit_code"], "flag": "BOTTOM_N", "reason": reason, "reason_en": reason_en}
    )


def insufficient_sample(rankings: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    minimum = policy.min_respondents
    low = rankings[rankings["n_respondents"] < minimum]
    n = low["n_respondents"].astype(int).astype(str)
    return pd.DataFrame(
        {
            "unit_code": low["unit_code"],
            "flag": "INSUFFICIENT_SAMPLE",
            "reason": "有效评价企业" + n + "家,少于最低样本量" + str(minimum) + "家,本期不参与排名",
            "reason_en": n + " valid respondents, fewer than the minimum of " + str(minimum) + "; not ranked",
        }
    )


def period_flags(rankings: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    flags = pd.concat([bottom_n(rankings, policy), insufficient_sample(rankings, policy)], ignore_index=True)
    return flags.sort_values(["flag", "unit_code"], ignore_index=True)[FLAG_COLUMNS]
