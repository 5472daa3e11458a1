"""A realistic, reproducible demo data set: enterprises rating the 35 units over two half-years.

Each unit has a latent quality that drifts a little between periods; each enterprise has a
leniency of its own; answers are 5-point labels with some 不了解/未接触, plus a handful of bad
rows (unknown unit, off-scale answer, broken credit code) so quarantine has something to show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bizenv.ingest.canonical import expected_columns
from bizenv.ingest.uscc import ALPHABET, WEIGHTS
from bizenv.periods import Period
from bizenv.schemas import load_indicators, load_questionnaire, load_registry

DEMO_PERIODS = ("2025H2", "2026H1")
SIZE_SHARES = {"大型": 0.04, "中型": 0.16, "小型": 0.45, "微型": 0.35}
DISTRICT_SHARES = {"鄂城区": 0.34, "华容区": 0.2, "梁子湖区": 0.1, "葛店开发区": 0.22, "临空经济区": 0.14}
OWNERSHIP_SHARES = {"国有": 0.08, "民营": 0.8, "外资": 0.05, "其他": 0.07}
INDUSTRIES = [
    "制造业",
    "批发和零售业",
    "建筑业",
    "交通运输业",
    "信息技术服务业",
    "住宿和餐饮业",
    "农业",
    "金融业",
]
# Units few enterprises deal with: their samples fall short of the minimum.
RARELY_CONTACTED = {"gov_research": 0.004, "civil_air_defense": 0.006, "statistics": 0.02}


def credit_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct, valid 18-character unified social credit codes of Ezhou (420700) enterprises."""
    alphabet = np.array(list(ALPHABET))
    body_random = rng.integers(0, len(ALPHABET), size=(n * 2, 9))
    prefix = np.array([ALPHABET.index(c) for c in "91420700"])
    bodies = np.unique(np.hstack([np.tile(prefix, (n * 2, 1)), body_random]), axis=0)
    bodies = bodies[rng.permutation(len(bodies))[:n]]
    check = (31 - (bodies @ WEIGHTS) % 31) % 31
    return np.array(["".join(row) for row in alphabet[np.hstack([bodies, check[:, None]])]])


