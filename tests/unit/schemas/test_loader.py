from pathlib import Path

import pytest
import yaml

from bizenv.config import schemas_dir
from bizenv.errors import SchemaError
from bizenv.schemas import load_policy, load_questionnaire, load_registry

# The 35 units of the 2019 special inquiry, as written in seed 000.
SEED_UNITS = [
    "市发改委",
    "科技局",
    "经信局",
    "公安局",
    "司法局",
    "财政局",
    "人社局",
    "自然资源和规划局",
    "生态环境局",
    "住建局",
    "交通局",
    "水利和湖泊局",
    "商务局",
    "应急管理局",
    "国资委",
    "市场监管局",
    "统计局",
    "医疗保障局",
    "人防办",
    "城管委",
    "市政府研究室",
    "地方金融局",
    "行政审批局",
    "公共资源交易中心",
    "招商服务中心",
    "临空物流发展服务中心",
    "人行鄂州中支",
    "银保监分局",
    "税务局",
    "鄂州海关",
    "市水务集团",
    "供电公司",
    "安泰天然气公司",
] + ["市中级人民法院", "市人民检察院"]


def test_registry_holds_the_35_units_of_the_seed_each_resolvable_by_its_name():
    registry = load_registry()
    assert len(registry.units) == 35
    codes = {registry.resolve(name) for name in SEED_UNITS}
    assert None not in codes
    assert len(codes) == 35


def test_names_resolve_with_and_without_the_city_prefix_and_by_full_name():
    registry = load_registry()
    assert registry.resolve("发改委") == registry.resolve("市发改委") == "ndrc"
    assert registry.resolve("市科技局") == "sci_tech"
    assert registry.resolve("鄂州市市场监督管理局") == "market_regulation"
    assert registry.resolve("中级人民法院") == "intermediate_court"


def test_every_unit_is_in_a_known_comparison_group():
    registry = load_registry()
    assert {u.group for u in registry.units} == set(registry.groups)


def test_standard_questionnaire_is_as_designed():
    q = load_questionnaire()
    assert [d.label for d in q.dimensions] == ["服务态度", "办事效率", "政策落实", "廉洁自律", "公开透明"]
    assert [d.weight for d in q.dimensions] == [0.2] * 5
    assert len(q.items()) == 10
    assert q.scale.labels == {"非常满意": 5, "满意": 4, "一般": 3, "不满意": 2, "非常不满意": 1}
    assert set(q.missing_labels) == {"不了解", "未接触", "不适用", "(跳过)", "(空)"}


def test_policy_defaults():
    policy = load_policy()
    assert policy.min_respondents == 30
    assert policy.flags.bottom_n == 5
    assert policy.flags.consecutive_periods == 2
    assert (policy.composite_weights.satisfaction, policy.composite_weights.indicators) == (0.6, 0.4)


def _broken_copy(tmp_path: Path, name: str, edit) -> Path:
    data = yaml.safe_load((schemas_dir() / name).read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_questionnaire_problems_are_all_reported_with_file_and_key(tmp_path):
    def edit(data):
        data["dimensions"][0]["weight"] = 0.3
        data["dimensions"][1]["items"][0]["label"] = data["dimensions"][0]["items"][0]["label"]
        data["scale"]["labels"]["超级满意"] = 9
        data["dimensions"][2]["wieght"] = 0.2

    path = _broken_copy(tmp_path, "enterprise_satisfaction_v1.yaml", edit)
    with pytest.raises(SchemaError) as info:
        load_questionnaire("x", path=path)
    message = str(info.value)
    assert str(path) in message
    assert "scale: labels outside 1..5" in message
    assert "dimensions.2.wieght: Extra inputs are not permitted" in message
    # Cross-field rules run once the fields themselves are valid:
    path = _broken_copy(
        tmp_path,
        "enterprise_satisfaction_v1.yaml",
        lambda d: (
            d["dimensions"][0].update(weight=0.3),
            d["dimensions"][1]["items"][0].update(label=d["dimensions"][0]["items"][0]["label"]),
        ),
    )
    with pytest.raises(SchemaError) as info:
        load_questionnaire("y", path=path)
    assert "dimension weights sum to 1.1, not 1" in str(info.value)
    assert "duplicate item labels ['工作人员态度热情周到']" in str(info.value)


def test_registry_problems_name_the_unit(tmp_path):
    def edit(data):
        data["units"][0]["group"] = "ministries"
        data["units"][1]["aliases"].append("发改委")

    path = _broken_copy(tmp_path, "units.yaml", edit)
    with pytest.raises(SchemaError) as info:
        load_registry(path)
    assert "unit ndrc: unknown group 'ministries'" in str(info.value)
    assert "name '发改委' is used by both ndrc and sci_tech" in str(info.value)


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\nflags: [unclosed\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"policy.yaml: line \d+: not valid YAML"):
        load_policy(path)
