import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from bizenv.ranking.ranks import rank_in_groups


def units(scores, groups=None, ranked=True) -> pd.DataFrame:
    n = len(scores)
    return pd.DataFrame(
        {
            "unit_code": [f"u{i:02d}" for i in range(n)],
            "group_code": groups or ["g"] * n,
            "level": "department",
            "composite_score": scores,
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
