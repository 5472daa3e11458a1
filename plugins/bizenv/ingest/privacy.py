"""Respondent identities as salted hashes; personal numbers masked in free text."""

from __future__ import annotations

import hashlib

import pandas as pd

# Mainland mobile numbers, landlines with area code, and 18-digit resident ID numbers.
_ID_NUMBER = r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"
_MOBILE = r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)"
_LANDLINE = r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)"


def hash_identities(keys: pd.Series, salt: str) -> pd.Series:
    """SHA-256 of salt + normalised key, computed once per distinct key."""
    normalised = keys.astype("str").str.strip().str.upper()
    distinct = normalised.unique()
    digests = {k: hashlib.sha256(f"{salt}\x1f{k}".encode()).hexdigest() for k in distinct}
    return normalised.map(digests)


def mask_personal_numbers(text: pd.Series) -> pd.Series:
    text = text.astype("str")
    text = text.str.replace(_ID_NUMBER, "[身份证号]", regex=True)
    text = text.str.replace(_MOBILE, "[电话]", regex=True)
    return text.str.replace(_LANDLINE, "[电话]", regex=True)
