"""The public ranking publishes ranks, indices and the method, and nothing of what the period
report holds for staff: comments, quarantine, respondent keys, rank intervals, flags' reasons,
composite internals, or an index resting on fewer respondents than the suppression threshold."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import lxml.html
import pandas as pd
import pytest

from bizenv.report.public import write_public

COMMENT_MARKER = "COMMENT-MARKER-8d41f0 企业意见原文"
QUARANTINE_FILE = "QUARANTINE-FILE-MARKER-2b9c.csv"
QUARANTINE_DETAIL = "QUARANTINE-DETAIL-MARKER-51e7"
QUARANTINE_RAW = "QUARANTINE-RAW-MARKER-c03a"
QUARANTINE_BATCH = "QUARANTINE-BATCH-MARKER-77aa"
PUBLIC = ["period", "group", "level", "rank", "unit_code", "unit_name", "satisfaction_index", "respondents"]


@pytest.fixture
def published(evaluated_demo, tmp_path: Path):
    report = evaluated_demo.report
    comments = pd.concat(
        [report.comments, pd.DataFrame({"unit_code": ["finance"], "comment": [COMMENT_MARKER]})],
        ignore_index=True,
    )
    quarantine = pd.concat(
        [
            report.quarantine,
            pd.DataFrame(
                {
                    "file": [QUARANTINE_FILE],
                    "batch_id": [QUARANTINE_BATCH],
                    "file_row": [7],
                    "reasons": ["unknown_unit"],
                    "details": [QUARANTINE_DETAIL],
                    "original_values": [f'{{"comment": "{QUARANTINE_RAW}"}}'],
                }
            ),
        ],
        ignore_index=True,
    )
    marked = dataclasses.replace(report, comments=comments, quarantine=quarantine)
    paths = write_public(tmp_path / "public", marked)
    return marked, {path.name: path for path in paths}


def _texts(files: dict[str, Path]) -> dict[str, str]:
    return {name: path.read_text(encoding="utf-8-sig") for name, path in files.items()}


def test_both_files_are_written(published):
    _, files = published
    assert sorted(files) == ["ranking.csv", "ranking.html"]


def test_no_comment_quarantine_or_respondent_key_is_published(published):
    report, files = published
    hashes = set(report.responses["respondent_hash"]) | set(report.quarantine["batch_id"])
    for name, text in _texts(files).items():
        for marker in (COMMENT_MARKER, QUARANTINE_FILE, QUARANTINE_DETAIL, QUARANTINE_RAW, QUARANTINE_BATCH):
            assert marker not in text, (name, marker)
        for comment in report.comments["comment"]:
            assert comment not in text, (name, comment)
        assert "sha256" not in text
        assert not [h for h in hashes if h in text], name
        for word in ("quarantine", "隔离", "comment", "意见"):
            assert word not in text.lower(), (name, word)


def test_no_flag_reason_rank_interval_or_composite_internal_is_published(published):
    report, files = published
    reasons = [*report.flags["reason"], *report.flags["reason_en"]]
    composites = [f"{v:.2f}" for v in report.rankings_csv["composite_score"].dropna()]
    for name, text in _texts(files).items():
        for reason in reasons:
            assert reason not in text, (name, reason)
        for flag in report.flags["flag"].unique():
            assert flag not in text, (name, flag)
        for word in (
            "rank_ci",
            "rank_median",
            "p_bottom",
            "composite",
            "indicator_score",
            "排名区间",
            "P(后",
            "综合得分",
        ):
            assert word not in text, (name, word)
        assert not [c for c in composites if c in text], name


def test_the_csv_has_exactly_the_public_columns_in_utf8_with_bom(published):
    _, files = published
    raw = files["ranking.csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with files["ranking.csv"].open(encoding="utf-8-sig", newline="") as handle:
        assert next(csv.reader(handle)) == PUBLIC


def test_ranks_and_indices_match_the_rankings_csv(published):
    report, files = published
    public = pd.read_csv(files["ranking.csv"], encoding="utf-8-sig", dtype={"unit_code": str})
    expected = report.rankings_csv.set_index("unit_code")
    raw = report.rankings.set_index("unit_code")["satisfaction_index"]
    assert sorted(public["unit_code"]) == sorted(expected.index)
    for row in public.itertuples():
        official = expected.loc[row.unit_code]
        if pd.isna(official["rank"]):
            assert pd.isna(row.rank)
        else:
            assert row.rank == int(official["rank"])
        assert row.unit_name == official["unit_name"]
        if pd.isna(official["satisfaction_index"]):
            assert pd.isna(row.satisfaction_index)
        else:
            # Rounded once, from the unrounded index (rankings.csv keeps two decimals).
            assert row.satisfaction_index == round(raw.loc[row.unit_code], 1)
            assert abs(row.satisfaction_index - official["satisfaction_index"]) <= 0.05 + 1e-9
    # Each group is listed best first, units not ranked after the ranked ones.
    for _, group in public.groupby(["group", "level"], sort=False):
        ranks = group["rank"].tolist()
        ranked = [r for r in ranks if pd.notna(r)]
        assert ranked == sorted(ranked)
        assert ranks[: len(ranked)] == ranked


def test_a_unit_under_the_suppression_threshold_shows_no_index(published):
    report, files = published
    threshold = report.policy.suppression_min
    under = report.rankings[
        (report.rankings["n_respondents"] < threshold) & report.rankings["satisfaction_index"].notna()
    ]
    assert not under.empty, "the demo must have a unit with an index under the threshold for this test"
    public = pd.read_csv(files["ranking.csv"], encoding="utf-8-sig", dtype={"unit_code": str}).set_index(
        "unit_code"
    )
    page = lxml.html.fromstring(files["ranking.html"].read_text(encoding="utf-8"))
    cells = {
        tr.xpath("string(td[2])"): [td.text_content() for td in tr.xpath("td")]
        for tr in page.xpath("//tr[td]")
    }
    for unit in under.itertuples():
        assert pd.isna(public.loc[unit.unit_code, "satisfaction_index"])
        assert public.loc[unit.unit_code, "respondents"] == f"<{threshold}"
        row = next(cells for name, cells in cells.items() if name.startswith(unit.unit_name))
        assert row[2] == "—"
        assert f"{unit.satisfaction_index:.1f}" not in " ".join(row)


def test_the_page_states_the_period_and_the_method(published):
    report, files = published
    text = files["ranking.html"].read_text(encoding="utf-8")
    assert "2026年上半年" in text and report.period in text
    assert "测评方法" in text and f"少于 {report.policy.min_respondents} 家" in text


def test_unit_names_are_inert_in_both_files(evaluated_demo, tmp_path: Path):
    report = evaluated_demo.report
    hostile = '=HYPERLINK("http://x","<script>alert(1)</script>")'
    rankings = report.rankings.copy()
    rankings.loc[rankings["unit_code"] == "finance", "unit_name"] = hostile
    paths = write_public(tmp_path, dataclasses.replace(report, rankings=rankings))
    html, csv_path = paths
    assert "<script>" not in html.read_text(encoding="utf-8")
    assert "&lt;script&gt;" in html.read_text(encoding="utf-8")
    public = pd.read_csv(csv_path, encoding="utf-8-sig", dtype={"unit_code": str}).set_index("unit_code")
    assert public.loc["finance", "unit_name"] == "'" + hostile
