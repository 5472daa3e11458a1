import pandas as pd

from bizenv.uscc import check_character, valid_uscc


def test_check_character_of_a_published_example():
    # GB 32100-2015's worked example: 91350100M000100Y4 → check character 3.
    assert check_character("91350100M000100Y4") == "3"


def test_valid_uscc_accepts_correct_codes_and_rejects_altered_ones():
    codes = pd.Series(
        ["91350100M000100Y43", "91350100M000100Y44", "91350100M000100Y4", "", "9135O100M000100Y43"]
    )
    assert valid_uscc(codes).tolist() == [True, False, False, False, False]


def test_valid_uscc_accepts_lower_case_and_surrounding_spaces():
    assert valid_uscc(pd.Series([" 91350100m000100y43 "])).tolist() == [True]
