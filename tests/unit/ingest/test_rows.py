import json

import pandas as pd
import pytest

from bizenv.errors import BizenvError
from bizenv.ingest import canonical
from bizenv.ingest.reading import RawTable
from bizenv.ingest.rows import check_rows
from bizenv.periods import Period
from bizenv.schemas import load_questionnaire, load_registry
from tests.builders import LABELS, credit_code, survey_row

Q = load_questionnaire()
VALID = credit_code(2)
ALTERED = VALID[:-1] + ("0" if VALID[-1] != "0" else "1")


def check(rows: list[dict], period: str = "2026H1"):
    frame = pd.DataFrame(rows, index=pd.RangeIndex(2, 2 + len(rows)))
    table = RawTable(path="batch.csv", frame=frame, file_format="csv", encoding="utf-8", batch_id="x")
    return check_rows(
        canonical.to_standard(table, Q),
        period=Period.parse(period),
        registry=load_registry(),
        questionnaire=Q,
        salt="s",
        fieldwork_grace_days=45,
    )


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"respondent_id": ""}, "missing_respondent_key"),
        ({"respondent_id": ALTERED}, "bad_credit_code"),
        ({"unit": "市教育局"}, "unknown_unit"),
        ({"unit": " "}, "missing_unit"),
        ({"submitted_at": "2026-13-01"}, "bad_submitted_at"),
        ({"submitted_at": "2025-12-31T23:59:59"}, "outside_period"),
        ({"submitted_at": "2026-08-15T00:00:00"}, "outside_period"),
        ({"duration_seconds": "five minutes"}, "bad_duration"),
        ({"duration_seconds": "-3"}, "bad_duration"),
        ({LABELS[2]: "很满意"}, "off_scale"),
        ({LABELS[2]: "6"}, "off_scale"),
        ({"enterprise_size": "特大型"}, "attribute_not_allowed"),
    ],
)
def test_each_bad_row_kind_is_quarantined_with_its_reason(override, reason):
    result = check([survey_row(respondent=1), survey_row(respondent=2, **override)])
    assert len(result.accepted) == 1
    assert len(result.quarantined) == 1
    bad = result.quarantined.iloc[0]
    assert bad["reasons"] == reason
    assert bad["source_row"] == 3
    kept = json.loads(bad["raw"])
    original = survey_row(respondent=2, **override)
    assert {k: v for k, v in kept.items() if k != "respondent_id"} == {
        k: v for k, v in original.items() if k != "respondent_id"
    }
    # The identity is kept only as its salted hash, like everywhere else.
    assert kept["respondent_id"] == ("" if not original["respondent_id"] else kept["respondent_id"])
    assert original["respondent_id"] not in bad["raw"] or not original["respondent_id"]
    assert result.reason_counts == {reason: 1}


def test_every_reason_of_a_row_is_recorded():
    result = check([survey_row(unit="教育局", submitted_at="yesterday", **{LABELS[0]: "7"})])
    assert result.quarantined.iloc[0]["reasons"] == "unknown_unit;bad_submitted_at;off_scale"
    assert "工作人员态度热情周到='7'" in result.quarantined.iloc[0]["details"]


def test_slashed_dates_seconds_suffix_and_aliases_are_accepted():
    row = survey_row(unit="发展和改革委员会", submitted_at="2026/6/3 9:05:00", duration_seconds="312秒")
    row["unit"] = "鄂州市发展和改革委员会"
    result = check([row])
    accepted = result.accepted.iloc[0]
    assert accepted["unit_code"] == "ndrc"
    assert accepted["submitted_at"] == pd.Timestamp("2026-06-03 09:05:00")
    assert accepted["duration_seconds"] == 312.0


def test_missing_labels_and_numbers_map_to_the_scale():
    result = check(
        [survey_row(answers=["非常满意", "5", "不了解", "", "(跳过)", "1", "一般", "未接触", "2", "不适用"])]
    )
    scores = result.accepted.iloc[0][[i.code for i in Q.items()]].astype(float)
    expected = [5.0, 5.0, None, None, None, 1.0, 3.0, None, 2.0, None]
    assert scores.tolist() == pytest.approx([float("nan") if e is None else e for e in expected], nan_ok=True)


