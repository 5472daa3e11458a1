"""The weekly follow-up's figures, digests and files, on a register built in code: every count and
rate worked by hand, and values from the register inert in the page and the workbook."""

from __future__ import annotations

import re
import zipfile
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pandas as pd
import pytest
from openpyxl import load_workbook

from bizenv.rectification.followup import (
    build_followup,
    moves_on,
    unit_digests,
    write_followup,
)
from bizenv.rectification.rates import city_total, unit_rates
from bizenv.schemas import load_policy, load_registry

POLICY = load_policy()
REGISTRY = load_registry()
AS_OF = date(2026, 3, 1)
FORMULA = '=HYPERLINK("http://x","y")'
SCRIPT = "<script>alert(1)</script>"


def problem(pid, unit, status, deadline, *, completed=None, supervision="none", supervised_on=None, **extra):
    row = {
        "problem_id": pid,
        "period": "2026H1",
        "unit_code": unit,
        "co_units": "[]",
        "source": "comment",
        "theme": "审批时限",
        "description": "企业反映办理慢",
        "evidence": "{}",
        "status": status,
        "kind": "ordinary",
        "deadline": date.fromisoformat(deadline),
        "supervision": supervision,
        "supervised_on": date.fromisoformat(supervised_on) if supervised_on else None,
        "recurrence_count": 0,
        "last_seen_period": "2026H1",
        "previous_problem_id": None,
        "unit_response": None,
        "measures": None,
        "completed_on": date.fromisoformat(completed) if completed else None,
        "created_at": datetime(2026, 1, 5, 2, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 5, 2, tzinfo=UTC),
        "resolved_at": None,
    }
    return row | extra


def register() -> pd.DataFrame:
    return pd.DataFrame(
        [
            problem("P1", "ndrc", "verified", "2026-02-01", completed="2026-01-30"),  # on time
            problem("P2", "ndrc", "resolved", "2026-02-01", completed="2026-02-03"),  # late
            problem("P3", "ndrc", "assigned", "2026-02-01", supervision="second", supervised_on="2026-02-16"),
            problem("P4", "ndrc", "in_progress", "2026-03-04"),  # due in 3 days
            problem("P5", "ndrc", "open", "2026-03-11"),  # due in 10 days: not soon
            problem(
                "P6", "tax", "open", "2026-01-10", supervision="accountability", supervised_on="2026-02-09"
            ),
            problem("P7", "tax", "verified", "2025-11-30", completed="2025-11-20", period="2025H2"),
            problem("P8", "housing", "resolved", "2026-02-20", completed="2026-02-20"),  # on the day: on time
            problem("P9", "housing", "open", "2026-03-01"),  # due today: not overdue, due soon
        ]
    )


@pytest.fixture(scope="module")
def report():
    return build_followup(register(), AS_OF, POLICY, REGISTRY)


def test_counts_and_rates_worked_by_hand(report):
    units = report.units.set_index("unit_code")
    counts = ["raised", "solved", "solved_on_time", "solved_late", "open", "overdue"]
    assert units.loc["ndrc", counts].tolist() == [5, 2, 1, 1, 3, 1]
    assert units.loc["tax", counts].tolist() == [2, 1, 1, 0, 1, 1]
    assert units.loc["housing", counts].tolist() == [2, 1, 1, 0, 1, 0]
    assert (units.loc["ndrc", "closure_rate"], units.loc["ndrc", "on_time_rate"]) == (0.4, 0.2)
    assert units.loc["ndrc", "rectification_rate"] == pytest.approx(30.0)  # (1 + 0.5) / 5
    assert units.loc["tax", "unit_name"] == "税务局"
    assert report.counts() == {
        "raised": 9, "solved": 4, "solved_on_time": 3, "solved_late": 1, "open": 5, "overdue": 2,
    }  # fmt: skip
    assert (
        report.line_zh() == "共登记问题 9 个,已整改 4 个(按期 3 个,逾期整改 1 个),未整改 5 个,其中超期 2 个"
    )
    assert report.total["closure_rate"] == pytest.approx(4 / 9)
    assert report.total["on_time_rate"] == pytest.approx(3 / 9)


