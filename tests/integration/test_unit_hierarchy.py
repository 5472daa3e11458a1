"""Divisions (处室) and stations (基层站所) registered under a department rank at their own level."""

import shutil

import pandas as pd
import yaml

from bizenv.cli import main
from bizenv.config import schemas_dir
from tests.builders import unit_sample, write_survey


def test_divisions_are_ranked_among_divisions_not_departments(tmp_path, monkeypatch, capsys):
    schemas = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), schemas)
    registry = yaml.safe_load((schemas / "units.yaml").read_text(encoding="utf-8"))
    registry["units"] += [
        {"code": "admin_approval_enterprise", "name": "行政审批局企业登记科", "group": "government",
         "parent": "admin_approval", "level": "division"},
        {"code": "market_regulation_gedian", "name": "市场监管局葛店所", "group": "government",
         "parent": "market_regulation", "level": "station"},
        {"code": "market_regulation_huarong", "name": "市场监管局华容所", "group": "government",
         "parent": "market_regulation", "level": "station"},
    ]  # fmt: skip
    (schemas / "units.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("BIZENV_SCHEMAS_DIR", str(schemas))
    db = f"sqlite:///{tmp_path / 'w.sqlite'}"

    rows = unit_sample("市发改委", 30, "满意")
    rows += unit_sample("行政审批局企业登记科", 30, "一般", start=100)
    rows += unit_sample("市场监管局葛店所", 30, "非常满意", start=200)
    rows += unit_sample("市场监管局华容所", 30, "不满意", start=300)
    assert main(["init-db", "--db", db]) == 0
    assert (
        main(["load-survey", str(write_survey(tmp_path / "s.csv", rows)), "--period", "2026H1", "--db", db])
        == 0
    )
    assert main(["evaluate", "--period", "2026H1", "--out", str(tmp_path / "out"), "--db", db]) == 0
    capsys.readouterr()

    rankings = pd.read_csv(tmp_path / "out" / "rankings.csv").set_index("unit_code")
    assert len(rankings) == 38
    assert rankings.loc["ndrc", "rank"] == 1  # ranked above nothing at department level but itself
    assert rankings.loc["admin_approval_enterprise", "rank"] == 1  # the only ranked division
    assert rankings.loc["market_regulation_gedian", "rank"] == 1
    assert rankings.loc["market_regulation_huarong", "rank"] == 2
