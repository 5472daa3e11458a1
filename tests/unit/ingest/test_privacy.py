import pandas as pd

from bizenv.ingest.privacy import hash_identities, mask_personal_numbers


def test_hash_is_salted_and_ignores_case_and_spaces():
    keys = pd.Series(["91350100M000100Y43", " 91350100m000100y43"])
    a = hash_identities(keys, "salt-a")
    assert a.iloc[0] == a.iloc[1]
    assert a.iloc[0] != hash_identities(keys, "salt-b").iloc[0]
    assert "91350100" not in a.iloc[0]


def test_phone_and_id_numbers_in_comments_are_masked():
    text = pd.Series(["请联系13912345678或0711-3456789", "身份证42070019900101123X办理", "办理时限3个工作日"])
    masked = mask_personal_numbers(text).tolist()
    assert masked == ["请联系[电话]或[电话]", "身份证[身份证号]办理", "办理时限3个工作日"]
