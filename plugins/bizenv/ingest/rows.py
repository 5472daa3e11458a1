"""Row checks shared by every survey format: each row ends accepted or quarantined with reasons.

Format readers (`canonical.py`, ...) produce a *standard frame*, one row per (respondent,
unit), all strings as written in the file:

    source_row     file row number (header = 1), for messages and the quarantine report
    respondent_key the respondent's identity as written (e.g. a credit code)
    unit           unit code, name or alias as written
    submitted_at   submission time as written
    duration       completion time as written (seconds, "312秒", or blank)
    <attribute>    one column per respondent attribute code of the questionnaire
    <item code>    one column per item code: the answer label or number
    comment        free text

A format reader returns a `StandardBatch`: the standard frame, and how to recover the original
cells of any of its rows (quarantine keeps them verbatim for the evaluator).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from bizenv.ingest.privacy import hash_identities, mask_personal_numbers
from bizenv.ingest.problems import Problems, quote
from bizenv.periods import Period
from bizenv.schemas.models import QualityRules, Questionnaire, Registry
from bizenv.uscc import valid_uscc


@dataclass
class StandardBatch:
    """A file mapped to the standard frame by its format reader."""

    frame: pd.DataFrame
    # Original cells of the given standard rows, passed through a sanitising function, one
    # JSON object per row.
    raw: Callable[[pd.Index, Callable[[pd.DataFrame], pd.DataFrame]], pd.Series]
    file_format: str
    # Rows in the file (for wide exports, respondents; the frame has one row per rated unit).
    file_rows: int
    # Original column names of the respondent key and the free-text comment.
    key_column: str
    comment_column: str
    notes: list[str] = field(default_factory=list)

    def quarantine_raw(self, index: pd.Index, salt: str) -> pd.Series:
        """Original cells as kept in quarantine: the identity salted-hashed, comments masked."""

        def sanitise(frame: pd.DataFrame) -> pd.DataFrame:
            out = frame.copy()
            if self.key_column in out:
                key = out[self.key_column].astype("str")
                out[self.key_column] = ("sha256:" + hash_identities(key, salt)).where(
                    key.str.strip() != "", ""
                )
            if self.comment_column in out:
                out[self.comment_column] = mask_personal_numbers(out[self.comment_column])
            return out

        return self.raw(index, sanitise)


@dataclass
class CheckedRows:
    """Accepted rows (parsed, hashed, scored) and quarantined rows (original values, reasons)."""

    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    reason_counts: dict[str, int] = field(default_factory=dict)
    # Survey-quality findings that only warn: {"rule", "count", "message"}.
    warnings: list[dict] = field(default_factory=list)
    # Every input row parsed, for the Great Expectations suite (None where blank): key, unit_code,
    # submitted_at, duration_seconds, the attributes, and each item's answer (numbers normalised).
    parsed: pd.DataFrame | None = None


_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def parse_submitted_at(text: pd.Series) -> pd.Series:
    """ISO 8601, or `YYYY/M/D H:MM:SS` as survey tools export; NaT where neither.

    Times with an offset (`Z`, `+08:00`) are converted to the city's local time; times without
    one are taken as local already. The result is naive local time.
    """
    text = text.astype("str").str.strip()
    with_offset = text.str.contains(_OFFSET, regex=True)
    local = pd.to_datetime(text.where(~with_offset), format="ISO8601", errors="coerce")
    slashed = pd.to_datetime(text.where(~with_offset), format="%Y/%m/%d %H:%M:%S", errors="coerce")
    parsed = local.fillna(slashed).astype("datetime64[us]")
    if with_offset.any():
        aware = pd.to_datetime(text[with_offset], format="ISO8601", errors="coerce", utc=True)
        parsed[with_offset] = (
            aware.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None).astype("datetime64[us]")
        )
    return parsed


def parse_duration(text: pd.Series) -> pd.Series:
    """Seconds as a float; NaN for blank; -1 for malformed (negative or not a number)."""
    cleaned = text.astype("str").str.strip().str.removesuffix("秒").str.strip()
    numbers = pd.to_numeric(cleaned, errors="coerce")
    malformed = (cleaned != "") & (numbers.isna() | (numbers < 0) | ~np.isfinite(numbers))
    return numbers.mask(malformed, -1.0).astype(float)


def score_answers(answers: pd.DataFrame, questionnaire: Questionnaire) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Answer text → scale points (NaN for missing); second frame marks answers off the scale."""
    scale = questionnaire.scale
    lookup = {label: float(v) for label, v in scale.labels.items()}
    missing = set(questionnaire.missing_labels) | {""}
    scores = {}
    off_scale = {}
    for column in answers.columns:
        text = answers[column].astype("str").str.strip()
        number = pd.to_numeric(text, errors="coerce")
        on_scale = (number >= 1) & (number <= scale.points) & (number == np.floor(number))
        value = text.map(lookup).fillna(number.where(on_scale))
        scores[column] = value.astype(float)
        off_scale[column] = value.isna() & ~text.isin(missing)
    return pd.DataFrame(scores, index=answers.index), pd.DataFrame(off_scale, index=answers.index)


