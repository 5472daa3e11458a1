"""The batch gate shared by survey and metrics batches."""

from __future__ import annotations

import pandas as pd

from bizenv.schemas.models import Policy
from bizenv.validate.gx_runner import Outcome
from bizenv.validate.results import critical_failures


def refusals(quarantined: pd.DataFrame, rows_in: int, outcomes: list[Outcome], policy: Policy) -> list[str]:
    """Why the batch is refused (empty: accepted). The row gate weighs faulty rows only: repeated
    submissions are not faults, so a cumulative re-export is not refused for what it repeats."""
    reasons = []
    share = int((quarantined["reasons"] != "duplicate").sum()) / rows_in
    if share > policy.gates.max_quarantined_share:
        reasons.append(
            f"{share:.1%} of rows have faults, over the gate of {policy.gates.max_quarantined_share:.0%}"
        )
    return reasons + [f"critical expectation failed: {line}" for line in critical_failures(outcomes)]


def refused_rows(accepted: pd.DataFrame, raw: pd.Series, why: list[str]) -> pd.DataFrame:
    """The rows of a refused batch that passed their own checks, quarantined with the batch's reasons."""
    return pd.DataFrame(
        {
            "source_row": accepted["source_row"],
            "reasons": "batch_refused",
            "details": f"batch_refused: {'; '.join(why)}; this row itself passed the checks",
            "raw": raw,
        }
    )


def refusal_message(why: list[str]) -> str:
    return f"batch refused: {'; '.join(why)}; fix the quarantined rows and load the corrected file"