def _choice(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    keys = list(shares)
    p = np.array([shares[k] for k in keys])
    return np.array(keys)[rng.choice(len(keys), size=n, p=p / p.sum())]


def survey_frame(period: Period, respondents: int, seed: int, quality_shift: float = 0.0) -> pd.DataFrame:
    """One canonical survey batch for `period`; same seed → same firms, unit qualities drift by period."""
    questionnaire = load_questionnaire()
    registry = load_registry()
    units = [u for u in registry.units if u.active]
    base = np.random.default_rng(seed)
    quality = base.normal(3.9, 0.35, size=len(units))
    popularity = np.array([RARELY_CONTACTED.get(u.code, base.uniform(0.08, 0.35)) for u in units])
    firms = credit_codes(base, respondents)
    sizes = _choice(base, SIZE_SHARES, respondents)
    districts = _choice(base, DISTRICT_SHARES, respondents)
    ownership = _choice(base, OWNERSHIP_SHARES, respondents)
    industry = np.array(INDUSTRIES)[base.integers(0, len(INDUSTRIES), respondents)]

    rng = np.random.default_rng([seed, period.year, period.half])
    quality = quality + quality_shift + rng.normal(0, 0.12, size=len(units))
    leniency = rng.normal(0, 0.45, size=respondents) + np.where(sizes == "大型", 0.1, 0.0)
    rates = rng.random((respondents, len(units))) < popularity
    firm_idx, unit_idx = np.nonzero(rates)
    n = len(firm_idx)

    items = questionnaire.items()
    item_bias = rng.normal(0, 0.15, size=len(items))
    latent = (
        quality[unit_idx, None] + leniency[firm_idx, None] + item_bias + rng.normal(0, 0.7, (n, len(items)))
    )
    points = np.clip(np.rint(latent), 1, 5).astype(int)
    by_point = {v: k for k, v in questionnaire.scale.labels.items()}
    answers = np.vectorize(by_point.get)(points).astype(object)
    unknown = rng.random((n, len(items))) < 0.04
    answers[unknown] = np.array(["不了解", "未接触", "不适用"])[rng.integers(0, 3, unknown.sum())]
    answers[rng.random((n, len(items))) < 0.01] = ""

    start = pd.Timestamp(period.end) - pd.Timedelta(days=40)
    submitted = start + pd.to_timedelta(rng.integers(0, 50 * 86400, size=respondents), unit="s")
    duration = rng.lognormal(np.log(420), 0.4, size=respondents).round().astype(int)
    comments = np.where(
        rng.random(n) < 0.08,
        np.array(
            ["希望进一步压缩办理时限", "政策兑现还需加快", "窗口服务态度很好", "建议网上可查询办理进度"]
        )[rng.integers(0, 4, n)],
        "",
    )
    frame = pd.DataFrame(
        {
            "respondent_id": firms[firm_idx],
            "unit": np.array([u.name for u in units])[unit_idx],
            "submitted_at": submitted[firm_idx].strftime("%Y-%m-%dT%H:%M:%S"),
            "duration_seconds": duration[firm_idx].astype(str),
            "enterprise_size": sizes[firm_idx],
            "district": districts[firm_idx],
            "industry": industry[firm_idx],
            "ownership": ownership[firm_idx],
            **{item.label: answers[:, j] for j, item in enumerate(items)},
            "comment": comments,
        }
    )
    frame = _inject_bad_rows(frame, rng, items[0].label)
    return frame[expected_columns(questionnaire)]


def _inject_bad_rows(frame: pd.DataFrame, rng: np.random.Generator, item_label: str) -> pd.DataFrame:
    """A few rows of each common fault, as evaluators meet them in real exports."""
    bad = frame.sample(n=min(12, len(frame)), random_state=int(rng.integers(0, 2**31))).copy()
    kinds = np.arange(len(bad)) % 4
    bad.loc[kinds == 0, "unit"] = "市教育局"  # not among the evaluated units
    bad.loc[kinds == 1, item_label] = "很满意"  # not a label of the scale
    bad.loc[kinds == 2, "respondent_id"] = bad.loc[kinds == 2, "respondent_id"].str[:-1] + "0"
    bad.loc[kinds == 3, "submitted_at"] = "2019-13-45"
    return pd.concat([frame, bad], ignore_index=True)


def to_wenjuanxing(
    canonical_rows: pd.DataFrame, units: list[str], first_number: int = 1, rng_seed: int = 0
) -> pd.DataFrame:
    """The same answers as a 问卷星-style wide export: one row per respondent, a grid per unit.

    `units` are the names written in the grid questions, in questionnaire order; a respondent
    who did not rate a unit has its grid skipped, as 问卷星's skip logic exports it.
    """
    questionnaire = load_questionnaire()
    labels = [item.label for item in questionnaire.items()]
    rng = np.random.default_rng(rng_seed)
    firms = canonical_rows.drop_duplicates("respondent_id").reset_index(drop=True)
    n = first_number
    wide = pd.DataFrame(
        {
            "序号": np.arange(1, len(firms) + 1).astype(str),
            "提交答卷时间": pd.to_datetime(firms["submitted_at"]).map(
                lambda t: f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}:{t.second:02d}"
            ),
            "所用时间": firms["duration_seconds"] + "秒",
            "来源": "手机提交",
            "来源详情": "直接访问",
            "来自IP": [f"58.19.{a}.{b}(湖北-鄂州)" for a, b in rng.integers(1, 255, (len(firms), 2))],
            f"{n}、贵企业的统一社会信用代码": firms["respondent_id"],
            f"{n + 1}、企业规模": firms["enterprise_size"],
            f"{n + 2}、所在区": firms["district"],
            f"{n + 3}、所属行业": firms["industry"],
            f"{n + 4}、企业性质": firms["ownership"],
        }
    )
    n += 5
    rated = canonical_rows.set_index(["respondent_id", "unit"])
    for unit in units:
        block = rated.xs(unit, level="unit") if unit in rated.index.get_level_values("unit") else None
        for label in labels:
            column = f"{n}、请您对{unit}的服务进行评价—{label}"
            values = block[label].reindex(firms["respondent_id"]) if block is not None else None
            wide[column] = "(跳过)" if values is None else values.fillna("(跳过)").to_numpy()
        n += 1
    comments = canonical_rows.groupby("respondent_id")["comment"].agg(lambda c: "".join(c))
    wide[f"{n}、您对优化营商环境的意见建议"] = (
        comments.reindex(firms["respondent_id"]).replace("", "(空)").to_numpy()
    )
    return wide


