"""Values that parse but cannot be trusted are quarantined, on SQLite and PostgreSQL: scale points
written in forms the questionnaire does not declare, and implausibly long completion times."""

from sqlalchemy import func, select

from bizenv.warehouse import tables as t
from tests.builders import LABELS, load_rows, survey_row


def quarantined(engine) -> list[tuple[int, str, str]]:
    q = t.quarantined_rows
    with engine.connect() as conn:
        rows = conn.execute(select(q.c.source_row, q.c.reasons, q.c.details).order_by(q.c.source_row))
        return [tuple(row) for row in rows]


def stored_responses(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.survey_responses)).scalar_one()


def test_scale_points_written_as_1e0_plus_5_05_5_dot_or_5_0_are_quarantined_as_off_scale(
    engine, warehouse_url, tmp_path, capsys
):
    forms = ["1e0", "+5", "05", "5.", "5.0"]
    rows = [survey_row(respondent=i) for i in range(20)]
    for i, text in enumerate(forms):
        rows.append(survey_row(respondent=100 + i, answers=[text] + ["4"] * (len(LABELS) - 1)))
    code, summary, _ = load_rows(capsys, tmp_path / "forms.csv", rows, warehouse_url)
    assert code == 0
    assert (summary["accepted"], summary["quarantined"]) == (20, len(forms))
    assert summary["reasons"] == {"off_scale": len(forms)}
    stored = quarantined(engine)
    assert [row[0] for row in stored] == list(range(22, 22 + len(forms)))
    assert stored[2][2] == (
        f"off_scale: {LABELS[0]}='05' is not an answer on the scale (the questionnaire accepts "
        "numbers only as plain digits (5) from 1 to 5: scale.number_forms)"
    )
    assert stored_responses(engine) == 20


def test_a_duration_above_the_plausible_maximum_is_quarantined_as_implausible_duration(
    engine, warehouse_url, tmp_path, capsys
):
    rows = [survey_row(respondent=i) for i in range(20)]
    rows.append(survey_row(respondent=100, duration_seconds="99999999999"))
    rows.append(survey_row(respondent=101, duration_seconds="604801秒"))
    rows.append(survey_row(respondent=102, duration_seconds="604800"))  # 7 days exactly: plausible
    code, summary, _ = load_rows(capsys, tmp_path / "slow.csv", rows, warehouse_url)
    assert code == 0
    assert (summary["accepted"], summary["quarantined"]) == (21, 2)
    assert summary["reasons"] == {"implausible_duration": 2}
    assert quarantined(engine)[0] == (
        22,
        "implausible_duration",
        "implausible_duration: duration=99999999999 s is longer than the plausible maximum of "
        "604800 s (7 days): check the unit (seconds) and the survey tool's clock",
    )
    with engine.connect() as conn:
        longest = conn.execute(select(func.max(t.survey_responses.c.duration_seconds))).scalar_one()
    assert longest == 604800
