"""docs/method.md's worked example, reproduced by the package: the page cannot drift from the code."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bizenv.ranking.composite import composite, effective_shares
from bizenv.ranking.ranks import rank_in_groups
from bizenv.schemas import load_policy, load_questionnaire
from bizenv.scoring.satisfaction import OVERALL, unit_scores

METHOD = Path(__file__).resolve().parents[2] / "docs" / "method.md"
RESPONDENTS = {"A": [80, 70, 90, 60], "B": [60, 70, 50, 60], "C": [70, 75, 65, 70], "D": [85, 95, 80, 80]}
INDICATORS = {"A": 40.0, "B": 90.0, "C": 20.0, "D": 60.0}
MEANS = {u: float(np.mean(v)) for u, v in RESPONDENTS.items()}
BY = ["group_code", "level"]


def published() -> pd.DataFrame:
    block = re.search(r"```worked-example\n(.*?)```", METHOD.read_text(encoding="utf-8"), re.S).group(1)
    lines = [line.split() for line in block.strip().splitlines()]
    return pd.DataFrame(lines[1:], columns=lines[0]).set_index("unit").apply(pd.to_numeric)


def computed(normalisation: str) -> pd.DataFrame:
    questionnaire = load_questionnaire()
    rows = [
        {"unit_code": unit, "respondent_hash": f"{unit}{i}", "weight": 1.0, "score": float(y)}
        for unit, scores in RESPONDENTS.items()
        for i, y in enumerate(scores)
    ]
    scored = pd.DataFrame(rows)
    for d in questionnaire.dimensions:
        scored[d.code] = scored["score"]
    scored = scored.assign(answered_share=1.0, complete=True)
    overall = unit_scores(scored, questionnaire, 0.95)
    overall = overall[overall["dimension"] == OVERALL].set_index("unit_code")
    policy = load_policy()
    policy = policy.model_copy(
        update={"composite": policy.composite.model_copy(update={"normalisation": normalisation})}
    )
    frame = pd.DataFrame(
        {
            "unit_code": list(RESPONDENTS),
            "group_code": "g",
            "level": "department",
            "satisfaction_index": overall.loc[list(RESPONDENTS), "score"].to_numpy(),
            "se": overall.loc[list(RESPONDENTS), "std_error"].to_numpy(),
            "indicator_score": [INDICATORS[u] for u in RESPONDENTS],
        }
    )
    out = composite(frame, policy, BY).assign(ranked=True)
    out["rank"] = rank_in_groups(out, BY)
    return out.set_index("unit_code"), effective_shares(out, policy, BY).iloc[0]


def test_indices_and_standard_errors_are_as_published():
    ours, _ = computed("zscore")
    page = published()
    assert ours["satisfaction_index"].tolist() == pytest.approx(page["index"].tolist(), abs=0.005)
    assert ours["se"].tolist() == pytest.approx(page["se"].tolist(), abs=0.0005)


def test_normalised_parts_composite_and_ranks_are_as_published():
    ours, _ = computed("zscore")
    page = published()
    assert ours["satisfaction_normalised"].tolist() == pytest.approx(
        page["z_satisfaction"].tolist(), abs=0.0005
    )
    assert ours["indicators_normalised"].tolist() == pytest.approx(page["z_indicators"].tolist(), abs=0.0005)
    assert ours["composite_score"].tolist() == pytest.approx(page["composite"].tolist(), abs=0.005)
    assert ours["rank"].tolist() == page["rank"].tolist()


def test_raw_weighting_is_as_published():
    ours, _ = computed("none")
    page = published()
    assert ours["composite_score"].tolist() == pytest.approx(page["raw_composite"].tolist(), abs=0.005)
    assert ours["rank"].tolist() == page["raw_rank"].tolist()


def test_effective_shares_are_as_published():
    _, z = computed("zscore")
    _, raw = computed("none")
    assert (round(z["share_satisfaction"], 2), round(z["share_indicators"], 2)) == (0.78, 0.22)
    assert (round(raw["share_satisfaction"], 2), round(raw["share_indicators"], 2)) == (0.10, 0.90)
    text = METHOD.read_text(encoding="utf-8")
    assert "satisfaction carries 0.10 of the composite's variance and\nindicators 0.90" in text
    assert "With z-scores the shares are 0.78 / 0.22" in text
    assert np.corrcoef(list(MEANS.values()), list(INDICATORS.values()))[0, 1] == pytest.approx(
        -0.35, abs=0.005
    )
