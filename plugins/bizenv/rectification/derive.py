"""Problems proposed from an evaluated period (`bizenv problems derive`): what the period's
enterprises complained of, the questionnaire items a unit scored low on, and its accountability
flags, each as a proposal for the register (整改台账).

The proposals are built from what the evaluation stored (rankings, flags, respondent weights)
and the period's accepted responses, so that they show the numbers the unit pages and the
report show; registering them is `register.create_problems`, which keeps deriving a period twice
harmless and turns a later period's same proposal into a recurrence. Every threshold and list
is the policy's (`rectification.derive`).

Proposal frames have the columns `create_problems` takes: `period`, `unit_code`, `source`,
`theme`, `description`, `co_units` (a list of unit codes), `evidence` (a JSON-able dict) and
`kind`, plus `code`, the theme, item or flag code the policy's co-units are keyed by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import pandas as pd
from sqlalchemy import Connection, Engine, select

from bizenv.comments.themes import classify
from bizenv.errors import BizenvError
from bizenv.evaluation.inputs import read_period_responses
from bizenv.evaluation.publish import period_comments
from bizenv.ingest.privacy import mask_text
from bizenv.periods import Period
from bizenv.rectification.register import SOURCES, create_problems
from bizenv.report.unit_pages import item_scores
from bizenv.schemas import load_policy, load_questionnaire, load_registry
from bizenv.schemas.loader import load_themes
from bizenv.schemas.models import Policy, ProblemDerivation, ProblemSource, Questionnaire, Registry, Themes
from bizenv.warehouse import tables as t
from bizenv.warehouse.reads import fetch_frame

PROPOSAL_COLUMNS = ["period", "unit_code", "source", "theme", "description", "co_units", "evidence", "kind"]
VIA = "bizenv problems derive"
OUTCOMES = ("created", "recurring", "unchanged")


@dataclass(frozen=True)
class PeriodEvidence:
    """What a period's proposals are built from, read from the warehouse once.

    rankings: `unit_code`, `group_code`, `level`, `n_respondents`, `rank`,
              `satisfaction_index` (every unit the evaluation ranked or listed)
    items:    `item_scores` of the period's responses under the weights the evaluation used:
              `unit_code`, `item`, `score` (0-100), `n_answered`
    comments: `unit_code`, `comment` (masked when loaded)
    flags:    `unit_code`, `flag`, `reason`
    """

    period: str
    rankings: pd.DataFrame
    items: pd.DataFrame
    comments: pd.DataFrame
    flags: pd.DataFrame


def not_evaluated(period: Period) -> BizenvError:
    return BizenvError(
        f"period {period} has not been evaluated (no rankings in the warehouse): "
        f"run `bizenv evaluate --period {period}` first"
    )


def read_period_evidence(conn: Connection, period: Period, questionnaire: Questionnaire) -> PeriodEvidence:
    """The period's stored results and responses; a period without rankings is refused (the
    proposals would rest on nothing the office has seen)."""
    r = t.rankings
    rankings = fetch_frame(
        conn,
        select(
            r.c.unit_code,
            r.c.group_code,
            r.c.level,
            r.c.n_respondents,
            r.c.rank,
            r.c.satisfaction_index,
        ).where(r.c.period == period.label),
    )
    if rankings.empty:
        raise not_evaluated(period)
    responses = read_period_responses(conn, period, questionnaire)
    w = t.respondent_weights
    stored = dict(
        conn.execute(select(w.c.respondent_hash, w.c.weight).where(w.c.period == period.label)).all()
    )
    # The evaluation's weights; 1 where it stored none (an evaluation from before weights were).
    weights = responses["respondent_hash"].map(stored).astype(float).fillna(1.0)
    f = t.flags
    flags = fetch_frame(
        conn, select(f.c.unit_code, f.c.flag, f.c.reason).where(f.c.period == period.label).order_by(f.c.flag)
    )
    return PeriodEvidence(
        period=period.label,
        rankings=rankings,
        items=item_scores(responses, weights, questionnaire),
        comments=period_comments(conn, period),
        flags=flags,
    )


def _frame(rows: pd.DataFrame, period: str, source: ProblemSource, rules: ProblemDerivation) -> pd.DataFrame:
    """`rows` (`unit_code`, `theme`, `description`, `evidence`, `code`) as proposals of a source."""
    out = rows.assign(period=period, source=source, kind=rules.kinds[source], co_units=None)
    return out[[*PROPOSAL_COLUMNS, "code"]].reset_index(drop=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=[*PROPOSAL_COLUMNS, "code"])


# --- comments ---------------------------------------------------------------------------------


def comment_proposals(
    comments: pd.DataFrame, period: str, rules: ProblemDerivation, themes: Themes
) -> pd.DataFrame:
    """One proposal per (unit, complaint theme) with at least `min_comments` comments about it.

    `comments`: `unit_code`, `comment`. Praise themes and `other` are never proposed, and a
    comment under a praise theme counts for no theme (the classifier cannot tell "态度很好"
    from "态度差" except by the praise). Evidence: `comments` (how many, repeats included) and
    `quotes`, up to `max_quotes` distinct comments, the most often written first, masked here
    once more whatever the load did."""
    text = mask_text(comments["comment"].astype("object").fillna("").astype(str)).str.strip()
    frame = pd.DataFrame(
        {"unit_code": comments["unit_code"].astype(str).to_numpy(), "comment": text.to_numpy()}
    )
    frame = frame[frame["comment"] != ""].reset_index(drop=True)
    if frame.empty:
        return _empty()
    themed = classify(frame["comment"], themes).join(frame, on="comment_index")
    praise = themed["theme"].isin(rules.praise_themes)
    praised = themed["comment_index"].isin(themed.loc[praise, "comment_index"])
    complaints = themed[~praised & ~themed["theme"].eq(themes.other.code)]
    counted = (
        complaints.groupby(["unit_code", "theme", "label", "comment"], sort=False)
        .size()
        .rename("count")
        .reset_index()
    )
    counted["total"] = counted.groupby(["unit_code", "theme"])["count"].transform("sum")
    counted = counted[counted["total"] >= rules.min_comments]
    if counted.empty:
        return _empty()
    ranked = counted.sort_values(
        ["unit_code", "theme", "count", "comment"], ascending=[True, True, False, True]
    )
    quotes = ranked.groupby(["unit_code", "theme"]).head(rules.max_quotes)
    problems = (
        ranked.groupby(["unit_code", "theme", "label"])["total"]
        .first()
        .to_frame()
        .join(quotes.groupby(["unit_code", "theme"])["comment"].agg(list).rename("quotes"))
        .reset_index()
    )
    problems["quotes"] = problems["quotes"].map(lambda q: q if isinstance(q, list) else [])
    order = {code: i for i, code in enumerate(themes.labels())}
    problems = (
        problems.assign(order=problems["theme"].map(order))
        .sort_values(["unit_code", "order"])
        .drop(columns="order")
    )
    rows = pd.DataFrame(
        {
            "unit_code": problems["unit_code"],
            "theme": problems["label"],
            "description": "企业意见反映「"
            + problems["label"]
            + "」方面的问题 "
            + problems["total"].astype(str)
            + " 条",
            "evidence": [
                {"comments": int(n), "quotes": q, "theme_code": code}
                for n, q, code in zip(problems["total"], problems["quotes"], problems["theme"], strict=True)
            ],
            "code": problems["theme"],
        }
    )
    return _frame(rows, period, "comment", rules)


# --- low scores ---------------------------------------------------------------------------------


def low_score_proposals(
    items: pd.DataFrame,
    rankings: pd.DataFrame,
    period: str,
    policy: Policy,
    questionnaire: Questionnaire,
) -> pd.DataFrame:
    """One proposal per (unit, item) scoring below `low_score_below`, among items answered by
    at least the policy's floor of respondents (`low_score_min_respondents`: the ranking
    minimum or the suppression threshold). The theme is the item's label, the same every
    period. Evidence: `score`, `group_median` (the median over the units of the same group
    and level whose figures are published, as the unit page shows it), `threshold`,
    `n_answered` (the item's respondents) and `n_respondents` (the unit's)."""
    rules = policy.rectification.derive
    floor = policy.min_respondents if rules.low_score_min_respondents == "ranking" else policy.suppression_min
    meta = rankings.set_index("unit_code")[["group_code", "level", "n_respondents"]]
    joined = items.join(meta, on="unit_code", how="inner")
    published = joined[joined["n_respondents"] >= policy.suppression_min]
    medians = published.groupby(["group_code", "level", "item"])["score"].median().rename("group_median")
    joined = joined.join(medians, on=["group_code", "level", "item"])
    low = joined[(joined["n_answered"] >= floor) & (joined["score"] < rules.low_score_below)]
    if low.empty:
        return _empty()
    labels = {item.code: item.label for item in questionnaire.items()}
    order = {code: i for i, code in enumerate(labels)}
    low = low.assign(order=low["item"].map(order)).sort_values(["unit_code", "order"])
    label = low["item"].map(labels)
    score = low["score"].round(1)
    median = low["group_median"].round(1)
    median_text = median.map(lambda m: "—" if pd.isna(m) else f"{m:.1f}")
    rows = pd.DataFrame(
        {
            "unit_code": low["unit_code"],
            "theme": label,
            "description": "「"
            + label
            + "」得分 "
            + score.map("{:.1f}".format)
            + " 分，低于 "
            + f"{rules.low_score_below:g}"
            + " 分（同组中位数 "
            + median_text
            + " 分，"
            + low["n_answered"].astype(str)
            + " 家企业评价）",
            "evidence": [
                {
                    "item": item,
                    "score": float(s),
                    "group_median": None if pd.isna(m) else float(m),
                    "threshold": rules.low_score_below,
                    "n_answered": int(n),
                    "n_respondents": int(units),
                }
                for item, s, m, n, units in zip(
                    low["item"], score, median, low["n_answered"], low["n_respondents"], strict=True
                )
            ],
            "code": low["item"],
        }
    )
    return _frame(rows, period, "low_score", rules)


def _whole(value: object) -> int | None:
    """A count or rank as JSON holds it (None where the evaluation has none)."""
    return None if pd.isna(cast(Any, value)) else int(cast(Any, value))


def _tenth(value: object) -> float | None:
    return None if pd.isna(cast(Any, value)) else round(float(cast(Any, value)), 1)


# --- flags --------------------------------------------------------------------------------------


def flag_proposals(
    flags: pd.DataFrame, rankings: pd.DataFrame, period: str, rules: ProblemDerivation
) -> pd.DataFrame:
    """One proposal per unit and flag the policy lists (`derive.flags`); the theme is the flag
    code, the description the flag's reason (which names the numbers it rests on). Evidence:
    the flag and the unit's `rank`, `satisfaction_index` and `n_respondents` that period."""
    chosen = flags[flags["flag"].isin(rules.flags)]
    if chosen.empty:
        return _empty()
    meta = rankings.set_index("unit_code")[["rank", "satisfaction_index", "n_respondents"]]
    joined = chosen.join(meta, on="unit_code").sort_values(["unit_code", "flag"])

    rows = pd.DataFrame(
        {
            "unit_code": joined["unit_code"],
            "theme": joined["flag"],
            "description": joined["reason"],
            "evidence": [
                {
                    "flag": flag,
                    "rank": _whole(rank),
                    "satisfaction_index": _tenth(index),
                    "n_respondents": _whole(n),
                }
                for flag, rank, index, n in zip(
                    joined["flag"],
                    joined["rank"],
                    joined["satisfaction_index"],
                    joined["n_respondents"],
                    strict=True,
                )
            ],
            "code": joined["flag"],
        }
    )
    return _frame(rows, period, "flag", rules)