def test_the_figures_are_those_of_rates(report):
    expected = unit_rates(register(), AS_OF, POLICY)
    pd.testing.assert_frame_equal(report.units.drop(columns="unit_name"), expected)
    pd.testing.assert_series_equal(report.total, city_total(expected))


def test_periods_are_broken_down_by_the_period_raised(report):
    periods = report.periods.set_index("period")
    assert periods.loc["2025H2", ["raised", "solved_on_time", "open"]].tolist() == [1, 1, 0]
    assert periods.loc["2026H1", ["raised", "solved", "solved_on_time", "solved_late", "open", "overdue"]].tolist() == [
        8, 3, 2, 1, 5, 2,
    ]  # fmt: skip
    assert periods["raised"].sum() == report.counts()["raised"]


def test_supervision_worst_level_first_with_days_overdue_and_due_soon(report):
    s = report.supervision
    assert s["problem_id"].tolist() == ["P6", "P3"]
    assert s["supervision"].tolist() == ["accountability", "second"]
    assert s["days_overdue"].tolist() == [50, 28]  # 10 Jan → 1 Mar; 1 Feb → 1 Mar
    assert s.loc[1, "supervised_on"] == date(2026, 2, 16)
    assert report.due_soon["problem_id"].tolist() == ["P9", "P4"]
    assert report.due_soon["due_in_days"].tolist() == [0, 3]
    summary = report.summary()
    assert summary["supervision"] == {"accountability": 1, "second": 1, "first": 0, "none": 0}
    assert (summary["due_soon"], summary["overdue"]) == (2, 2)


def test_the_due_soon_window_is_the_policys():
    """P4 is due in 3 days, P9 today: a 2-day window keeps only P9, in the list and the digests."""
    rectification = POLICY.rectification.model_copy(update={"due_soon_days": 2})
    narrow = build_followup(
        register(), AS_OF, POLICY.model_copy(update={"rectification": rectification}), REGISTRY
    )
    assert narrow.due_soon["problem_id"].tolist() == ["P9"]
    texts = "\n".join(text for _, text in unit_digests(narrow).values())
    assert "2 天内到期 Due within 2 days" in texts and "7 天内到期" not in texts


def test_a_digest_per_unit_with_open_problems(report):
    moves = [
        {"problem_id": "P3", "unit_code": "ndrc", "deadline": date(2026, 2, 1), "days_overdue": 28,
         "supervision_from": "first", "supervision_to": "second"},
    ]  # fmt: skip
    digests = unit_digests(report, moves)
    assert sorted(digests) == ["housing", "ndrc", "tax"]  # every unit has an open problem here

    subject, text = digests["ndrc"]
    assert subject.startswith("bizenv: ") and "市发改委 (ndrc)" in subject
    assert "3 open, 1 overdue" in subject
    lines = text.splitlines()
    assert lines[1] == (
        "登记 raised 5, 已整改 solved 2 (按期 on time 1, 逾期 late 1), 未整改 open 3, 超期 overdue 1; "
        "整改率 closure 40.0%, 按期整改率 on time 20.0%"
    )
    assert "本次督办 Supervision steps taken today: 1" in lines
    assert (
        "- P3 审批时限: 二次督办 second supervision, 整改时限 deadline 2026-02-01, 超期 28 天 days overdue"
        in lines
    )
    assert "超期问题 Overdue: 1" in lines
    assert any(line.startswith("- P3 审批时限: 整改时限 deadline 2026-02-01, 超期 28 天") for line in lines)
    assert "7 天内到期 Due within 7 days: 1" in lines
    assert "- P4 审批时限: 整改时限 deadline 2026-03-04 (还有 3 天 days left)" in lines
    assert "P5" not in text and "P1" not in text

    _, tax = digests["tax"]
    assert "本次督办 Supervision steps taken today: 0" in tax
    assert "- P6 审批时限: 整改时限 deadline 2026-01-10, 超期 50 天 days overdue, 问责 accountability" in tax
    _, housing = digests["housing"]
    assert "超期问题 Overdue: 0" in housing and "- P9 " in housing


