"""Completion times longer than any answering session: the maximum and the action come from
validation.yaml's quality rules."""

import pandas as pd
import pytest
from pydantic import ValidationError

from bizenv.ingest import canonical
from bizenv.ingest.reading import RawTable
from bizenv.ingest.rows import check_rows
from bizenv.periods import Period
from bizenv.schemas import load_questionnaire, load_registry, load_validation
from bizenv.schemas.models import ImplausibleDuration, QualityRules
from tests.builders import survey_row

Q = load_questionnaire()
RULES = load_validation().survey.quality_rules


def check(rows: list[dict], rules: QualityRules = RULES):
    frame = pd.DataFrame(rows, index=pd.RangeIndex(2, 2 + len(rows)))
    table = RawTable(path="b.csv", frame=frame, file_format="csv", encoding="utf-8", batch_id="x")
    return check_rows(
        canonical.to_standard(table, Q), period=Period.parse("2026H1"), registry=load_registry(),
        questionnaire=Q, salt="s", fieldwork_grace_days=45, quality=rules,
    )  # fmt: skip


def varied(i: int) -> list[str]:
    return ["满意", "一般"] * 5 if i % 2 else ["一般", "满意"] * 5


def rows_with_durations(*durations: str) -> list[dict]:
    rows = [survey_row(respondent=i, answers=varied(i)) for i in range(10)]
    return rows + [
        survey_row(respondent=100 + i, duration_seconds=d, answers=varied(i)) for i, d in enumerate(durations)
    ]


def test_the_plausible_maximum_is_seven_days_in_validation_yaml():
    assert RULES.implausible_duration == ImplausibleDuration(action="quarantine", max_seconds=604800)


def test_a_duration_above_the_maximum_is_implausible_duration_and_the_maximum_itself_is_not():
    result = check(rows_with_durations("604801", "604800", "99999999999"))
    assert dict(zip(result.quarantined["source_row"], result.quarantined["reasons"], strict=True)) == {
        12: "implausible_duration",
        14: "implausible_duration",
    }
    assert result.reason_counts == {"implausible_duration": 2}


def test_a_lower_maximum_in_the_rules_applies():
    rules = RULES.model_copy(
        update={"implausible_duration": ImplausibleDuration(action="quarantine", max_seconds=3600)}
    )
    result = check(rows_with_durations("3601秒", "3600"), rules)
    assert result.quarantined["source_row"].tolist() == [12]
    assert "longer than the plausible maximum of 3600 s (1 hour)" in result.quarantined["details"].iloc[0]


def test_with_action_warn_the_rows_are_kept_and_the_batch_warned():
    rules = RULES.model_copy(
        update={"implausible_duration": ImplausibleDuration(action="warn", max_seconds=604800)}
    )
    result = check(rows_with_durations("99999999999"), rules)
    assert result.quarantined.empty and len(result.accepted) == 11
    assert result.warnings == [
        {
            "rule": "implausible_duration",
            "count": 1,
            "message": "1 row(s) with a completion time above 604800 s (7 days)",
        }
    ]


def test_the_rules_must_say_what_is_implausible():
    with pytest.raises(ValidationError, match="max_seconds"):
        ImplausibleDuration.model_validate({"action": "quarantine", "max_seconds": 0})
