"""The canonical survey format: one row per (respondent, unit), item columns named by label."""

from __future__ import annotations

import pandas as pd

from bizenv.errors import BizenvError
from bizenv.ingest.reading import RawTable
from bizenv.ingest.rows import StandardBatch, rows_as_json
from bizenv.schemas.models import Questionnaire


def expected_columns(questionnaire: Questionnaire) -> list[str]:
    fmt = questionnaire.formats.canonical
    return [
        questionnaire.respondent.key.column,
        fmt.unit_column,
        fmt.submitted_at_column,
        fmt.duration_column,
        *questionnaire.attribute_columns(),
        *(item.label for item in questionnaire.items()),
        questionnaire.respondent.comment.column,
    ]


def to_standard(table: RawTable, questionnaire: Questionnaire) -> StandardBatch:
    """Map the file's columns to the standard frame of `bizenv.ingest.rows`."""
    expected = expected_columns(questionnaire)
    present = list(table.frame.columns)
    missing = [c for c in expected if c not in present]
    unknown = [c for c in present if c not in expected]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        raise BizenvError(
            f"header does not match questionnaire {questionnaire.name}: {'; '.join(parts)}",
            file=str(table.path),
            row=1,
            column=(missing or unknown)[0],
        )
    frame = table.frame
    fmt = questionnaire.formats.canonical
    columns = {
        "source_row": pd.Series(frame.index, index=frame.index),
        "respondent_key": frame[questionnaire.respondent.key.column],
        "unit": frame[fmt.unit_column],
        "submitted_at": frame[fmt.submitted_at_column],
        "duration": frame[fmt.duration_column],
        **{a.code: frame[a.column] for a in questionnaire.respondent.attributes},
        **{item.code: frame[item.label] for item in questionnaire.items()},
        "comment": frame[questionnaire.respondent.comment.column],
    }
    return StandardBatch(
        frame=pd.DataFrame(columns),
        raw=lambda index, sanitise: rows_as_json(sanitise(frame.loc[index])),
        file_format=f"canonical-{table.file_format}",
        file_rows=len(frame),
        key_column=questionnaire.respondent.key.column,
        comment_column=questionnaire.respondent.comment.column,
    )