# Enterprises of the city by size and district (the population the sample is raked to).
POPULATION = {
    "enterprise_size": {"大型": 260, "中型": 2100, "小型": 9800, "微型": 13840},
    "district": {"鄂城区": 9100, "华容区": 5200, "梁子湖区": 2300, "葛店开发区": 6000, "临空经济区": 3400},
}


def metrics_frame(period: Period, seed: int) -> pd.DataFrame:
    """Each responsible unit's value of each indicator, around the national benchmarks; units
    keep their strengths from one period to the next, with some noise."""
    catalogue = load_indicators()
    units = {u.code: u.name for u in load_registry().units}
    strength = np.random.default_rng(seed)
    unit_strength = {code: strength.normal(0.3, 0.6) for code in sorted(units)}
    rng = np.random.default_rng([seed, period.year, period.half, 1])
    rows = []
    for indicator in catalogue.indicators:
        step = indicator.benchmarks.advanced - indicator.benchmarks.leading  # sign follows direction
        for code in indicator.responsible:
            goodness = unit_strength[code] + rng.normal(0, 0.5)
            value = indicator.benchmarks.advanced - goodness * step
            value = float(np.clip(value, indicator.bounds.min, indicator.bounds.max))
            rows.append((units[code], indicator.code, f"{value:.1f}", "第三方评估机构核查"))
    rows.append((units["tax"], "tax_refund_days", "5", "第三方评估机构核查"))  # not in the catalogue
    return pd.DataFrame(rows, columns=["unit", "indicator", "value", "source"])


def margins_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (attribute, category, count)
            for attribute, counts in POPULATION.items()
            for category, count in counts.items()
        ],
        columns=["attribute", "category", "population"],
    )


def write_demo_data(out: Path, respondents: int = 3000, seed: int = 7) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    for shift, label in zip((0.0, 0.05), DEMO_PERIODS, strict=True):
        frame = survey_frame(Period.parse(label), respondents, seed, quality_shift=shift)
        path = out / f"survey_{label}.csv"
        frame.to_csv(path, index=False, encoding="utf-8")
        files[label] = {"survey": str(path), "rows": len(frame)}
        metrics_path = out / f"metrics_{label}.csv"
        metrics_frame(Period.parse(label), seed).to_csv(metrics_path, index=False, encoding="utf-8")
        margins_path = out / f"margins_{label}.csv"
        margins_frame().to_csv(margins_path, index=False, encoding="utf-8")
        files[label] |= {"metrics": str(metrics_path), "margins": str(margins_path)}
    # A second batch for the last period from other enterprises, exported by 问卷星 as Excel
    # on Chinese Windows writes it: wide, GB18030, dates as YYYY/M/D H:MM:SS.
    label = DEMO_PERIODS[-1]
    extra = survey_frame(Period.parse(label), max(respondents // 10, 1), seed + 1000, quality_shift=0.05)
    extra = extra[extra["unit"].isin([u.name for u in load_registry().units])]
    extra = extra[pd.to_datetime(extra["submitted_at"], errors="coerce").notna()]
    extra = extra.drop_duplicates(["respondent_id", "unit"], keep="first")
    wide = to_wenjuanxing(extra, [u.name for u in load_registry().units if u.active], 1, seed)
    path = out / f"survey_{label}_wenjuanxing.csv"
    wide.to_csv(path, index=False, encoding="gb18030")
    files[label]["wenjuanxing"] = str(path)
    files[label]["wenjuanxing_respondents"] = len(wide)
    return {"out": str(out), "respondents": respondents, "seed": seed, "periods": files}
