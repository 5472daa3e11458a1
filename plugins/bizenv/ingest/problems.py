"""Row problems collected as masks per reason, then folded into one reasons/details pair per row."""

from __future__ import annotations

import numpy as np
import pandas as pd


class Problems:
    """Collects (reason, message) per row; a reason found in several columns of a row is one
    reason with one message per column."""

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self.found: dict[str, pd.Series] = {}

    def add(self, reason: str, mask: pd.Series, message: pd.Series | str) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        # Messages are built for the rows that have the problem only: usually a few of many.
        text = message[mask] if isinstance(message, pd.Series) else pd.Series(message, index=mask.index[mask])
        new = pd.Series(None, index=self.index, dtype=object)
        new[mask] = (reason + ": " + text.astype("str")).astype(object)
        if reason in self.found:
            old = self.found[reason]
            both = old.notna() & new.notna()
            merged = old.where(old.notna(), new)
            merged[both] = old[both] + " | " + new[both]
            new = merged
        self.found[reason] = new

    def any_mask(self) -> pd.Series:
        mask = pd.Series(False, index=self.index)
        for messages in self.found.values():
            mask |= messages.notna()
        return mask

    def fold(self) -> tuple[pd.Series, pd.Series, dict[str, int]]:
        """`reasons` (kinds joined by ';'), `details` (messages joined by ' | ') and rows per kind."""
        reasons = pd.Series("", index=self.index, dtype="str")
        details = pd.Series("", index=self.index, dtype="str")
        counts: dict[str, int] = {}
        for reason, messages in self.found.items():
            hit = messages.notna()
            counts[reason] = int(hit.sum())
            reasons[hit] = reasons[hit] + np.where(reasons[hit] == "", "", ";") + reason
            details[hit] = details[hit] + np.where(details[hit] == "", "", " | ") + messages[hit]
        return reasons, details, counts


def quote(values: pd.Series) -> pd.Series:
    return "'" + values.astype("str") + "'"
