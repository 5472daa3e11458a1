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

# Enterprises' comments as they write them, in four banks: the bank is the one the comment
# draw picks (so the answers and everything computed from them stay as they were), the text in
# it comes from a generator of its own.
COMMENT_BANKS: tuple[tuple[str, ...], ...] = (
    (  # processing time, trips
        "希望进一步压缩办理时限",
        "审批太慢，一个许可办了两个多月",
        "材料交上去以后迟迟没有回音，建议明确办理时限",
        "承诺时限是5个工作日，实际等了半个月",
        "项目备案一拖再拖，耽误了开工",
        "环评审批周期太长，希望并联审批",
        "办理效率低，同一个事要签好几个字",
        "施工许可办理时间太长，希望压缩",
        "希望压缩办理时限，推行容缺受理",
        "验收排期太久，企业等不起",
        "不动产登记还是慢，希望一窗办结",
        "审批环节多、时间长，建议精简",
        "为了一个备案跑了好几趟，每次都说材料不全",
        "来回跑了三趟才办成，希望一次性告知清楚",
        "多次跑窗口补材料，希望能网上提交",
        "同样的材料要在不同窗口重复提交",
        "希望真正做到最多跑一次",
        "企业变更登记跑了两次税务和市场监管，能不能合并",
        "报建手续跑断腿，建议推行代办服务",
        "线上申报后还要到现场跑一次交纸质材料，没必要",
        "跑了好几趟，审批也太慢，希望改进",
        "能不能把跑腿的事交给网上办",
        "年检材料每年都要重复提供，希望数据共享",
        "办一个证跑了四次，办事效率有待提高",
        "消防验收排了一个多月，希望加快",
        "变更登记要等十几个工作日，时间太长",
        "规划许可审批时间太长，项目拖了半年",
        "网上办理系统经常卡，提交后很久才受理",
        "希望对承诺时限进行公开监督",
        "办理时限比去年缩短了，但还可以再快",
        "税务注销手续繁琐，来回跑了三四次",
        "为补一个章多次跑到不同楼层",
        "希望推行帮办代办，减少企业跑腿",
        "一件事要跑三个部门，能不能一窗受理",
        "材料要求前后不一致，白跑了两趟",
        "不动产证和水电过户要分开跑，希望联办",
    ),
    (  # policies honoured, rent seeking
        "政策兑现还需加快",
        "去年的技改奖励资金到现在还没到位",
        "稳岗补贴申请半年了还没兑现",
        "惠企政策宣传多、兑现慢，希望免申即享",
        "补贴申报材料太复杂，小微企业不会填",
        "招商时承诺的扶持资金迟迟不兑现",
        "希望政策兑现再快一点，企业资金压力大",
        "奖补资金拨付流程太长",
        "拖欠企业奖补资金的问题希望尽快解决",
        "退税到账时间比以前快多了，希望继续保持",
        "减税降费政策落实到位，点赞",
        "高新技术企业奖励资金兑现及时，感谢",
        "政策文件看不懂，兑现条件也不清楚",
        "希望政策兑现有专人对接",
        "个别工作人员吃拿卡要，暗示要给好处费",
        "检查时故意刁难，希望加强监督",
        "有人索要好处费才给办，请纪委核查",
        "办事还要托人打招呼，风气不正",
        "存在变相收费，要求企业购买指定服务",
        "执法检查时吃拿卡要现象仍然存在",
        "验收时被要求请吃饭，企业很反感",
        "没有遇到吃拿卡要，干部作风明显好转",
        "现在办事不用找关系了，很满意",
        "中介机构乱收费，希望主管部门管一管",
        "研发费用加计扣除政策落实得很好，感谢",
        "人才补贴申请条件太严，小企业拿不到",
        "招商引资时承诺的奖励一直没兑现",
        "技改补贴审核太严，拨付慢",
        "希望出台政策时同步出台兑现细则",
        "首台套奖励申报后一年多没消息",
        "贷款贴息政策兑现及时，解决了燃眉之急",
        "检查前要企业准备招待，负担重",
        "有工作人员暗示红包，希望严查",
        "个别执法人员刁难企业，随意处罚",
        "评审专家由中介指定，收费不透明",
        "政策兑现要层层盖章，太折腾",
    ),
    (  # attitude, praise
        "窗口服务态度很好",
        "工作人员热情耐心，讲解很专业",
        "窗口人员态度冷漠，问三句答一句",
        "服务态度有待提高，门难进脸难看的情况还有",
        "工作人员爱答不理，体验很差",
        "整体满意，点赞",
        "服务非常好，感谢帮办代办人员",
        "办事很顺利，非常满意",
        "窗口人员加班帮我们办完，辛苦了",
        "上门服务很贴心，给力",
        "态度不是很好，希望加强培训",
        "服务意识比去年强多了，值得肯定",
        "工作人员很专业，一次就讲清楚了",
        "对服务不太满意，等了很久没人理",
        "帮办人员热情主动，表扬一下",
        "企业服务专员很负责，感谢",
        "窗口服务挺好，就是停车不方便",
        "态度热情但业务不熟，问了也说不清",
        "窗口服务很好，办事顺畅",
        "总体比较满意，继续保持",
        "很满意，没有意见",
        "服务态度好，效率高，非常满意",
        "个别窗口人员服务态度差，希望整改",
        "电话咨询态度冷漠，经常没人接",
        "窗口工作人员很耐心，解释很清楚",
        "导办人员热情，引导很到位",
        "服务态度好，就是业务不太熟",
        "工作人员说话生硬，态度需要改进",
        "中午去办事没人，服务意识差",
        "专班上门服务，非常感谢",
        "项目秘书全程跟踪服务，很贴心",
        "对这次办事体验很满意",
        "窗口人员对企业很热情，点赞",
        "服务有明显进步，值得肯定",
        "咨询热线态度很好，回复及时",
        "个别人员玩手机不理人，态度冷漠",
    ),
    (  # transparency, buck passing, other
        "建议网上可查询办理进度",
        "办事指南和网上公开的不一致",
        "希望公开审批流程和收费标准",
        "办理进度查不到，只能打电话问",
        "办事指南写得太笼统，看不懂要什么材料",
        "招标信息公开不及时",
        "希望一次性告知所需全部材料",
        "审批结果不透明，不知道卡在哪个环节",
        "希望在政务服务网上公开办事指南",
        "两个科室互相踢皮球，谁都不管",
        "推诿扯皮，让我们去找别的部门",
        "问题反映了几次，部门之间推来推去",
        "说不归我们管，让企业自己协调",
        "多头管理，不知道该找谁",
        "部门之间扯皮，事情一直没解决",
        "暂时没有什么意见",
        "暂无意见",
        "希望多组织企业座谈会",
        "建议加强对企业用工的指导",
        "希望园区道路和配套尽快完善",
        "希望多开展政策培训",
        "融资难的问题希望帮助协调",
        "没有其他意见",
        "希望继续优化营商环境",
        "办事指南里的表格没有样表，希望公开填写示例",
        "审批进度只能现场问，建议短信通知",
        "收费依据没有公开，企业心里没底",
        "希望政务公开栏及时更新",
        "网上公开的联系电话打不通",
        "政策文件公开了但找不到，希望集中发布",
        "跨部门的事情互相推诿，最后没人负责",
        "找了三个科室都说不归我们管",
        "投诉后被转来转去，踢皮球",
        "希望解决企业用地难的问题",
        "建议多提供人才招聘服务",
        "希望水电气报装更便捷",
    ),
)
CONTACT_NAMES = ("王女士", "李先生", "张伟", "刘建国", "陈敏", "杨经理", "赵丽", "黄海涛")
MOBILE_PREFIXES = ("138", "139", "135", "186", "150", "177", "133", "189")
CONTACT_FORMS = (
    "，联系人：{name}，电话{phone}",
    "（联系人{name} {phone}）",
    "，如需核实请联系{phone}",
    "，联系人{name}",
)


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
    commented = rng.random(n) < 0.08
    comments = np.where(commented, _comment_texts(rng.integers(0, 4, n), seed, period), "")
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


