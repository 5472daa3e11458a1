"""Respondent identities as salted hashes; identities masked wherever free text is kept.

The one rule: nothing derived from an identity leaves the ingest step except its salted hash.
Respondent keys are stored as `sha256:<hash>` (or the bare hash in `respondent_hash`); free
text (comments, quarantine details and original values, validation samples) goes through the
patterns of `survey_schemas/privacy.yaml` (ID, credit code, phone numbers, e-mail addresses,
IP addresses, names after 联系人/姓名).
"""

from __future__ import annotations

import hashlib
import json
import re

import pandas as pd

from bizenv.ingest.distinct import on_distinct
from bizenv.schemas.loader import load_privacy
from bizenv.schemas.models import PrivacyPatterns

HASH_PREFIX = "sha256:"
# Columns of a parsed batch (the suites' frames) that hold the respondent key as written.
IDENTITY_COLUMNS = frozenset({"respondent_key"})
# The 问卷星 meta column with the respondent's IP address.
IP_COLUMN = "来自IP"

_IPV4 = re.compile(r"\s*(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}(?!\d)(.*)", re.S)
# The quoted key of a `bad_credit_code` message (`<column>='<key>' is not a valid ...`).
_BAD_KEY = re.compile(r"(bad_credit_code: [^|]*?=)'(.*?)'(?= is not a valid)", re.S)


def hash_identities(keys: pd.Series, salt: str) -> pd.Series:
    """SHA-256 of salt + normalised key, computed once per distinct key."""

    def digests(distinct: pd.Series) -> pd.Series:
        normalised = distinct.astype("str").str.strip().str.upper()
        return normalised.map(lambda k: hashlib.sha256(f"{salt}\x1f{k}".encode()).hexdigest()).astype("str")

    return on_distinct(keys, digests)


def hashed_key(key: str, salt: str) -> str:
    """One key as quarantine and validation samples show it: `sha256:<hash>` ('' when blank)."""
    if not str(key).strip():
        return ""
    return HASH_PREFIX + hash_identities(pd.Series([str(key)]), salt).iloc[0]


def mask_text(text: pd.Series, patterns: PrivacyPatterns | None = None) -> pd.Series:
    """Every privacy pattern applied, in the file's order."""
    text = text.astype("str")
    for pattern in (patterns or load_privacy()).patterns:
        text = text.str.replace(pattern.compiled(), pattern.replacement, regex=True)
    return text


def mask_personal_numbers(text: pd.Series) -> pd.Series:
    """Comments as stored (the name kept for the row rules): every privacy pattern applied."""
    return mask_text(text)


def mask_string(value: str, patterns: PrivacyPatterns | None = None) -> str:
    for pattern in (patterns or load_privacy()).patterns:
        value = pattern.compiled().sub(pattern.replacement, value)
    return value


def mask_ip(value: str) -> str:
    """An IPv4 address keeps its first two octets (`203.0.*.*`, any text after it kept); anything
    else that is not blank is replaced whole."""
    value = str(value)
    match = _IPV4.match(value)
    if match:
        return f"{match[1]}.{match[2]}.*.*{mask_string(match[3])}"
    return "" if not value.strip() else "*"


def mask_details(details: pd.Series, salt: str) -> pd.Series:
    """Quarantine details: the key quoted by a `bad_credit_code` message becomes its salted hash,
    then every privacy pattern applies."""
    details = details.astype("str").str.replace(
        _BAD_KEY, lambda m: f"{m[1]}'{hashed_key(m[2], salt)}'", regex=True
    )
    return mask_text(details)


def mask_original_values(raw: pd.Series) -> pd.Series:
    """Original cells (one JSON object per row): every string value masked, hashes left alone.
    A row with nothing to mask keeps its JSON text as it was."""
    patterns = load_privacy()

    def one(text: object) -> object:
        if not isinstance(text, str) or not text:
            return text
        try:
            cells = json.loads(text)
        except ValueError:
            return mask_string(text, patterns)
        if not isinstance(cells, dict):
            return mask_string(text, patterns)
        masked = {
            column: mask_string(value, patterns)
            if isinstance(value, str) and not value.startswith(HASH_PREFIX)
            else value
            for column, value in cells.items()
        }
        if masked == cells:
            return text
        return json.dumps(masked, ensure_ascii=False, separators=(",", ":"))

    return raw.map(one)


def private_sample(sample: list, column: str | None, salt: str | None) -> list:
    """A validation sample with no identity in it: values of an identity column (or the identity
    fields of compound values) as salted hashes, other text masked."""
    patterns = load_privacy()
    columns = set((column or "").split(","))

    def value(v: object, identity: bool) -> object:
        if isinstance(v, dict):
            return {k: value(x, k in IDENTITY_COLUMNS) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [value(x, identity) for x in v]
        if not isinstance(v, str):
            return v
        if identity:
            return hashed_key(v, salt) if salt is not None else "[信用代码]"
        return mask_string(v, patterns)

    return [value(v, bool(columns & IDENTITY_COLUMNS)) for v in sample]