# --- together -----------------------------------------------------------------------------------


def check_rules(
    rules: ProblemDerivation, themes: Themes, questionnaire: Questionnaire, registry: Registry
) -> None:
    """The policy's codes against their files: praise themes in themes.yaml, co-unit keys a
    theme, item or flag code, co-units in the registry. All faults in one message."""
    theme_codes = {th.code for th in themes.themes}
    keys = theme_codes | {item.code for item in questionnaire.items()} | set(rules.flags)
    units = {u.code for u in registry.units}
    problems = []
    unknown_praise = sorted(set(rules.praise_themes) - theme_codes)
    if unknown_praise:
        problems.append(f"praise_themes {unknown_praise} are not themes of themes.yaml")
    unknown_keys = sorted(set(rules.co_units) - keys)
    if unknown_keys:
        problems.append(f"co_units keys {unknown_keys} are no theme, item or listed flag code")
    unknown_units = sorted({c for codes in rules.co_units.values() for c in codes} - units)
    if unknown_units:
        problems.append(f"co_units {unknown_units} are not units of units.yaml")
    if problems:
        raise BizenvError("policy.yaml rectification.derive: " + "; ".join(problems))


def propose(
    evidence: PeriodEvidence,
    policy: Policy,
    questionnaire: Questionnaire,
    themes: Themes,
    registry: Registry,
) -> pd.DataFrame:
    """Every proposal of the period, comments first, then low scores, then flags, each with
    its co-units (`co_units` by the code it came from; the register drops the lead unit)."""
    rules = policy.rectification.derive
    check_rules(rules, themes, questionnaire, registry)
    parts = [
        comment_proposals(evidence.comments, evidence.period, rules, themes),
        low_score_proposals(evidence.items, evidence.rankings, evidence.period, policy, questionnaire),
        flag_proposals(evidence.flags, evidence.rankings, evidence.period, rules),
    ]
    proposals = pd.concat([p for p in parts if not p.empty] or [_empty()], ignore_index=True)
    proposals["co_units"] = proposals["code"].map(lambda code: list(rules.co_units.get(code, [])))
    return proposals