def _comment_texts(bank: np.ndarray, seed: int, period: Period) -> np.ndarray:
    """A comment from each row's bank (the survey generator's draw), picked, sometimes joined to
    a second one and signed with a contact, by a generator of its own: the comments vary without
    moving any other draw of the demo."""
    texts = np.random.default_rng([seed, period.year, period.half, 7])
    n = len(bank)
    sizes = np.array([len(b) for b in COMMENT_BANKS])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = np.array([text for b in COMMENT_BANKS for text in b], dtype=object)
    first = flat[starts[bank] + (texts.random(n) * sizes[bank]).astype(int)]
    second = flat[texts.integers(0, len(flat), n)]
    joined = np.where(texts.random(n) < 0.15, first + "；" + second, first)
    phones = np.array(MOBILE_PREFIXES)[texts.integers(0, len(MOBILE_PREFIXES), n)].astype(
        object
    ) + np.char.zfill(texts.integers(0, 10**8, n).astype(str), 8).astype(object)
    names = np.array(CONTACT_NAMES, dtype=object)[texts.integers(0, len(CONTACT_NAMES), n)]
    forms = texts.integers(0, len(CONTACT_FORMS), n)
    signed = texts.random(n) < 0.12
    suffix = np.array(
        [
            CONTACT_FORMS[f].format(name=name, phone=phone)
            for f, name, phone in zip(forms, names, phones, strict=True)
        ],
        dtype=object,
    )
    return np.where(signed, joined + suffix, joined).astype(str)


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
    for indicator in (i for i in catalogue.indicators if i.source == "metrics"):
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


