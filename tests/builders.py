"""Test data built in code: canonical survey rows and files in any encoding."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bizenv.ingest.uscc import check_character
from bizenv.schemas import load_questionnaire

LABELS = [item.label for item in load_questionnaire().items()]


def credit_code(n: int) -> str:
    """A valid credit code, distinct for each n."""
    body = f"91420700{n:09d}"
    return body + check_character(body)


def survey_row(respondent: int = 1, unit: str = "市发改委", answers=None, **overrides) -> dict:
    """One canonical row; `answers` is a label/number for all items or a list of ten."""
    answers = answers if answers is not None else "满意"
    if not isinstance(answers, list):
        answers = [answers] * len(LABELS)
    row = {
        "respondent_id": credit_code(respondent),
        "unit": unit,
        "submitted_at": "2026-05-10T10:00:00",
        "duration_seconds": "300",
        "enterprise_size": "小型",
        "district": "鄂城区",
        "industry": "制造业",
        "ownership": "民营",
        **dict(zip(LABELS, [str(a) for a in answers], strict=True)),
        "comment": "",
    }
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def survey_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def write_survey(path: Path, rows: list[dict], encoding: str = "utf-8") -> Path:
    frame = survey_frame(rows)
    if path.suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False, encoding=encoding)
    return path


def unit_sample(unit: str, n: int, answers, start: int = 0) -> list[dict]:
    """n respondents rating `unit` with the same answers."""
    return [survey_row(respondent=start + i, unit=unit, answers=answers) for i in range(n)]


def wenjuanxing_export(
    rows: list[dict], units: list[str], first_number: int = 1, separator: str = "—"
) -> pd.DataFrame:
    """A 问卷星-style wide export of canonical rows, grid columns joined by `separator`."""
    from bizenv.demo import to_wenjuanxing

    wide = to_wenjuanxing(survey_frame(rows), units, first_number)
    return wide.rename(columns=lambda c: c.replace("—", separator))


def write_frame(path: Path, frame: pd.DataFrame, encoding: str = "utf-8") -> Path:
    if path.suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False, encoding=encoding)
    return path


def run_cli(capsys, *argv: str) -> tuple[int, dict | None, str]:
    """Run the `bizenv` command in-process: exit code, its last-line JSON (if any), stderr."""
    import json

    from bizenv.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    last = out.strip().splitlines()[-1] if out.strip() else ""
    return code, (json.loads(last) if last.startswith("{") else None), err


def load_rows(
    capsys, path: Path, rows: list[dict], db: str, period: str = "2026H1"
) -> tuple[int, dict | None, str]:
    """Write `rows` as a canonical survey file at `path` and load it with `bizenv load-survey`."""
    return run_cli(capsys, "load-survey", str(write_survey(path, rows)), "--period", period, "--db", db)