@dataclass(frozen=True)
class Derived:
    """What deriving a period did (or, dry, would do).

    proposals: the proposals (`PROPOSAL_COLUMNS`, `code`) with `problem_id` and `outcome`:
               created (a new problem), recurring (an unsettled problem seen in a later
               period: its recurrence count went up) or unchanged (already registered for this
               period)."""

    period: str
    proposals: pd.DataFrame
    dry_run: bool

    def lines(self) -> list[str]:
        """What a person reads: with `dry_run` each proposal (id, outcome, unit, source, theme,
        description, tab-separated), then one line per source with its counts."""
        rows = self.proposals
        listed = (
            [
                "\t".join(
                    str(r[c])
                    for c in ("problem_id", "outcome", "unit_code", "source", "theme", "description")
                )
                for r in rows.to_dict("records")
            ]
            if self.dry_run
            else []
        )
        counts = pd.crosstab(rows["source"], rows["outcome"]).reindex(
            index=list(SOURCES), columns=list(OUTCOMES), fill_value=0
        )
        note = " (dry run: nothing written)" if self.dry_run else ""
        return listed + [
            f"{source}: {int(c.sum())} proposed: {c['created']} new, {c['recurring']} recurring, "
            f"{c['unchanged']} already registered{note}"
            for source, c in counts.iterrows()
        ]

    def summary(self) -> dict[str, object]:
        outcomes = self.proposals["outcome"].value_counts()
        by_source = self.proposals["source"].value_counts()
        return {
            "period": self.period,
            "dry_run": self.dry_run,
            "proposed": len(self.proposals),
            "created": int(outcomes.get("created", 0)),
            "recurring": int(outcomes.get("recurring", 0)),
            "unchanged": int(outcomes.get("unchanged", 0)),
            "by_source": {s: int(by_source.get(s, 0)) for s in SOURCES},
            "problem_ids": self.proposals["problem_id"].tolist(),
            "status": "ok",
        }


