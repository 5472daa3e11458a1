import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bizenv.ranking.ranks import composite, rank_in_groups, rank_intervals
from bizenv.schemas import load_policy

POLICY = load_policy()


def units(scores, groups=None, se=1.0, ranked=True) -> pd.DataFrame:  # noqa: ANN001
    n = len(scores)
    return pd.DataFrame(
        {
            "unit_code": [f"u{i:02d}" for i in range(n)],
            "group_code": groups or ["g"] * n,
            "level": "department",
            "composite_score": scores,
            "composite_se": se,
            "ranked": ranked,
        }
    )


def test_rank_one_is_best_and_ties_share_the_best_rank():
    frame = units([70.0, 80.0, 80.0, 60.0])
    assert rank_in_groups(frame, ["group_code"]).tolist() == [3, 1, 1, 4]


def test_ranks_are_within_groups_and_skip_unranked_units():
    frame = units([70.0, 80.0, 90.0, 60.0], groups=["a", "a", "b", "b"])
    frame.loc[1, "ranked"] = False
    assert rank_in_groups(frame, ["group_code", "level"]).tolist() == [1, pd.NA, 1, 2]


def test_composite_uses_policy_weights_and_falls_back_to_the_part_present():
    frame = pd.DataFrame(
        {
            "satisfaction_index": [80.0, 70.0, np.nan],
            "satisfaction_se": [2.0, 1.0, np.nan],
            "indicator_score": [50.0, np.nan, 40.0],
        }
    )
    out = composite(frame, POLICY)
    assert out["composite_score"].tolist() == pytest.approx([0.6 * 80 + 0.4 * 50, 70.0, 40.0])
    assert out["composite_basis"].tolist() == ["both", "satisfaction_only", "indicators_only"]
    assert out["composite_se"].tolist() == pytest.approx([1.2, 1.0, 0.0])


def test_rank_intervals_are_reproducible_and_contain_the_rank():
    frame = units([80.0, 79.5, 79.0, 60.0, 50.0], se=[0.5, 0.5, 0.5, 0.01, 0.01])
    frame["rank"] = rank_in_groups(frame, ["group_code"])
    a = rank_intervals(frame, ["group_code"], 2000, 1)
    b = rank_intervals(frame, ["group_code"], 2000, 1)
    pd.testing.assert_frame_equal(a, b)
    assert (a["rank_ci_low"] <= frame["rank"]).all() and (frame["rank"] <= a["rank_ci_high"]).all()
    assert a.loc[3].tolist() == [4, 4] and a.loc[4].tolist() == [5, 5]
    assert a.loc[0, "rank_ci_low"] == 1 and a.loc[0, "rank_ci_high"] == 3


@settings(max_examples=50, deadline=None)
@given(
    scores=st.lists(st.floats(0, 100, allow_nan=False), min_size=2, max_size=12),
    which=st.integers(0, 11),
    drop=st.floats(0.01, 50),
)
def test_a_units_rank_never_improves_when_its_score_drops(scores, which, drop):
    which %= len(scores)
    before = rank_in_groups(units(scores), ["group_code"])[which]
    lowered = list(scores)
    lowered[which] -= drop
    after = rank_in_groups(units(lowered), ["group_code"])[which]
    assert after >= before


@settings(max_examples=30, deadline=None)
@given(scores=st.lists(st.floats(0, 100, allow_nan=False), min_size=2, max_size=10), seed=st.integers(0, 99))
def test_relabelling_units_permutes_ranks(scores, seed):
    frame = units(scores)
    perm = np.random.default_rng(seed).permutation(len(scores))
    shuffled = frame.iloc[perm].reset_index(drop=True)
    original = dict(zip(frame["unit_code"], rank_in_groups(frame, ["group_code"]), strict=True))
    permuted = dict(zip(shuffled["unit_code"], rank_in_groups(shuffled, ["group_code"]), strict=True))
    assert original == permuted