def test_within_a_batch_the_latest_submission_of_a_pair_wins():
    early = survey_row(respondent=1, submitted_at="2026-05-01T08:00:00", answers="一般")
    late = survey_row(respondent=1, submitted_at="2026-05-02T08:00:00", answers="满意")
    other_unit = survey_row(respondent=1, unit="税务局", submitted_at="2026-05-01T08:00:00")
    result = check([late, early, other_unit])
    assert sorted(result.accepted["source_row"]) == [2, 4]
    dup = result.quarantined.iloc[0]
    assert (dup["source_row"], dup["reasons"]) == (3, "duplicate")
    assert "superseded by row 2" in dup["details"]


def test_invalid_row_never_supersedes_a_valid_one():
    valid = survey_row(respondent=1, submitted_at="2026-05-01T08:00:00")
    invalid_later = survey_row(respondent=1, submitted_at="2026-05-09T08:00:00", **{LABELS[0]: "??"})
    result = check([valid, invalid_later])
    assert result.accepted["source_row"].tolist() == [2]
    assert result.quarantined["reasons"].tolist() == ["off_scale"]


def test_rows_in_equals_accepted_plus_quarantined_on_a_mixed_batch():
    rows = [survey_row(respondent=i) for i in range(20)]
    rows[3]["unit"] = "?"
    rows[7][LABELS[1]] = "x"
    rows[11]["respondent_id"] = ""
    rows.append(dict(rows[0]))
    result = check(rows)
    assert len(result.accepted) + len(result.quarantined) == len(rows)
    assert len(result.quarantined) == 4


def test_identity_is_hashed_and_comments_masked():
    result = check([survey_row(respondent=9, comment="电话13800001111")])
    accepted = result.accepted.iloc[0]
    assert accepted["respondent_hash"] != survey_row(respondent=9)["respondent_id"]
    assert len(accepted["respondent_hash"]) == 64
    assert accepted["comment"] == "电话[电话]"


def test_header_not_matching_the_schema_names_the_column():
    row = survey_row()
    row["办理时间"] = row.pop("办理时限")
    with pytest.raises(BizenvError) as info:
        check([row])
    message = str(info.value)
    assert "batch.csv" in message and "row 1" in message
    assert "missing column(s) 办理时限" in message and "unknown column(s) 办理时间" in message


def test_times_with_and_without_offsets_mix_in_one_batch():
    rows = [
        survey_row(respondent=1, submitted_at="2026-05-10T10:00:00"),
        survey_row(respondent=2, submitted_at="2026-05-10T10:00:00+08:00"),
        survey_row(respondent=3, submitted_at="2026-05-10T02:00:00Z"),
    ]
    result = check(rows)
    assert result.quarantined.empty
    assert set(result.accepted["submitted_at"]) == {pd.Timestamp("2026-05-10 10:00:00")}


@pytest.mark.parametrize("duration", ["inf", "1e400", "NaN秒"])
def test_non_finite_durations_are_malformed(duration):
    result = check([survey_row(duration_seconds=duration)])
    assert result.quarantined["reasons"].tolist() == ["bad_duration"]


def test_plain_whole_numbers_on_the_scale_are_scores():
    result = check([survey_row(answers=["5", "1", "4", "3", "1", "2", "5", "4", "3", "2"])])
    assert result.accepted.iloc[0][[i.code for i in Q.items()]].tolist()[:4] == [5.0, 1.0, 4.0, 3.0]
    assert check([survey_row(answers="4.5")]).quarantined["reasons"].tolist() == ["off_scale"]


def test_unit_names_match_whatever_their_case():
    assert check([survey_row(unit="NDRC")]).accepted["unit_code"].tolist() == ["ndrc"]


def test_unit_names_resolve_as_the_registry_resolves_them():
    # Full-width and half-width spaces, letter case: one normaliser for loaders and the registry.
    written = ["市　发改委", " ndrc ", "鄂州市 发展和改革委员会"]
    accepted = check([survey_row(respondent=i, unit=u) for i, u in enumerate(written)]).accepted
    assert accepted["unit_code"].tolist() == [load_registry().resolve(u) for u in written] == ["ndrc"] * 3
