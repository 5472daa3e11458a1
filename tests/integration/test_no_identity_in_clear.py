"""Nothing derived from an identity leaves ingest except its salted hash: identifiers planted in
survey batches appear in no byte of the warehouse nor of any file written from it."""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

from sqlalchemy import create_engine

from bizenv.cli import main
from bizenv.ingest.inbox import Landing, process_file
from tests.builders import (
    credit_code,
    run_cli,
    survey_row,
    unit_sample,
    wenjuanxing_export,
    write_frame,
    write_survey,
)

PHONE = "13907115678"
DOTTED_PHONE = "139.0711.5679"
EMAIL = "wang.xiaoming@example.com"
IP = "203.0.113.77"
WJX_IP = "198.51.100.23"
NAME = "王小明"
NAME_WJX = "赵大海"
MENTIONED_CODE = credit_code(4242)  # a credit code written inside a comment


def _bad_code(n: int) -> str:
    """A credit code of the right shape with the wrong check character."""
    good = credit_code(n)
    return good[:-1] + ("1" if good[-1] != "1" else "2")


BAD_CODE = _bad_code(777)
BAD_CODE_WJX = _bad_code(778)
COMMENT = f"联系人：{NAME}，电话{PHONE}或{DOTTED_PHONE}，邮箱{EMAIL}，IP {IP}，代码{MENTIONED_CODE}"


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _bytes_of(path: Path) -> list[bytes]:
    """The file's bytes, and for a workbook the XML of every part inside it."""
    data = path.read_bytes()
    if path.suffix in {".xlsx", ".xlsm"}:
        with zipfile.ZipFile(path) as book:
            return [data, *(book.read(name) for name in book.namelist())]
    return [data]


def test_planted_identifiers_appear_nowhere(tmp_path, capsys, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    inputs, written = tmp_path / "in", tmp_path / "written"
    inputs.mkdir()
    written.mkdir()
    db = f"sqlite:///{written / 'warehouse.sqlite'}"
    assert main(["init-db", "--db", db]) == 0

    rows = unit_sample("市发改委", 30, "满意")
    rows[0]["comment"] = COMMENT
    rows += [
        survey_row(respondent=900, unit="市发改委", respondent_id=BAD_CODE, comment=f"联系人 {NAME}"),
        # a duplicate: the same enterprise and unit, submitted earlier
        survey_row(respondent=1, unit="市发改委", submitted_at="2026-05-01T09:00:00", comment=f"电话{PHONE}"),
        # an answer off the scale quotes the cell in the details
        survey_row(respondent=901, unit="市发改委", answers=["满意"] * 9 + [EMAIL]),
    ]
    code, summary, _ = run_cli(
        capsys, "load-survey", str(write_survey(inputs / "s.csv", rows)), "--period", "2026H1", "--db", db
    )
    assert code == 0 and summary is not None
    assert summary["reasons"] == {"bad_credit_code": 1, "duplicate": 1, "off_scale": 1}

    # A second batch re-submits an enterprise's answer later: the earlier row is superseded.
    later = [survey_row(respondent=2, unit="市发改委", submitted_at="2026-06-01T09:00:00", comment=COMMENT)]
    code, summary, _ = run_cli(
        capsys, "load-survey", str(write_survey(inputs / "s2.csv", later)), "--period", "2026H1", "--db", db
    )
    assert code == 0 and summary is not None and summary["superseded_earlier"] == 1

    # A 问卷星 export (with 来自IP), one respondent of which has a bad credit code.
    wjx_rows = unit_sample("市发改委", 10, "满意", start=600)
    wjx_rows[0]["comment"] = f"联系人：{NAME_WJX}"
    wjx_rows[1]["respondent_id"] = BAD_CODE_WJX
    wide = wenjuanxing_export(wjx_rows, ["市发改委"])
    wide["来自IP"] = f"{WJX_IP}(湖北-鄂州)"
    landing = Landing(written / "landing")
    dropped = landing.folder("inbox", "2026H1") / "wjx.csv"
    write_frame(dropped, wide)
    inbox = process_file(create_engine(db), landing, dropped, "2026H1")
    assert inbox["quarantined"] == 1 and Path(inbox["quarantine_report"]).exists()
    write_frame(inputs / "wjx.csv", wide)  # keep the planted input out of the folder searched

    code, summary, _ = run_cli(
        capsys, "evaluate", "--period", "2026H1", "--out", str(written / "out"), "--db", db
    )
    assert code == 0, summary
    assert {"quarantine.csv", "report.html", "report.xlsx", "rankings.csv"} <= {
        p.name for p in (written / "out").iterdir()
    }

    # What the commands printed (JSON summaries, stderr) and every log record are written too.
    printed = capsys.readouterr()
    (written / "printed_and_logged.txt").write_text(
        "\n".join(
            [
                printed.out,
                printed.err,
                json.dumps(summary, ensure_ascii=False),
                json.dumps(inbox, ensure_ascii=False),
                caplog.text,
            ]
        ),
        encoding="utf-8",
    )

    enterprises = [r["respondent_id"] for r in rows + later + wjx_rows]
    planted = [PHONE, DOTTED_PHONE, EMAIL, IP, WJX_IP, NAME, NAME_WJX, MENTIONED_CODE, BAD_CODE, BAD_CODE_WJX]
    # no part of a masked IP beyond its first two octets
    planted += ["0.113.77", "100.23"]
    needles = {v for value in planted + enterprises for v in (value, value.lower())}
    archived = [p for p in _files(written / "landing" / "archive") if not p.name.endswith(".quarantine.csv")]
    searched = [p for p in _files(written) if p not in archived]  # the loaded file itself is input
    assert any(p.suffix == ".sqlite" for p in searched) and any(p.suffix == ".xlsx" for p in searched)
    assert any(p.name.endswith(".quarantine.csv") for p in searched)
    found = [
        (str(path.relative_to(written)), needle)
        for path in searched
        for data in _bytes_of(path)
        for needle in sorted(needles)
        if needle.encode("utf-8") in data or needle.encode("utf-16-le") in data
    ]
    assert found == []
