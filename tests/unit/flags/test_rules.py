import pandas as pd

from bizenv.flags.rules import bottom_n, insufficient_sample
from bizenv.schemas import load_policy

POLICY = load_policy()


def group(scores, n_respondents=100, group_code="government") -> pd.DataFrame:  # noqa: ANN001
    frame = pd.DataFrame(
        {
            "unit_code": [f"u{i:02d}" for i in range(len(scores))],
            "group_code": group_code,
            "level": "department",
            "composite_score": scores,
            "n_respondents": n_respondents,
        }
    )
    frame["ranked"] = frame["n_respondents"] >= POLICY.min_respondents
    frame["rank"] = frame["composite_score"].where(frame["ranked"]).rank(method="min", ascending=False)
    frame["group_ranked"] = frame["ranked"].sum()
    return frame


def test_bottom_five_of_a_group_are_flagged_with_rank_and_score():
    frame = group([90.0 - i for i in range(12)])
    flags = bottom_n(frame, POLICY)
    assert sorted(flags["unit_code"]) == ["u07", "u08", "u09", "u10", "u11"]
    reason = flags.set_index("unit_code").loc["u11", "reason"]
    assert "12家参评单位中排名第12" in reason and "79.0" in reason


def test_ties_at_the_boundary_are_all_included_and_the_reason_says_so():
    exactly_five = bottom_n(group([90.0, 89, 88, 87, 86, 85, 84, 60, 60, 60, 60, 60]), POLICY)
    assert len(exactly_five) == 5
    assert not any("并列" in r for r in exactly_five["reason"])
    tied6 = group([90.0, 89, 88, 87, 86, 85, 60, 60, 60, 60, 60, 60])
    flags6 = bottom_n(tied6, POLICY)
    assert len(flags6) == 6
    assert all("并列" in r for r in flags6["reason"])


def test_small_groups_get_no_bottom_n_flag():
    assert bottom_n(group([80.0, 70.0, 60.0], group_code="utility"), POLICY).empty


def test_unranked_units_get_insufficient_sample_not_bottom_n():
    frame = group([90.0 - i for i in range(12)], n_respondents=[100] * 11 + [12])
    assert "u11" not in set(bottom_n(frame, POLICY)["unit_code"])
    flags = insufficient_sample(frame, POLICY)
    assert flags["unit_code"].tolist() == ["u11"]
    assert "12家" in flags["reason"].iloc[0] and "30家" in flags["reason"].iloc[0]
