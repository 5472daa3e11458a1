"""The masking patterns of survey_schemas/privacy.yaml, one by one, and where they apply."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from bizenv.errors import SchemaError
from bizenv.ingest.privacy import (
    hash_identities,
    hashed_key,
    mask_details,
    mask_ip,
    mask_original_values,
    mask_string,
    mask_text,
    private_sample,
)
from bizenv.schemas.loader import load_privacy
from tests.builders import credit_code

CODE = credit_code(7)


def masked(text: str) -> str:
    return mask_text(pd.Series([text])).iloc[0]


def pattern(name: str) -> re.Pattern[str]:
    return next(p for p in load_privacy().patterns if p.name == name).compiled()


@pytest.mark.parametrize(
    ("name", "positive", "negative"),
    [
        ("id_number", ["42070019900101123X", "420700199001011234", "４２０７００１９９００１０１１２３Ｘ"],
         ["4207001990010112", "4207001990010112345"]),
        ("credit_code", [CODE, CODE.lower(), "91350100M000100Y43"],
         ["91420700ABC", "informationtechnol", "sha256:" + "a1" * 32]),
        ("mobile", ["13912345678", "139.1234.5678", "139-1234-5678", "139 1234 5678", "+86 13912345678",
                    "１３９１２３４５６７８"],
         ["12912345678", "1391234567", "办理时限3个工作日"]),
        ("landline", ["0711-3456789", "07113456789", "(0711)3456789", "０７１１－３４５６７８９"],
         ["2026-03-05", "0711-345"]),
        ("email", ["zhang.san@example.com", "a_b+c@mail.qq.com.cn", "li＠163.com"], ["zhang@", "@example", "a@b"]),
        ("ipv4", ["203.0.113.7", "10.1.2.3"], ["1.2.3", "999.1.2.3", "2026.05.10"]),
        ("contact_name", ["联系人：张三", "联系人张三", "姓名: 李四", "经办人 欧阳娜娜", "联系人:Zhang San"],
         ["联系人：", "姓名：", "请联系我们"]),
    ],
)  # fmt: skip
def test_each_pattern_matches_what_it_should_and_nothing_else(name, positive, negative):
    for text in positive:
        assert pattern(name).search(text), f"{name} misses {text!r}"
    for text in negative:
        assert not pattern(name).search(text), f"{name} matches {text!r}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the masking that was there before
        ("请联系13912345678或0711-3456789", "请联系[电话]或[电话]"),
        ("身份证42070019900101123X办理", "身份证[身份证号]办理"),
        ("办理时限3个工作日", "办理时限3个工作日"),
        # what it missed
        ("电话139.1234.5678", "电话[电话]"),
        ("电话１３９１２３４５６７８", "电话[电话]"),
        (f"我司代码{CODE}，办事慢", "我司代码[信用代码]，办事慢"),
        ("邮箱zhang.san@example.com谢谢", "邮箱[邮箱]谢谢"),
        ("联系人：张三，电话13912345678", "联系人：[姓名]，电话[电话]"),
        ("姓名 李四", "姓名 [姓名]"),
        ("来自203.0.113.7", "来自203.0.*.*"),
        # dates, times and amounts are not identities
        ("2026-05-10T10:00:00 等了300秒, 1.5万元", "2026-05-10T10:00:00 等了300秒, 1.5万元"),
    ],
)
def test_comments_are_masked(text, expected):
    assert masked(text) == expected
    assert mask_string(text) == expected


def test_ip_keeps_two_octets():
    assert mask_ip("203.0.113.7") == "203.0.*.*"
    assert mask_ip("203.0.113.7(湖北-鄂州)") == "203.0.*.*(湖北-鄂州)"
    assert mask_ip("") == ""
    assert mask_ip("2001:db8::1") == "*"


def test_bad_credit_code_in_details_becomes_its_salted_hash():
    details = pd.Series(
        [
            "bad_credit_code: 统一社会信用代码='91420700abc' is not a valid 18-character credit code",
            "off_scale: 办理时限='13912345678' is not an answer on the scale | duplicate: superseded by row 4",
        ]
    )
    out = mask_details(details, "salt").tolist()
    assert "91420700abc" not in out[0].lower()
    assert out[0] == (
        "bad_credit_code: 统一社会信用代码='"
        + hashed_key("91420700abc", "salt")
        + "' is not a valid 18-character credit code"
    )
    assert (
        out[1]
        == "off_scale: 办理时限='[电话]' is not an answer on the scale | duplicate: superseded by row 4"
    )


def test_original_values_masked_hashes_kept_and_clean_rows_untouched():
    hashed = hashed_key(CODE, "s")
    raw = pd.Series(
        [
            json.dumps({"respondent_id": hashed, "comment": "联系人：张三 13912345678", "来自IP": "203.0.113.7"},
                       ensure_ascii=False),
            '{"unit":"市发改委","comment":"好"}',
        ]
    )  # fmt: skip
    out = mask_original_values(raw)
    cells = json.loads(out.iloc[0])
    assert cells == {"respondent_id": hashed, "comment": "联系人：[姓名] [电话]", "来自IP": "203.0.*.*"}
    assert out.iloc[1] == raw.iloc[1]


def test_validation_samples_hold_hashes_of_keys():
    salt = "s"
    expected = "sha256:" + hash_identities(pd.Series([CODE]), salt).iloc[0]
    assert private_sample([CODE, " " + CODE.lower()], "respondent_key", salt) == [expected, expected]
    compound = private_sample(
        [{"respondent_key": CODE, "unit_code": "ndrc"}], "respondent_key,unit_code", salt
    )
    assert compound == [{"respondent_key": expected, "unit_code": "ndrc"}]
    # other columns keep their values, with identities in them masked
    assert private_sample(["很好", "13912345678", 3], "q1", salt) == ["很好", "[电话]", 3]
    assert private_sample([CODE], "respondent_key", None) == ["[信用代码]"]


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_a_bad_regex_is_reported_with_file_and_key(tmp_path):
    file = _write(tmp_path / "privacy.yaml", "patterns:\n  - {name: a, regex: '[0-9', replacement: x}\n")
    with pytest.raises(SchemaError) as err:
        load_privacy(file)
    assert str(file) in str(err.value)
    assert "patterns.0.regex" in str(err.value)
    assert "not a valid regular expression" in str(err.value)


def test_a_replacement_naming_a_missing_group_and_repeated_names_are_reported(tmp_path):
    file = _write(
        tmp_path / "privacy.yaml",
        "patterns:\n  - {name: a, regex: '(x)', replacement: '\\2'}\n  - {name: b, regex: 'y', replacement: z}\n",
    )
    with pytest.raises(SchemaError, match="names group 2"):
        load_privacy(file)
    repeated = _write(
        tmp_path / "p2.yaml",
        "patterns:\n  - {name: a, regex: 'x', replacement: y}\n  - {name: a, regex: 'z', replacement: y}\n",
    )
    with pytest.raises(SchemaError, match="repeated: a"):
        load_privacy(repeated)
    extra = _write(tmp_path / "p3.yaml", "patterns:\n  - {name: a, regex: 'x', replacement: y, flags: i}\n")
    with pytest.raises(SchemaError, match="patterns.0.flags"):
        load_privacy(extra)
