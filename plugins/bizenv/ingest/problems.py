"""Row problems collected as masks per reason, then folded into one reasons/details pair per row."""

from __future__ import annotations

import numpy as np
import pandas as pd


class Problems:
    """Collects (reason, message) per row as boolean masks, then folds them per row."""

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self.found: list[tuple[str, pd.Series]] = []

    def add(self, reason: str, mask: pd.Series, message: pd.Series | str) -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            text = message if isinstance(message, pd.Series) else pd.Series(message, index=self.index)
            self.found.append(
                (reason, pd.Series(np.where(mask, reason + ": " + text, None), index=self.index))
            )

    def any_mask(self) -> pd.Series:
        mask = pd.Series(False, index=self.index)
        for _, messages in self.found:
            mask |= messages.notna()
        return mask

    def fold(self) -> tuple[pd.Series, pd.Series, dict[str, int]]:
        reasons = pd.Series("", index=self.index, dtype="str")
        details = pd.Series("", index=self.index, dtype="str")
        counts: dict[str, int] = {}
        for reason, messages in self.found:
            hit = messages.notna()
            counts[reason] = counts.get(reason, 0) + int(hit.sum())
            sep = np.where(reasons[hit] == "", "", ";")
            reasons[hit] = reasons[hit] + sep + reason
            details[hit] = details[hit] + np.where(details[hit] == "", "", " | ") + messages[hit]
        return reasons, details, counts


def quote(values: pd.Series) -> pd.Series:
    return "'" + values.astype("str") + "'"