def check_rows(
    batch: StandardBatch,
    *,
    period: Period,
    registry: Registry,
    questionnaire: Questionnaire,
    salt: str,
    fieldwork_grace_days: int,
    quality: QualityRules | None = None,
) -> CheckedRows:
    """Apply every row rule of the schema; no row is dropped, each ends in one of two frames."""
    std = batch.frame
    problems = Problems(std.index)
    key = std["respondent_key"].astype("str").str.strip()
    problems.add("missing_respondent_key", key == "", "respondent key is blank")
    if questionnaire.respondent.key.format == "uscc":
        bad = (key != "") & ~valid_uscc(key)
        problems.add(
            "bad_credit_code",
            bad,
            f"{questionnaire.respondent.key.column}="
            + quote(key)
            + " is not a valid 18-character credit code",
        )

    index = registry.name_index()
    unit_text = std["unit"].astype("str")
    unit_code = unit_text.str.split().str.join("").str.casefold().map(index)
    blank_unit = unit_text.str.strip() == ""
    problems.add(
        "missing_unit", blank_unit, "no unit is named (in a wide export: the respondent rated no unit)"
    )
    problems.add(
        "unknown_unit",
        unit_code.isna() & ~blank_unit,
        "unit=" + quote(unit_text) + " is not in the unit registry",
    )

    submitted = parse_submitted_at(std["submitted_at"])
    problems.add(
        "bad_submitted_at",
        submitted.isna(),
        "submitted_at=" + quote(std["submitted_at"]) + " is not a date-time (ISO 8601 or YYYY/M/D H:MM:SS)",
    )
    window_end = pd.Timestamp(period.end + timedelta(days=fieldwork_grace_days + 1))
    outside = submitted.notna() & ((submitted < pd.Timestamp(period.start)) | (submitted >= window_end))
    problems.add(
        "outside_period",
        outside,
        "submitted_at=" + quote(std["submitted_at"]) + f" is outside {period} "
        f"({period.start} to {(window_end - pd.Timedelta(days=1)).date()})",
    )

    duration = parse_duration(std["duration"])
    problems.add(
        "bad_duration",
        duration < 0,
        "duration=" + quote(std["duration"]) + " is not a number of seconds",
    )

    item_codes = [item.code for item in questionnaire.items()]
    labels = {item.code: item.label for item in questionnaire.items()}
    scores, off_scale = score_answers(std[item_codes], questionnaire)
    for code in item_codes:
        problems.add(
            "off_scale",
            off_scale[code],
            f"{labels[code]}=" + quote(std[code]) + " is not an answer on the scale",
        )

    for attribute in questionnaire.respondent.attributes:
        if attribute.values is None:
            continue
        value = std[attribute.code].astype("str").str.strip()
        problems.add(
            "attribute_not_allowed",
            (value != "") & ~value.isin(attribute.values),
            f"{attribute.column}=" + quote(value) + f" is not one of {'/'.join(attribute.values)}",
        )

    warnings = (
        apply_quality_rules(
            problems,
            quality,
            key=key.str.upper(),
            unit=unit_code,
            duration=duration,
            scores=scores,
            top_point=questionnaire.scale.points,
        )
        if quality is not None
        else []
    )

    # Within the batch a (respondent, unit) pair counts once: the latest valid submission wins.
    valid = ~problems.any_mask()
    pairs = pd.DataFrame(
        {"key": key.str.upper(), "unit": unit_code, "at": submitted, "row": std["source_row"]}
    )[valid].sort_values(["at", "row"])
    winner_row = pairs.groupby(["key", "unit"])["row"].transform("last")
    superseded = pairs["row"] != winner_row
    dup_mask = pd.Series(False, index=std.index)
    dup_mask[superseded[superseded].index] = True
    winner_text = winner_row.reindex(std.index).astype("Int64").astype("str")
    problems.add(
        "duplicate", dup_mask, "superseded by row " + winner_text + " of this batch (later submission)"
    )

    reasons, details, counts = problems.fold()
    bad = reasons != ""
    quarantined = pd.DataFrame(
        {
            "source_row": std["source_row"][bad].astype(int),
            "reasons": reasons[bad],
            "details": details[bad],
            "raw": batch.quarantine_raw(std.index[bad], salt),
        }
    )
    ok = ~bad
    attributes = {
        a.code: std[a.code][ok].astype("str").str.strip() for a in questionnaire.respondent.attributes
    }
    accepted = pd.DataFrame(
        {
            "source_row": std["source_row"][ok].astype(int),
            "respondent_hash": hash_identities(key[ok], salt),
            "unit_code": unit_code[ok],
            "submitted_at": submitted[ok],
            "duration_seconds": duration[ok],
            **attributes,
            "comment": mask_personal_numbers(std["comment"][ok]),
        }
    )
    accepted = accepted.join(std[item_codes][ok].add_prefix("answer__")).join(scores[ok])

    def blank_to_none(series: pd.Series) -> pd.Series:
        text = series.astype("str").str.strip()
        return text.astype(object).where(text != "", None)

    answers = {}
    for code in item_codes:
        text = std[code].astype("str").str.strip()
        number = pd.to_numeric(text, errors="coerce")
        whole = number.notna() & (number == np.floor(number))
        answers[code] = blank_to_none(text.where(~whole, number.where(whole).astype("Int64").astype("str")))
    parsed = pd.DataFrame(
        {
            "respondent_key": blank_to_none(key),
            "unit_code": unit_code,
            "submitted_at": submitted,
            "duration_seconds": duration,
            **{a.code: blank_to_none(std[a.code]) for a in questionnaire.respondent.attributes},
            **answers,
        }
    )
    return CheckedRows(
        accepted=accepted, quarantined=quarantined, reason_counts=counts, warnings=warnings, parsed=parsed
    )


