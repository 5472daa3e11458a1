import pandas as pd

from bizenv.ingest import canonical
from bizenv.ingest.reading import RawTable
from bizenv.ingest.rows import check_rows
from bizenv.periods import Period
from bizenv.schemas import load_questionnaire, load_registry, load_validation
from tests.builders import survey_row

Q = load_questionnaire()
RULES = load_validation().survey.quality_rules


def check(rows: list[dict]):
    frame = pd.DataFrame(rows, index=pd.RangeIndex(2, 2 + len(rows)))
    table = RawTable(path="b.csv", frame=frame, file_format="csv", encoding="utf-8", batch_id="x")
    return check_rows(
        canonical.to_standard(table, Q), period=Period.parse("2026H1"), registry=load_registry(),
        questionnaire=Q, salt="s", fieldwork_grace_days=45, quality=RULES,
    )  # fmt: skip


def varied(i: int) -> list[str]:
    return ["满意", "一般"] * 5 if i % 2 else ["一般", "满意"] * 5


def test_speeders_are_quarantined_relative_to_the_batch_median():
    rows = [survey_row(respondent=i, duration_seconds=400, answers=varied(i)) for i in range(10)]
    rows.append(survey_row(respondent=99, duration_seconds=60, answers=varied(1)))  # 60 < 25% of 400
    rows.append(survey_row(respondent=98, duration_seconds=101, answers=varied(1)))  # just above
    result = check(rows)
    assert result.quarantined["reasons"].tolist() == ["speeder"]
    assert "under 100 s" in result.quarantined["details"].iloc[0]


def test_respondents_rating_implausibly_many_units_are_quarantined():
    names = [u.name for u in load_registry().units][:26]
    rows = [survey_row(respondent=1, unit=name, answers=varied(0)) for name in names]
    rows += [survey_row(respondent=2, unit=name, answers=varied(0)) for name in names[:25]]
    result = check(rows)
    assert len(result.quarantined) == 26 and set(result.quarantined["reasons"]) == {"too_many_units"}
    assert len(result.accepted) == 25


def test_straight_lining_and_an_all_top_box_batch_warn_without_quarantining():
    rows = [survey_row(respondent=i, answers="非常满意") for i in range(10)]
    result = check(rows)
    assert result.quarantined.empty
    rules = {w["rule"]: w for w in result.warnings}
    assert rules["straight_lining"]["count"] == 10
    assert "100.0% of the batch's answers are the top answer" in rules["top_box_batch"]["message"]


def test_a_varied_batch_raises_no_quality_warning():
    assert check([survey_row(respondent=i, answers=varied(i)) for i in range(10)]).warnings == []
