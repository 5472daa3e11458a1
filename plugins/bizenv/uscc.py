"""The 18-character unified social credit code (统一社会信用代码, GB 32100-2015) check character."""

from __future__ import annotations

import numpy as np
import pandas as pd

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
_INDEX = np.full(128, -1, dtype=np.int64)
for _i, _c in enumerate(ALPHABET):
    _INDEX[ord(_c)] = _i


def check_character(body: str) -> str:
    """The 18th character for a 17-character body."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def valid_uscc(codes: pd.Series) -> pd.Series:
    """True where the code has 18 characters of the code alphabet and a correct check character."""
    upper = codes.astype("str").str.strip().str.upper()
    result = pd.Series(False, index=codes.index)
    shaped = upper.str.fullmatch(f"[{ALPHABET}]{{18}}")
    if not shaped.any():
        return result
    chars = np.frombuffer("".join(upper[shaped]).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
    values = _INDEX[chars]
    expected = (31 - (values[:, :17] @ WEIGHTS) % 31) % 31
    result[shaped] = values[:, 17] == expected
    return result