# --- a unit's returned problem workbook ---------------------------------------------------------

# What units write back: (claim status, unit response, measures).
RETURN_TEXTS = {
    "resolved": ("已按要求完成整改", "梳理办事流程,压缩办理时限,明确专人跟踪办理并回访企业"),
    "in_progress": ("正在整改,需协调相关单位", "已制定整改方案,正在会同相关单位推进"),
}


def returned_workbook(source: Path, target: Path, seed: int, faulty: bool = False) -> Path:
    """`source`, a unit's exported problem workbook, as the unit returns it: most problems
    resolved by their deadline, some late, some still in progress, each with the unit's response
    and measures. `faulty` also makes three rows wrong the way returned sheets are: a status the
    unit may not claim (已核验), a completion date before the problem existed, and a problem id
    that is not in the register."""
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    from bizenv.rectification.workbook import CLAIM, COMPLETED, ID_COLUMN, MEASURES, RESPONSE, SHEET
    from bizenv.schemas import load_policy
    from bizenv.schemas.models import ProblemStatus

    labels = load_policy().rectification.status_labels
    book = load_workbook(source)
    sheet = book[SHEET]
    column = {cell.value: cell.column for cell in sheet[1]}
    rng = np.random.default_rng(seed)
    for row in range(2, sheet.max_row + 1):
        deadline = pd.Timestamp(sheet.cell(row, column["整改时限"]).value)
        draw = rng.random()
        status: ProblemStatus = "resolved" if draw < 0.93 else "in_progress"
        response, measures = RETURN_TEXTS[status]
        sheet.cell(row, column[RESPONSE]).value = response
        sheet.cell(row, column[MEASURES]).value = measures
        sheet.cell(row, column[CLAIM]).value = labels[status]
        if status == "resolved":  # 70% of all by the deadline, 23% up to three weeks late
            days = -int(rng.integers(0, 15)) if draw < 0.70 else int(rng.integers(3, 22))
            sheet.cell(row, column[COMPLETED]).value = (deadline + pd.Timedelta(days=days)).date()
    if faulty and sheet.max_row >= 4:
        sheet.cell(2, column[CLAIM]).value = labels["verified"]
        sheet.cell(3, column[COMPLETED]).value = pd.Timestamp("2020-01-02").date()
        sheet.cell(4, column[ID_COLUMN]).value = "P2025H2-9999"
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return target
