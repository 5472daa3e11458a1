"""The figures of docs/method.md §5: how much of the composite satisfaction carries, and how often
the lowest-rated department escapes the bottom five, under each normalisation.

500 groups of 21 departments: satisfaction indices N(70, 5²) — a few points apart, as real ones
are — and indicator scores U(0, 100), drawn independently. Run: .venv/bin/python
scripts/method/composite_simulation.py
"""

import numpy as np
import pandas as pd

from bizenv.ranking.composite import composite, effective_shares
from bizenv.schemas import load_policy

BY = ["group_code", "level"]
GROUPS, UNITS, BOTTOM = 500, 21, 5


def main() -> None:
    policy = load_policy()
    for method in ["none", "zscore", "minmax"]:
        chosen = policy.model_copy(
            update={"composite": policy.composite.model_copy(update={"normalisation": method})}
        )
        shares, best_rank, escapes = [], [], 0
        for seed in range(GROUPS):
            rng = np.random.default_rng(seed)
            frame = pd.DataFrame(
                {
                    "unit_code": [f"u{i:02d}" for i in range(UNITS)],
                    "group_code": "g",
                    "level": "department",
                    "satisfaction_index": rng.normal(70, 5, UNITS),
                    "indicator_score": rng.uniform(0, 100, UNITS),
                }
            )
            out = composite(frame, chosen, BY)
            shares.append(effective_shares(out, chosen, BY).iloc[0]["share_satisfaction"])
            rank = out["composite_score"].rank(ascending=False)
            best_rank.append(rank[frame["satisfaction_index"].idxmax()])
            escapes += rank[frame["satisfaction_index"].idxmin()] <= UNITS - BOTTOM
        low, high = np.quantile(shares, [0.05, 0.95])
        print(
            f"{method:7s} satisfaction's share {np.mean(shares):.2f} (90% of groups {low:.2f}–{high:.2f}); "
            f"median rank of the best-rated unit {np.median(best_rank):.0f}; "
            f"the worst-rated unit escapes the bottom {BOTTOM} in {escapes / GROUPS:.1%} of groups"
        )


if __name__ == "__main__":
    main()
