"""Numbers that are not finite never crash the row checks: they are quarantined with the reason an
unreadable value of their column has, and every row ends accepted or quarantined."""

import pandas as pd
import pytest

from bizenv.ingest import canonical
from bizenv.ingest.metrics_batch import check_metric_rows
from bizenv.ingest.reading import RawTable, rows_as_json
from bizenv.ingest.rows import check_rows, parse_duration
from bizenv.periods import Period
from bizenv.schemas import load_indicators, load_questionnaire, load_registry
from bizenv.warehouse.writes import without_nul
from tests.builders import LABELS, survey_row

Q = load_questionnaire()
NON_FINITE = ["inf", "-inf", "Infinity", "-Infinity", "INF", "nan", "NaN", "1e400", "-1e400"]


def check(rows: list[dict]):
    frame = pd.DataFrame(rows, index=pd.RangeIndex(2, 2 + len(rows)))
    table = RawTable(path="batch.csv", frame=frame, file_format="csv", encoding="utf-8", batch_id="x")
    return check_rows(
        canonical.to_standard(table, Q),
        period=Period.parse("2026H1"),
        registry=load_registry(),
        questionnaire=Q,
        salt="s",
        fieldwork_grace_days=45,
    )


@pytest.mark.parametrize("text", [*NON_FINITE, "1e300", "1" + "0" * 30])
def test_a_score_that_is_not_a_finite_scale_point_is_off_scale(text):
    result = check([survey_row(respondent=1), survey_row(respondent=2, **{LABELS[3]: text})])
    assert len(result.accepted) == 1
    assert result.quarantined["reasons"].tolist() == ["off_scale"]
    assert result.reason_counts == {"off_scale": 1}
    assert result.parsed[Q.items()[3].code].iloc[1] == text


@pytest.mark.parametrize("text", [*NON_FINITE, "1e400秒"])
def test_a_duration_that_is_not_finite_is_a_bad_duration(text):
    assert parse_duration(pd.Series([text])).tolist() == [-1.0]
    result = check([survey_row(respondent=1), survey_row(respondent=2, duration_seconds=text)])
    assert result.quarantined["reasons"].tolist() == ["bad_duration"]


@pytest.mark.parametrize("text", [*NON_FINITE, "1e400%"])
def test_a_metric_value_that_is_not_finite_is_a_bad_value(text):
    frame = pd.DataFrame(
        [
            ("供电公司", "electricity_connection_days", "12", ""),
            ("市场监管局", "business_startup_days", text, ""),
        ],
        columns=["unit", "indicator", "value", "source"],
        index=pd.RangeIndex(2, 4),
    )
    result = check_metric_rows(
        frame, load_indicators(), load_registry(), lambda index: rows_as_json(frame.loc[index])
    )
    assert result.accepted["unit_code"].tolist() == ["power_supply"]
    assert result.quarantined["reasons"].tolist() == ["bad_value"]
    assert len(result.accepted) + len(result.quarantined) == len(frame)


def test_nul_characters_are_removed_from_text_only():
    frame = pd.DataFrame(
        {
            "text": ["a\x00b", None, "", "\x00"],  # pandas' string dtype
            "number": [1.0, None, 2.0, 3.0],
            "mixed": pd.Series(["x\x00", 1, None, "y"], dtype=object),
        }
    )
    out = without_nul(frame)
    assert out["text"].fillna("<NA>").tolist() == ["ab", "<NA>", "", ""]
    assert out["mixed"].tolist() == ["x", 1, None, "y"]
    assert out["number"].equals(frame["number"])
    assert frame["text"].iloc[0] == "a\x00b"  # the caller's frame is left as it was
    clean = pd.DataFrame({"text": ["a", "b"]})
    assert without_nul(clean) is clean