def _register_state(conn: Connection, units: list[str]) -> pd.DataFrame:
    """`problem_id` → `recurrence_count`, `last_seen_period` of the units' problems."""
    p = t.problems
    return fetch_frame(
        conn,
        select(p.c.problem_id, p.c.recurrence_count, p.c.last_seen_period).where(p.c.unit_code.in_(units)),
    ).set_index("problem_id")


def register(
    conn: Connection,
    proposals: pd.DataFrame,
    actor: str,
    via: str = VIA,
    *,
    now: datetime | None = None,
    policy: Policy,
) -> pd.DataFrame:
    """Register the proposals in the caller's transaction; the proposals with `problem_id` and
    `outcome`, which compares the register before and after."""
    out = proposals.assign(problem_id=pd.Series(dtype="string"), outcome=pd.Series(dtype="string"))
    if proposals.empty:
        return out
    units = sorted(set(proposals["unit_code"]))
    before = _register_state(conn, units)
    ids = create_problems(conn, proposals[PROPOSAL_COLUMNS], actor, via, now=now, policy=policy)
    after = _register_state(conn, units).loc[ids]
    seen = after.index.isin(before.index)
    moved = seen & (
        after["last_seen_period"].to_numpy() != before.reindex(after.index)["last_seen_period"].to_numpy()
    )
    out["problem_id"] = ids
    out["outcome"] = pd.Series(seen, index=out.index).map({True: "unchanged", False: "created"})
    out.loc[pd.Series(moved, index=out.index), "outcome"] = "recurring"
    return out


def derive_problems(
    engine: Engine,
    period: str,
    actor: str,
    via: str = VIA,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    policy: Policy | None = None,
    schema: str = "enterprise_satisfaction_v1",
) -> Derived:
    """Propose the period's problems and register them (`dry_run`: in a transaction rolled
    back, so that the outcomes are what registering would do and nothing is kept)."""
    period_ = Period.parse(period)
    policy = policy or load_policy()
    questionnaire = load_questionnaire(schema)
    with engine.connect() as conn:
        evidence = read_period_evidence(conn, period_, questionnaire)
    proposals = propose(evidence, policy, questionnaire, load_themes(), load_registry())
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            registered = register(conn, proposals, actor, via, now=now, policy=policy)
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    return Derived(period=period_.label, proposals=registered, dry_run=dry_run)