def apply_quality_rules(
    problems: Problems,
    rules: QualityRules,
    *,
    key: pd.Series,
    unit: pd.Series,
    duration: pd.Series,
    scores: pd.DataFrame,
    top_point: int,
) -> list[dict]:
    """Survey-quality rules of the validation file: each either quarantines rows or warns."""
    warnings: list[dict] = []

    def act(rule: str, action: str, mask: pd.Series, message: pd.Series | str, summary: str) -> None:
        count = int(mask.fillna(False).sum())
        if not count:
            return
        if action == "quarantine":
            problems.add(rule, mask, message)
        else:
            warnings.append({"rule": rule, "count": count, "message": summary})

    by_respondent = duration.where(duration >= 0).groupby(key).first()
    median = by_respondent.median()
    if pd.notna(median) and median > 0:
        limit = rules.speeder.share_of_median * median
        fast = (duration >= 0) & (duration < limit)
        act(
            "speeder",
            rules.speeder.action,
            fast,
            "completed in " + duration.map("{:.0f}".format) + f" s, under {limit:.0f} s "
            f"({rules.speeder.share_of_median:.0%} of the batch median {median:.0f} s)",
            f"{int(fast.sum())} row(s) completed in under {limit:.0f} s",
        )

    units_per_respondent = unit.groupby(key).transform("nunique")
    many = units_per_respondent > rules.too_many_units.max_units
    act(
        "too_many_units",
        rules.too_many_units.action,
        many,
        "the respondent rated " + units_per_respondent.astype("str") + f" units in this batch "
        f"(more than {rules.too_many_units.max_units} is implausible)",
        f"{int(many.sum())} row(s) from respondents rating more than {rules.too_many_units.max_units} units",
    )

    answered = scores.notna().sum(axis=1)
    flat = (answered >= rules.straight_lining.min_items) & (scores.min(axis=1) == scores.max(axis=1))
    act(
        "straight_lining",
        rules.straight_lining.action,
        flat,
        "the same answer to all " + answered.astype("str") + " answered items",
        f"{int(flat.sum())} row(s) give the same answer to every one of at least "
        f"{rules.straight_lining.min_items} items",
    )

    top = int((scores == float(top_point)).sum().sum())
    total = int(scores.notna().sum().sum())
    if total and top / total >= rules.top_box_batch.max_top_box_share:
        warnings.append(
            {
                "rule": "top_box_batch",
                "count": top,
                "message": f"{top / total:.1%} of the batch's answers are the top answer "
                f"(warning at {rules.top_box_batch.max_top_box_share:.0%}): check how the survey was run",
            }
        )
    return warnings


def rows_as_json(frame: pd.DataFrame) -> pd.Series:
    """Each row as a JSON object of its original strings (kept for the quarantine report)."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="str")
    # JSON escapes "\n" inside strings, so records are split on it alone (not on U+2028 etc.).
    lines = frame.to_json(orient="records", lines=True, force_ascii=False).rstrip("\n").split("\n")
    return pd.Series(lines, index=frame.index, dtype="str")
