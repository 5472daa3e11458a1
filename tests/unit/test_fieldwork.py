"""The fieldwork monitor on a warehouse loaded by the real loader, checked against figures
worked out by hand.

2026H1 runs from 1 January to 30 June (181 days) plus 45 grace days: fieldwork closes on
14 August, 226 days in all. As of 23 April, 113 days have gone and 113 are left, so every unit's
projection is twice what it has. With a minimum of 4 and a target of 8 enterprises:

| unit | enterprises | projected | status |
|---|---|---|---|
| ndrc | 8 (one rated it twice: counted once) | 16 | reached |
| sci_tech | 4 | 8 = target | on_track |
| econ_info | 3 | 6 | at_risk |
| public_security | 2 (two more in a refused batch) | 4 = minimum | at_risk |
| justice | 1 (five more in a batch loaded after the day) | 2 | will_miss |
| the other 30 | 0 | 0 | will_miss |
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import update

from bizenv.fieldwork import (
    alerts,
    classify,
    fieldwork_close,
    fieldwork_progress,
    open_periods,
    write_fieldwork,
)
from bizenv.ingest.survey_batch import load_survey
from bizenv.periods import Period
from bizenv.schemas import load_policy, load_registry
from bizenv.schemas.models import Fieldwork
from bizenv.warehouse import tables as t
from tests.builders import survey_row, write_survey

AS_OF = date(2026, 4, 23)


@pytest.fixture
def policy():
    return load_policy().model_copy(
        update={"min_respondents": 4, "fieldwork": Fieldwork(target_respondents=8, quiet_days=7)}
    )


def _load(engine, tmp_path, name: str, rows: list[dict], loaded_at: datetime) -> dict:
    summary = load_survey(engine, write_survey(tmp_path / f"{name}.csv", rows), "2026H1")
    with engine.begin() as conn:
        conn.execute(
            update(t.survey_batches)
            .where(t.survey_batches.c.batch_id == summary["batch_id"])
            .values(loaded_at=loaded_at)
        )
    return summary


def _rows(unit: str, respondents, submitted_at: str) -> list[dict]:
    return [survey_row(respondent=r, unit=unit, submitted_at=submitted_at) for r in respondents]


@pytest.fixture
def loaded(engine, tmp_path):
    early, april, late = "2026-02-20T10:00:00", "2026-04-15T10:00:00", "2026-04-22T10:00:00"
    first = (
        _rows("市发改委", range(1, 9), early)
        + _rows("科技局", [1, 2], early)
        + _rows("公安局", [20, 21], early)
        + _rows("司法局", [40], early)
    )
    assert (
        _load(engine, tmp_path, "first", first, datetime(2026, 3, 1, 2, tzinfo=UTC))["status"] == "accepted"
    )
    # 01:00 on 21 April in the city, still 20 April in UTC.
    second = (
        _rows("市发改委", [1], april) + _rows("科技局", [3, 4], april) + _rows("经信局", [10, 11, 12], april)
    )
    summary = _load(engine, tmp_path, "second", second, datetime(2026, 4, 20, 17, tzinfo=UTC))
    assert summary["status"] == "accepted" and summary["superseded_earlier"] == 1
    bad = [survey_row(respondent=50 + i, unit="公安局", respondent_id="123") for i in range(3)]
    refused = _load(
        engine, tmp_path, "refused", _rows("公安局", [30, 31], april) + bad, datetime(2026, 4, 2, tzinfo=UTC)
    )
    assert refused["status"] == "refused"
    # 02:00 on 24 April in the city: after the as-of day, though 23 April in UTC.
    after = _load(
        engine, tmp_path, "after", _rows("司法局", range(41, 46), late), datetime(2026, 4, 23, 18, tzinfo=UTC)
    )
    assert after["status"] == "accepted"
    return engine


def test_every_status_and_the_projection_as_worked_by_hand(loaded, policy):
    progress = fieldwork_progress(loaded, "2026H1", AS_OF, policy, load_registry())

    assert (progress.close, progress.days_elapsed, progress.days_left) == (date(2026, 8, 14), 113, 113)
    units = progress.units.set_index("unit_code")
    assert len(units) == 35
    expected = {
        "ndrc": (8, "reached"),
        "sci_tech": (4, "on_track"),
        "econ_info": (3, "at_risk"),
        "public_security": (2, "at_risk"),
        "justice": (1, "will_miss"),
        "finance": (0, "will_miss"),
    }
    for code, (respondents, status) in expected.items():
        row = units.loc[code]
        assert (row["respondents"], row["status"]) == (respondents, status), code
        assert row["daily_rate"] == pytest.approx(respondents / 113)
        assert row["projected"] == pytest.approx(2 * respondents)
        assert (row["min_respondents"], row["target_respondents"]) == (4, 8)
    assert progress.counts() == {"will_miss": 31, "at_risk": 2, "on_track": 1, "reached": 1}
    assert progress.respondents == 14
    # Worst first: the 30 empty units (by code), then justice, then the at-risk units by projection.
    order = progress.units["unit_code"].tolist()
    assert order[:30] == sorted(order[:30]) and "justice" not in order[:30]
    assert order[30:] == ["justice", "public_security", "econ_info", "sci_tech", "ndrc"]
    assert progress.last_batch == date(2026, 4, 21) and progress.days_since_last_batch == 2
    assert progress.quiet is False


@pytest.mark.parametrize(
    ("as_of", "last_batch", "days", "quiet"),
    [("2026-04-30", "2026-04-24", 6, False), ("2026-05-01", "2026-04-24", 7, True)],
)
def test_a_period_is_quiet_from_quiet_days_without_a_batch(loaded, policy, as_of, last_batch, days, quiet):
    progress = fieldwork_progress(loaded, "2026H1", date.fromisoformat(as_of), policy, load_registry())
    assert progress.last_batch == date.fromisoformat(last_batch)
    assert (progress.days_since_last_batch, progress.quiet) == (days, quiet)
    # The batch of the 24th now counts: justice has 6 of a projected 6 × 226 / days elapsed.
    justice = progress.units.set_index("unit_code").loc["justice"]
    assert justice["respondents"] == 6
    assert justice["projected"] == pytest.approx(6 * 226 / progress.days_elapsed)


def test_outputs_and_alerts(loaded, policy, tmp_path):
    progress = fieldwork_progress(loaded, "2026H1", AS_OF, policy, load_registry())
    out = tmp_path / "out" / "2026H1"
    paths = write_fieldwork(progress, out, city="鄂州市")

    assert paths == {
        "csv": str(out / "fieldwork" / "fieldwork.csv"),
        "html": str(out / "fieldwork" / "fieldwork.html"),
    }
    assert sorted(p.name for p in (out / "fieldwork").iterdir()) == ["fieldwork.csv", "fieldwork.html"]
    with open(paths["csv"], encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 35
    assert rows[-1] == {
        "period": "2026H1",
        "as_of": "2026-04-23",
        "fieldwork_close": "2026-08-14",
        "unit_code": "ndrc",
        "unit_name": "市发改委",
        "group": "government",
        "status": "reached",
        "respondents": "8",
        "min_respondents": "4",
        "target_respondents": "8",
        "days_elapsed": "113",
        "days_left": "113",
        "daily_rate": "0.071",
        "projected": "16.0",
    }
    html = Path(paths["html"]).read_text(encoding="utf-8")
    assert '<b>31</b><span class="status will_miss">' in html
    assert html.index("司法局") < html.index("公安局") < html.index("经信局") < html.index("科技局")

    messages = alerts(progress)
    assert len(messages) == 1  # not quiet
    subject, text = messages[0]
    assert subject == "bizenv: 2026H1 fieldwork: 31 unit(s) will miss the minimum, 2 at risk"
    assert "- 司法局 (justice) will miss the minimum: 1 so far, projected 2.0" in text
    assert "- 公安局 (public_security) at risk: 2 so far, projected 4.0" in text
    assert "市发改委" not in text and "科技局" not in text


def test_text_that_looks_like_a_formula_is_neutralised_and_markup_escaped(engine, policy, tmp_path):
    registry = load_registry()
    units = [
        u.model_copy(update={"name": '=HYPERLINK("x")<b>'}) if u.code == "ndrc" else u for u in registry.units
    ]
    progress = fieldwork_progress(
        engine, "2026H1", AS_OF, policy, registry.model_copy(update={"units": units})
    )
    paths = write_fieldwork(progress, tmp_path)
    frame = pd.read_csv(paths["csv"], encoding="utf-8-sig")
    assert '\'=HYPERLINK("x")<b>' in frame["unit_name"].tolist()
    html = Path(paths["html"]).read_text(encoding="utf-8")
    assert "=HYPERLINK(&#34;x&#34;)&lt;b&gt;" in html and '<b>"' not in html
    # Nothing loaded: every unit will miss, and the period has been quiet since it began.
    assert progress.counts()["will_miss"] == 35
    assert (progress.last_batch, progress.days_since_last_batch, progress.quiet) == (None, 113, True)
    assert alerts(progress)[1][0] == "bizenv: 2026H1 fieldwork quiet for 113 day(s)"


def test_classify_compares_whole_numbers_at_the_thresholds():
    # 3 days of 7: a projection of respondents × 7 / 3; minimum 7, target 14.
    respondents = pd.Series([2, 3, 5, 6, 14, 0])
    assert classify(respondents, 3, 7, 7, 14).tolist() == [
        "will_miss",  # 4.67
        "at_risk",  # 7 exactly
        "at_risk",  # 11.67
        "on_track",  # 14 exactly
        "reached",
        "will_miss",
    ]


def test_open_periods_include_the_previous_half_year_during_its_grace_days():
    assert open_periods(date(2026, 8, 14), 45) == [Period(2026, 1), Period(2026, 2)]
    assert open_periods(date(2026, 8, 15), 45) == [Period(2026, 2)]
    assert open_periods(date(2026, 1, 1), 45) == [Period(2025, 2), Period(2026, 1)]
    assert open_periods(date(2026, 4, 1), 45) == [Period(2026, 1)]
    assert fieldwork_close(Period(2025, 2), load_policy()) == date(2026, 2, 14)


def test_after_the_close_the_projection_is_what_was_reached(loaded, policy):
    progress = fieldwork_progress(loaded, "2026H1", date(2026, 9, 1), policy, load_registry())
    assert (progress.days_elapsed, progress.days_left, progress.quiet) == (226, 0, False)
    justice = progress.units.set_index("unit_code").loc["justice"]
    assert (justice["projected"], justice["status"]) == (6, "at_risk")


def test_a_day_before_the_period_is_refused(engine, policy):
    from bizenv.errors import BizenvError

    with pytest.raises(BizenvError, match="fieldwork for 2026H2 starts on 2026-07-01, after 2026-06-30"):
        fieldwork_progress(engine, "2026H2", date(2026, 6, 30), policy, load_registry())
