"""Computing over a column's distinct values only, then spreading the result back to its rows.

Answers, units, attributes and (mostly blank) comments take a handful of distinct values over
a million rows: stripping, parsing and pattern-matching them once each instead of once per row
turns per-cell string work into one integer `take`."""

from __future__ import annotations

from collections.abc import Callable
from typing import overload

import numpy as np
import pandas as pd


@overload
def on_distinct(column: pd.Series, compute: Callable[[pd.Series], pd.Series]) -> pd.Series: ...
@overload
def on_distinct(column: pd.Series, compute: Callable[[pd.Series], pd.DataFrame]) -> pd.DataFrame: ...
def on_distinct(
    column: pd.Series, compute: Callable[[pd.Series], pd.Series | pd.DataFrame]
) -> pd.Series | pd.DataFrame:
    """`compute(distinct values)` (a Series or DataFrame aligned with them), row for row of
    `column`. `compute` must treat each value on its own, as any vectorised element-wise
    function does."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    if isinstance(column.dtype, pd.CategoricalDtype):
        # `compute` sees the values themselves, not a categorical of them.
        distinct = pd.Series(np.asarray(uniques), dtype=column.dtype.categories.dtype, name=column.name)
    else:
        distinct = pd.Series(uniques, dtype=column.dtype, name=column.name)
    result = compute(distinct)
    spread = result.iloc[codes]
    return spread.set_axis(column.index)
