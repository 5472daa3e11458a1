"""Golden outputs: the demo data set (two half-years, raked, with metrics) loaded and evaluated,
every derived table of both periods frozen: numbers agree to 12 significant digits (a change in
summation order may move the 16th, nothing a reader could see), text exactly.

Refactoring must not move a published number. `build` produces the tables; `freeze` writes them
to `tests/golden/*.csv`; `tests/integration/test_golden.py` compares a fresh build with them. A
deliberate change of method regenerates them (`python -m tests.golden`) and says why in its
commit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import select

HERE = Path(__file__).resolve().parent
PERIODS = ["2025H2", "2026H1"]
# Each frozen table with the columns that identify a row (its sort order).
TABLES = {
    "rankings": ["period", "unit_code"],
    "unit_scores": ["period", "unit_code", "dimension"],
    "flags": ["period", "unit_code", "flag"],
    "composite_shares": ["period", "group_code", "level"],
    "indicator_scores": ["period", "unit_code", "indicator"],
    "reliability": ["period", "scope"],
}
# Run-specific columns, not results.
VOLATILE = {"policy_version"}


def build(workdir: Path, url: str) -> dict[str, pd.DataFrame]:
    """Load and evaluate the demo data set (600 enterprises, seed 3) into `url`; return the tables."""
    from bizenv.cli import main
    from bizenv.warehouse import tables as t
    from bizenv.warehouse.engine import make_engine

    data = workdir / "data"
    assert main(["demo-data", "--out", str(data), "--respondents", "600", "--seed", "3"]) == 0
    assert main(["init-db", "--db", url]) == 0
    for period in PERIODS:
        for kind in ("survey", "metrics"):
            path = data / f"{kind}_{period}.csv"
            assert main([f"load-{kind}", str(path), "--period", period, "--db", url]) == 0
    for period in PERIODS:
        margins = data / f"margins_{period}.csv"
        assert main(["evaluate", "--period", period, "--margins", str(margins), "--db", url]) == 0
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            frames = {
                name: pd.read_sql(select(getattr(t, name)), conn).sort_values(keys, ignore_index=True)
                for name, keys in TABLES.items()
            }
    finally:
        engine.dispose()
    return {
        name: frame.drop(columns=[c for c in frame.columns if c in VOLATILE])
        for name, frame in frames.items()
    }


def path_of(name: str) -> Path:
    return HERE / f"{name}.csv"


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(path_of(name), keep_default_na=True)


def freeze(frames: dict[str, pd.DataFrame]) -> None:
    for name, frame in frames.items():
        frame.to_csv(path_of(name), index=False, float_format="%.17g")
