"""Row problems collected as masks per reason, then folded into one reasons/details pair per row."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Message = pd.Series | str | Callable[[pd.Series], pd.Series]


class Problems:
    """Collects (reason, message) per row; a reason found in several columns of a row is one
    reason with one message per column."""

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self.found: dict[str, pd.Series] = {}

    def add(self, reason: str, mask: pd.Series, message: Message) -> None:
        """`message`: one text for every row, a text per row, or a function building the texts
        of the rows `mask` selects (given `mask`): those are usually a few of many, and building
        a text for every row of a large batch costs more than the check itself."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        if callable(message):
            text = message(mask)
        elif isinstance(message, pd.Series):
            text = message[mask]
        else:
            text = pd.Series(message, index=mask.index[mask])
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
