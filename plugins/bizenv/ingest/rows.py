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

`check_rows` runs the named checks below (`check_respondent_key`, `check_submitted_at`, ...), each
on whole columns, with the checks every batch kind shares (`bizenv.ingest.batch`: unit names,
the latest row of a pair, the split into accepted and quarantined rows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd

from bizenv.ingest.batch import (
    CheckedRows,
    check_field_count,
    check_formulas,
    check_unit,
    flag_superseded,
    split,
)
from bizenv.ingest.distinct import on_distinct
from bizenv.ingest.privacy import hash_identities, mask_personal_numbers
from bizenv.ingest.problems import Message, Problems, quote
from bizenv.periods import Period
from bizenv.schemas.models import (
    Attribute,
    ImplausibleDuration,
    QualityRules,
    Questionnaire,
    Registry,
    Scale,
    Speeder,
    StraightLining,
    TooManyUnits,
    TopBoxBatch,
)
from bizenv.uscc import valid_uscc
from bizenv.validate.suites import fieldwork_window


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
    # Fields each row has in the file (same index as `frame`) and how many the header has, when
    # the reader can tell (a CSV): a row with fewer was cut short, its last cells are not blank
    # answers but missing ones.
    fields: pd.Series | None = None
    header_fields: int = 0
    # True where a cell the row is read from holds a formula with no usable value (same index as
    # `frame`, columns named as in the file; see `RawTable.uncalculated`), when the file has any.
    uncalculated: pd.DataFrame | None = None

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


_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
NO_UNIT = "no unit is named (in a wide export: the respondent rated no unit)"
CITY_TIMEZONE = "Asia/Shanghai"
# A submission may be stamped this much later than the load by a clock running ahead.
CLOCK_SKEW = timedelta(days=1)


def parse_submitted_at(text: pd.Series) -> pd.Series:
    """ISO 8601, or `YYYY/M/D H:MM:SS` as survey tools export; NaT where neither.

    Times with an offset (`Z`, `+08:00`) are converted to the city's local time; times without
    one are taken as local already. The result is naive local time.
    """
    text = text.astype("str").str.strip()
    # pandas reads words such as "now" and "today" as the current time: only digits may start a date.
    text = text.where(text.str.match(r"\d"), "")
    with_offset = text.str.contains(_OFFSET, regex=True)
    local = pd.to_datetime(text.where(~with_offset), format="ISO8601", errors="coerce")
    slashed = pd.to_datetime(text.where(~with_offset), format="%Y/%m/%d %H:%M:%S", errors="coerce")
    parsed = local.fillna(slashed).astype("datetime64[us]")
    if with_offset.any():
        aware = pd.to_datetime(text[with_offset], format="ISO8601", errors="coerce", utc=True)
        parsed[with_offset] = aware.dt.tz_convert(CITY_TIMEZONE).dt.tz_localize(None).astype("datetime64[us]")
    return parsed


def parse_duration(text: pd.Series) -> pd.Series:
    """Seconds as a float; NaN for blank; -1 for malformed (negative, not a number, or not a
    finite one: `inf`, `nan`, `1e400`)."""
    cleaned = text.astype("str").str.strip().str.removesuffix("秒").str.strip()
    numbers = pd.to_numeric(cleaned, errors="coerce")
    malformed = (cleaned != "") & (numbers.isna() | (numbers < 0) | ~np.isfinite(numbers))
    return numbers.mask(malformed, -1.0).astype(float)


def scale_numbers(text: pd.Series, scale: Scale) -> pd.Series:
    """The scale point of each answer written as a number in one of the questionnaire's
    `scale.number_forms` and within 1..points; NaN for any other text (labels included).

    Only the declared forms count: `pd.to_numeric` alone would also read "1e0", "+5", "05" or
    "5." as scores, forms no survey tool writes, which point at a file edited or converted by
    hand and so are quarantined as off_scale rather than guessed at. `text` is stripped."""
    pattern = scale.number_pattern()
    if pattern is None:
        return pd.Series(np.nan, index=text.index, dtype=float)
    written = text.str.fullmatch(pattern).fillna(False).astype(bool)
    # Every form starts with the point's digits; what follows them is a decimal point and zeros.
    digits = text.where(written).str.extract(r"^([0-9]+)", expand=False)
    number = pd.to_numeric(digits, errors="coerce").astype(float)
    return number.where(number <= scale.points)


def read_answers(text: pd.Series, questionnaire: Questionnaire) -> pd.DataFrame:
    """For each answer as written: `score` (NaN for missing or off the scale), `off_scale`,
    `looks_on_scale` (a scale point written as a number in a form not declared), and `parsed`
    (what the batch suite sees: a declared number as its plain point, other text as written,
    missing when blank)."""
    scale = questionnaire.scale
    lookup = {label: float(v) for label, v in scale.labels.items()}
    missing = set(questionnaire.missing_labels) | {""}
    stripped = text.astype("str").str.strip()
    point = scale_numbers(stripped, scale)
    score = stripped.map(lookup).fillna(point).astype(float)
    number = pd.to_numeric(stripped, errors="coerce")
    parsed = stripped.where(point.isna(), point.astype("Int64").astype("str"))
    return pd.DataFrame(
        {
            "score": score,
            "off_scale": score.isna() & ~stripped.isin(missing),
            "looks_on_scale": (number >= 1) & (number <= scale.points) & (number % 1 == 0),
            "parsed": parsed.where(parsed != ""),
        },
        index=text.index,
    )


def check_rows(
    batch: StandardBatch,
    *,
    period: Period,
    registry: Registry,
    questionnaire: Questionnaire,
    salt: str,
    fieldwork_grace_days: int,
    quality: QualityRules | None = None,
    loaded_at: datetime | None = None,
) -> CheckedRows:
    """Apply every row rule of the schema; no row is dropped, each ends in one of two frames.

    `loaded_at` is the load time submissions may not be later than (default: now; a naive time
    is taken as the city's local time, like `submitted_at`)."""
    std = batch.frame
    problems = Problems(std.index)
    check_field_count(problems, batch.fields, batch.header_fields)
    check_formulas(problems, batch.uncalculated)
    values = pd.DataFrame(
        {
            "key": check_respondent_key(problems, std["respondent_key"], questionnaire),
            "unit_code": check_unit(problems, std["unit"], registry, NO_UNIT),
            "submitted_at": check_submitted_at(problems, std["submitted_at"], period, fieldwork_grace_days),
            "duration_seconds": check_duration(problems, std["duration"]),
        }
    )
    check_not_future(problems, std["submitted_at"], values["submitted_at"], loaded_at)
    scores, answers = check_answers(problems, std, questionnaire)
    check_attributes(problems, std, questionnaire)
    warnings = (
        [] if quality is None else apply_quality_rules(problems, quality, values, scores, questionnaire)
    )
    flag_superseded(
        problems,
        {"key": on_distinct(values["key"], _upper), "unit": values["unit_code"]},
        std["source_row"],
        " of this batch (later submission)",
        at=values["submitted_at"],
    )
    ok, quarantined, counts = split(
        problems, std["source_row"], lambda index: batch.quarantine_raw(index, salt)
    )
    return CheckedRows(
        # Built over every row, then filtered: its columns are compact by then, std's are not.
        accepted=accepted_rows(std, values, scores, questionnaire, salt)[ok],
        quarantined=quarantined,
        reason_counts=counts,
        warnings=warnings,
        parsed=parsed_rows(std, values, answers, questionnaire),
    )


def check_not_future(
    problems: Problems, text: pd.Series, submitted: pd.Series, loaded_at: datetime | None
) -> None:
    """A submission later than the load time (plus `CLOCK_SKEW`) is `future_submitted_at`."""
    now = pd.Timestamp(loaded_at if loaded_at is not None else datetime.now(UTC))
    local_now = now.tz_convert(CITY_TIMEZONE).tz_localize(None) if now.tzinfo is not None else now
    latest = local_now + CLOCK_SKEW
    problems.add(
        "future_submitted_at",
        submitted.notna() & (submitted > latest),
        lambda rows: (
            "submitted_at="
            + quote(text[rows])
            + f" is later than the load time ({local_now:%Y-%m-%d %H:%M:%S} "
            f"{CITY_TIMEZONE}) plus {CLOCK_SKEW.days} day of clock skew"
        ),
    )


def check_respondent_key(problems: Problems, text: pd.Series, questionnaire: Questionnaire) -> pd.Series:
    """The key as written, stripped: it must be there, and be a valid credit code where the
    questionnaire says so."""
    key = on_distinct(text, _stripped)
    problems.add("missing_respondent_key", key == "", "respondent key is blank")
    if questionnaire.respondent.key.format == "uscc":
        problems.add(
            "bad_credit_code",
            (key != "") & ~on_distinct(key, valid_uscc),
            lambda rows: (
                f"{questionnaire.respondent.key.column}="
                + quote(key[rows])
                + " is not a valid 18-character credit code"
            ),
        )
    return key


def check_submitted_at(problems: Problems, text: pd.Series, period: Period, grace_days: int) -> pd.Series:
    """Submission times (local, NaT where unreadable), which must fall in the fieldwork window."""
    # A respondent's rows share one submission time: parsed once per distinct text.
    submitted = on_distinct(text, parse_submitted_at)
    problems.add(
        "bad_submitted_at",
        submitted.isna(),
        lambda rows: (
            "submitted_at=" + quote(text[rows]) + " is not a date-time (ISO 8601 or YYYY/M/D H:MM:SS)"
        ),
    )
    start, end = fieldwork_window(period, grace_days)
    outside = submitted.notna() & ((submitted < pd.Timestamp(start)) | (submitted >= pd.Timestamp(end)))
    problems.add(
        "outside_period",
        outside,
        lambda rows: (
            "submitted_at=" + quote(text[rows]) + f" is outside {period} "
            f"({period.start} to {(end - timedelta(days=1)).date()})"
        ),
    )
    return submitted


def check_duration(problems: Problems, text: pd.Series) -> pd.Series:
    duration = on_distinct(text, parse_duration)
    problems.add(
        "bad_duration",
        duration < 0,
        lambda rows: "duration=" + quote(text[rows]) + " is not a number of seconds",
    )
    return duration


def check_answers(
    problems: Problems, std: pd.DataFrame, questionnaire: Questionnaire
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scale points of every item (NaN where not answered), and each answer as the batch suite
    sees it (`read_answers`' `parsed`); an answer off the scale is a problem."""
    hint = number_form_hint(questionnaire.scale)
    scores, parsed = {}, {}
    for item in questionnaire.items():
        read = on_distinct(
            std[item.code], lambda text: read_answers(text, questionnaire).assign(quoted=quote(text))
        )
        scores[item.code], parsed[item.code] = read["score"], read["parsed"]
        # A number that is a point of the scale, written in a form the questionnaire does not
        # declare ("05", "5.0", "1e0"), is told why: it looks like an answer on the scale.
        problems.add("off_scale", read["off_scale"], partial(_off_scale_message, read, item.label, hint))
    return pd.DataFrame(scores, index=std.index), pd.DataFrame(parsed, index=std.index)


def number_form_hint(scale: Scale) -> str:
    """What to say of a scale point written as a number in a form the scale does not declare."""
    forms = {"integer": "plain digits (5)", "decimal_zero": "digits with a decimal point and zeros (5.0)"}
    accepted = " or ".join(forms[form] for form in dict.fromkeys(scale.number_forms))
    if not accepted:
        return " (the questionnaire accepts labels only, not numbers: scale.number_forms is empty)"
    return f" (the questionnaire accepts numbers only as {accepted} from 1 to {scale.points}: scale.number_forms)"


def check_attributes(problems: Problems, std: pd.DataFrame, questionnaire: Questionnaire) -> None:
    for attribute in questionnaire.respondent.attributes:
        if attribute.values is None:
            continue
        value = on_distinct(std[attribute.code], _stripped)
        problems.add(
            "attribute_not_allowed",
            (value != "") & ~value.isin(attribute.values),
            partial(_not_allowed_message, value, attribute),
        )


def _stripped(text: pd.Series) -> pd.Series:
    return text.astype("str").str.strip()


def _upper(text: pd.Series) -> pd.Series:
    return text.str.upper()


def _off_scale_message(read: pd.DataFrame, label: str, hint: str, rows: pd.Series) -> pd.Series:
    read = read[rows]
    return (
        f"{label}="
        + read["quoted"]
        + " is not an answer on the scale"
        + read["looks_on_scale"].map({True: hint, False: ""})
    )


def _not_allowed_message(value: pd.Series, attribute: Attribute, rows: pd.Series) -> pd.Series:
    return f"{attribute.column}=" + quote(value[rows]) + f" is not one of {'/'.join(attribute.values or [])}"


def accepted_rows(
    std: pd.DataFrame, values: pd.DataFrame, scores: pd.DataFrame, questionnaire: Questionnaire, salt: str
) -> pd.DataFrame:
    """Accepted rows as stored: the identity hashed, comments masked, answers as written
    (`answer__<item>`, categorical) and as scale points (`<item>`)."""
    attributes = [a.code for a in questionnaire.respondent.attributes]
    accepted = pd.DataFrame(
        {
            "source_row": std["source_row"].astype(int),
            "respondent_hash": hash_identities(values["key"], salt),
            **values[["unit_code", "submitted_at", "duration_seconds"]],
            **{
                code: on_distinct(std[code], lambda text: text.astype("str").str.strip())
                for code in attributes
            },
            "comment": on_distinct(std["comment"], mask_personal_numbers),
        }
    )
    codes = [item.code for item in questionnaire.items()]
    # As categoricals: a handful of distinct answers per item, so a byte per row, not a string.
    return accepted.join(std[codes].astype("category").add_prefix("answer__")).join(scores)


def parsed_rows(
    std: pd.DataFrame, values: pd.DataFrame, answers: pd.DataFrame, questionnaire: Questionnaire
) -> pd.DataFrame:
    """Every row parsed for the suite (missing where blank): key, unit_code, submitted_at,
    duration_seconds, the attributes, and each item's answer (`answers`, from `check_answers`):
    a number in a declared form on the scale as its plain point ("5.0" → "5" when
    `decimal_zero` is declared), any other text as written, so the suite sees an answer off the
    scale exactly when the row check does."""

    def blank_to_none(series: pd.Series) -> pd.Series:
        text = series.astype("str").str.strip()
        return text.where(text != "")

    return pd.DataFrame(
        {
            "respondent_key": blank_to_none(values["key"]),
            **values[["unit_code", "submitted_at", "duration_seconds"]],
            **{a.code: on_distinct(std[a.code], blank_to_none) for a in questionnaire.respondent.attributes},
            **answers,
        }
    )


def apply_quality_rules(
    problems: Problems,
    rules: QualityRules,
    values: pd.DataFrame,
    scores: pd.DataFrame,
    questionnaire: Questionnaire,
) -> list[dict]:
    """Survey-quality rules of the validation file: each either quarantines rows or warns."""
    key = on_distinct(values["key"], _upper)
    findings = [
        speeders(values["duration_seconds"], key, rules.speeder),
        implausible_durations(values["duration_seconds"], rules.implausible_duration),
        too_many_units(values["unit_code"], key, rules.too_many_units),
        straight_lining(scores, rules.straight_lining),
    ]
    warnings: list[dict] = []
    for finding in filter(None, findings):
        count = int(finding.rows.fillna(False).sum())
        if count and finding.action == "quarantine":
            problems.add(finding.rule, finding.rows, finding.details)
        elif count:
            warnings.append({"rule": finding.rule, "count": count, "message": finding.summary})
    return warnings + top_box_batch(scores, questionnaire.scale.points, rules.top_box_batch)


class Finding(NamedTuple):
    """Rows a quality rule finds, what to say of each row, and of the batch."""

    rule: str
    action: str
    rows: pd.Series
    details: Message
    summary: str


def speeders(duration: pd.Series, key: pd.Series, rule: Speeder) -> Finding | None:
    """Rows completed in under a share of the batch's median time per respondent (None when
    the batch has no usable median)."""
    median = duration.where(duration >= 0).groupby(key).first().median()
    if not (pd.notna(median) and median > 0):
        return None
    limit = rule.share_of_median * median
    fast = (duration >= 0) & (duration < limit)
    return Finding(
        "speeder",
        rule.action,
        fast,
        lambda rows: (
            "completed in "
            + duration[rows].map("{:.0f}".format)
            + f" s, under {limit:.0f} s ({rule.share_of_median:.0%} of the batch median {median:.0f} s)"
        ),
        f"{int(fast.sum())} row(s) completed in under {limit:.0f} s",
    )


def implausible_durations(duration: pd.Series, rule: ImplausibleDuration) -> Finding:
    """Rows whose completion time is longer than any real answering session (`max_seconds`):
    the number is wrong (milliseconds for seconds, a clock error, a damaged cell), so neither it
    nor the answers timed by it are taken at face value."""
    long = duration > rule.max_seconds
    limit = f"{rule.max_seconds:.0f} s{_span(rule.max_seconds)}"
    return Finding(
        "implausible_duration",
        rule.action,
        long,
        lambda rows: (
            "duration="
            + duration[rows].map("{:.0f}".format)
            + f" s is longer than the plausible maximum of {limit}: check the unit (seconds) and the "
            "survey tool's clock"
        ),
        f"{int(long.sum())} row(s) with a completion time above {limit}",
    )


def _span(seconds: float) -> str:
    """' (7 days)', ' (2 hours)': a limit in seconds as people think of it, when it is whole."""
    for name, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds / size
            return f" ({count:g} {name if count != 1 else name[:-1]})"
    return ""


def too_many_units(unit: pd.Series, key: pd.Series, rule: TooManyUnits) -> Finding:
    """Rows of respondents rating more units in the batch than is plausible."""
    units_per_respondent = unit.groupby(key).transform("nunique")
    many = units_per_respondent > rule.max_units
    return Finding(
        "too_many_units",
        rule.action,
        many,
        lambda rows: (
            "the respondent rated "
            + units_per_respondent[rows].astype("str")
            + f" units in this batch (more than {rule.max_units} is implausible)"
        ),
        f"{int(many.sum())} row(s) from respondents rating more than {rule.max_units} units",
    )


def straight_lining(scores: pd.DataFrame, rule: StraightLining) -> Finding:
    """Rows giving the same answer to every one of at least `min_items` answered items."""
    answered = scores.notna().sum(axis=1)
    flat = (answered >= rule.min_items) & (scores.min(axis=1) == scores.max(axis=1))
    return Finding(
        "straight_lining",
        rule.action,
        flat,
        lambda rows: "the same answer to all " + answered[rows].astype("str") + " answered items",
        f"{int(flat.sum())} row(s) give the same answer to every one of at least {rule.min_items} items",
    )


def top_box_batch(scores: pd.DataFrame, top_point: int, rule: TopBoxBatch) -> list[dict]:
    """A warning when too large a share of the batch's answers are the top answer."""
    top = int((scores == float(top_point)).sum().sum())
    total = int(scores.notna().sum().sum())
    if not total or top / total < rule.max_top_box_share:
        return []
    message = (
        f"{top / total:.1%} of the batch's answers are the top answer "
        f"(warning at {rule.max_top_box_share:.0%}): check how the survey was run"
    )
    return [{"rule": "top_box_batch", "count": top, "message": message}]
