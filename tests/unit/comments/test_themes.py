"""Comments filed under the themes of survey_schemas/themes.yaml, as enterprises write them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bizenv.comments.themes import classify, matches
from bizenv.errors import SchemaError
from bizenv.schemas.loader import load_themes

# One real-looking comment per theme, about that theme only.
ONE_THEME = {
    "trips": "为了一个备案跑了好几趟,每次都说材料不全",
    "time_limit": "希望进一步压缩办理时限",
    "rent_seeking": "个别工作人员吃拿卡要,暗示要给好处费",
    "policy": "去年的技改奖励资金到现在还没到位",
    "attitude": "窗口人员态度冷漠,问三句答一句",
    "transparency": "建议网上可查询办理进度",
    "buck_passing": "两个科室互相踢皮球,谁都不管",
    "praise": "整体满意,点赞",
}


def themes_of(text: str) -> list[str]:
    rows = classify(pd.Series([text]))
    return rows["theme"].tolist()


@pytest.mark.parametrize(("theme", "text"), ONE_THEME.items())
def test_each_theme_is_recognised_alone(theme: str, text: str) -> None:
    assert themes_of(text) == [theme]


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("来回跑了三趟才办成", "trips"),
        ("多次跑窗口补材料", "trips"),
        ("审批太慢,一个证办了两个月", "time_limit"),
        ("材料交上去一拖再拖", "time_limit"),
        ("有人故意刁难,还索要钱物", "rent_seeking"),
        ("稳岗补贴申请半年了还没兑现", "policy"),
        ("希望政策兑现再快一点", "policy"),
        ("服务很热情", "attitude"),
        ("办事指南和网上公开的不一致", "transparency"),
        ("推诿扯皮,让我们去找别的部门", "buck_passing"),
        ("窗口服务非常好", "praise"),
    ],
)
def test_wordings_of_each_theme(text: str, theme: str) -> None:
    assert theme in themes_of(text)


def test_a_comment_about_several_things_is_under_each_theme() -> None:
    text = "跑了好几趟,审批太慢,补贴也迟迟不兑现,窗口态度倒是很好"
    assert themes_of(text) == ["trips", "time_limit", "policy", "attitude", "praise"]


@pytest.mark.parametrize("text", ["不太满意", "服务不满意", "态度不是很好", "感觉一般"])
def test_negated_praise_is_not_praise(text: str) -> None:
    assert "praise" not in themes_of(text)


def test_arrears_are_policy_not_processing_time() -> None:
    assert themes_of("拖欠企业奖补资金") == ["policy"]


@pytest.mark.parametrize("text", ["无", "暂无意见", "希望多组织企业座谈", "", None])
def test_a_comment_about_nothing_listed_is_other(text: str | None) -> None:
    rows = classify(pd.Series([text]))
    assert rows.to_dict("records") == [{"comment_index": 0, "theme": "other", "label": "其他"}]


def test_rows_name_the_comment_by_its_index_in_order() -> None:
    comments = pd.Series(["踢皮球", "很好", "无"], index=[42, 7, 13])
    rows = classify(comments)
    assert rows[["comment_index", "theme"]].to_records(index=False).tolist() == [
        (42, "buck_passing"),
        (7, "praise"),
        (13, "other"),
    ]
    assert list(rows.columns) == ["comment_index", "theme", "label"]


def test_every_comment_has_a_row_and_other_excludes_the_rest() -> None:
    comments = pd.Series([*ONE_THEME.values(), "暂无", "跑了好几趟"] * 50)
    hits = matches(comments)
    assert hits.any(axis=1).all()
    assert not (hits["other"] & hits.drop(columns="other").any(axis=1)).any()
    assert len(classify(comments)) == int(hits.to_numpy().sum())


def test_the_file_names_every_theme_the_brief_needs() -> None:
    labels = set(load_themes().labels().values())
    assert {
        "跑动次数",
        "审批时限",
        "吃拿卡要",
        "政策兑现",
        "服务态度",
        "信息公开",
        "推诿扯皮",
        "表扬",
        "其他",
    } <= labels


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "themes.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
version: 1
other: {code: other, label: 其他, label_en: Other}
themes:
  - {code: trips, label: 跑动次数, label_en: Trips, keywords: [跑了好几趟]}
"""


def test_a_custom_file_is_used(tmp_path: Path) -> None:
    themes = load_themes(write(tmp_path, GOOD))
    rows = classify(pd.Series(["跑了好几趟", "审批太慢"]), themes)
    assert rows["theme"].tolist() == ["trips", "other"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("version: 1\nthemes: [\n", "not valid YAML"),
        (GOOD.replace("keywords: [跑了好几趟]", "patterns: ['跑(']"), "not a valid regular expression"),
        (GOOD.replace("keywords: [跑了好几趟]", "keywords: []"), "needs keywords or patterns"),
        (GOOD.replace("keywords: [跑了好几趟]", "patterns: ['.*']"), "matches empty text"),
        (GOOD.replace("code: trips", "code: other"), "theme codes repeated: other"),
        (GOOD.replace("label_en: Trips,", "label_en: Trips, colour: red,"), "colour"),
    ],
)
def test_a_bad_file_is_a_one_line_error_naming_it(tmp_path: Path, text: str, says: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SchemaError) as raised:
        load_themes(path)
    message = str(raised.value)
    assert "\n" not in message
    assert str(path) in message
    assert says in message
