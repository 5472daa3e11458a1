"""The canonical survey format: one row per (respondent, unit), item columns named by label."""

from __future__ import annotations

import pandas as pd

from bizenv.ingest.reading import RawTable, require_header, rows_as_json
from bizenv.ingest.rows import StandardBatch
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
    require_header(
        table,
        expected_columns(questionnaire),
        what=f"header does not match questionnaire {questionnaire.name}",
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
        fields=table.fields,
        header_fields=len(frame.columns),
        uncalculated=table.uncalculated,
    )