def test_units_without_open_problems_get_no_digest():
    settled = register()
    settled = settled[settled["unit_code"].ne("housing") | settled["status"].eq("resolved")]
    assert sorted(unit_digests(build_followup(settled, AS_OF, POLICY, REGISTRY))) == ["ndrc", "tax"]


def test_the_days_steps_are_read_back_from_the_register():
    frame = register()
    frame.loc[frame["problem_id"].eq("P3"), "supervised_on"] = AS_OF
    moves = moves_on(frame, AS_OF)
    assert moves.to_dict("records") == [
        {"problem_id": "P3", "unit_code": "ndrc", "deadline": date(2026, 2, 1), "days_overdue": 28,
         "supervision_from": "first", "supervision_to": "second"},
    ]  # fmt: skip
    assert moves_on(frame, AS_OF, ["P6"]).empty


def test_a_digest_names_its_own_units_problems_only():
    digests = unit_digests(build_followup(register(), AS_OF, POLICY, REGISTRY))
    assert "P6" not in digests["ndrc"][1] and "P3" not in digests["tax"][1]


# --- hostile values ------------------------------------------------------------------------------


def hostile() -> tuple[pd.DataFrame, object]:
    frame = register()
    frame.loc[frame["problem_id"].eq("P3"), "theme"] = FORMULA
    frame.loc[frame["problem_id"].eq("P6"), "theme"] = SCRIPT
    frame.loc[frame["problem_id"].eq("P4"), "theme"] = "-2"
    frame.loc[frame["problem_id"].eq("P2"), "description"] = "@SUM(A1)"
    frame.loc[frame["problem_id"].eq("P1"), "description"] = "\tcmd|' /C calc'!A0"
    units = [
        u.model_copy(update={"name": '<img src=x onerror="alert(2)">'}) if u.code == "tax" else u
        for u in REGISTRY.units
    ]
    return frame, REGISTRY.model_copy(update={"units": units})


class Active(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "img", "a") or any(name.startswith("on") for name, _ in attrs):
            self.found.append(tag)


def test_hostile_values_are_inert_in_the_page_and_the_workbook(tmp_path):
    frame, registry = hostile()
    written = write_followup(tmp_path, build_followup(frame, AS_OF, POLICY, registry))
    assert [p.name for p in written] == ["rectification.html", "rectification.xlsx"]

    page = (tmp_path / "rectification.html").read_text(encoding="utf-8")
    parser = Active()
    parser.feed(page)
    assert parser.found == []
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=" in page

    book = load_workbook(tmp_path / "rectification.xlsx")
    seen = set()
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate)
                assert cell.hyperlink is None, (sheet.title, cell.coordinate)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), cell.value
                    seen.add(cell.value)
    assert {"'" + FORMULA, "'@SUM(A1)", "'-2", "'\tcmd|' /C calc'!A0"} <= seen
    with zipfile.ZipFile(tmp_path / "rectification.xlsx") as archive:
        xml = "".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml"))
    assert not re.search(r"<f[ >]", xml)
    assert "hyperlink" not in xml


def test_the_workbook_has_the_pages_tables_with_formats(tmp_path, report):
    write_followup(tmp_path, report)
    book = load_workbook(tmp_path / "rectification.xlsx")
    assert book.sheetnames == [
        "概况 summary",
        "单位 units",
        "督办 supervision",
        "即将到期 due soon",
        "问题 problems",
    ]
    units = book["单位 units"]
    header = [c.value for c in units[1]]
    rows = {units.cell(r, 1).value: r for r in range(2, units.max_row + 1)}
    closure = units.cell(rows["ndrc"], header.index("closure_rate") + 1)
    assert (closure.value, closure.number_format) == (0.4, "0.0%")
    assert units.auto_filter.ref == f"A1:{units.cell(1, len(header)).column_letter}4"
    supervision = book["督办 supervision"]
    header = [c.value for c in supervision[1]]
    deadline = supervision.cell(2, header.index("deadline") + 1)
    assert (deadline.value, deadline.number_format) == (datetime(2026, 1, 10), "yyyy-mm-dd")
    summary = book["概况 summary"]
    assert [summary.cell(r, 1).value for r in range(2, 5)] == ["全部 all", "2025H2", "2026H1"]
    assert summary.cell(2, 2).value == 9
