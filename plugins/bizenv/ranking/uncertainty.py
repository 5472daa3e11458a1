"""Rank uncertainty from every source, by Monte Carlo (OECD/JRC Handbook on Constructing
Composite Indicators, 2008, chapter 7: uncertainty and sensitivity analysis).

A published rank is one draw from many defensible choices. Each simulation draw, independently:
- draws each satisfaction index from its sampling distribution, N(index, SE²);
- draws the satisfaction weight uniformly within the policy's range (indicators get the rest);
- resamples each unit's indicators with replacement (bootstrap over its indicator set) and takes
  their weighted mean of frontier scores;
- picks a normalisation method from the policy's list;
and ranks the group's units on the resulting composite, ties broken at random (so units that
cannot be told apart share the tie's range of ranks rather than all getting the best).

Per unit: the median rank, the central `level` interval of its ranks, and the probabilities of
falling in the bottom N and the top N of the group.

Each (group, level) draws from its own random stream, seeded by the policy seed and the group's
name (SHA-256), so adding, removing or reordering other groups changes nothing in this one, and
the same inputs give the same figures to the last digit.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from bizenv.ranking.composite import combine, normalise
from bizenv.schemas.models import Policy

OUTPUT_COLUMNS = ["rank_median", "rank_ci_low", "rank_ci_high", "p_bottom_n", "p_top_n"]


def group_stream(seed: int, *key: object) -> np.random.Generator:
    """A generator that depends on the seed and the group's key only."""
    digest = hashlib.sha256("\x1f".join(map(str, key)).encode()).digest()
    return np.random.default_rng(np.random.SeedSequence([seed, int.from_bytes(digest[:8], "little")]))


def _indicator_draws(
    units: list[str], indicators: pd.DataFrame, draws: int, rng: np.random.Generator, bootstrap: bool
) -> np.ndarray:
    """draws × units matrix of indicator scores; NaN for units without scored indicators."""
    out = np.full((draws, len(units)), np.nan)
    by_unit = dict(tuple(indicators.groupby("unit_code", sort=False))) if not indicators.empty else {}
    for j, unit in enumerate(units):
        rows = by_unit.get(unit)
        if rows is None:
            continue
        score = rows["frontier_score"].to_numpy(dtype=float)
        weight = rows["indicator_weight"].to_numpy(dtype=float)
        keep = ~np.isnan(score)
        score, weight = score[keep], weight[keep]
        if len(score) == 0:
            continue
        if not bootstrap or len(score) == 1:
            out[:, j] = np.average(score, weights=weight)
            continue
        pick = rng.integers(0, len(score), size=(draws, len(score)))
        out[:, j] = (score[pick] * weight[pick]).sum(axis=1) / weight[pick].sum(axis=1)
    return out


def _ranks(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ranks along the last axis, 1 = highest, ties broken uniformly at random."""
    order = np.lexsort((rng.random(values.shape), -values), axis=-1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, values.shape[-1] + 1), axis=-1)
    return ranks


def simulate_group(
    group: pd.DataFrame, indicators: pd.DataFrame, policy: Policy, rng: np.random.Generator
) -> pd.DataFrame:
    """`OUTPUT_COLUMNS` for one group's ranked units.

    `group`: `unit_code`, `satisfaction_index`, `satisfaction_se` (NaN where a unit is ranked
    without its satisfaction part), `indicator_score` (NaN where it has none); `indicators`: the
    period's `unit_code`, `frontier_score`, `indicator_weight` rows."""
    settings, n_bottom, n_top = policy.rank_intervals, policy.flags.bottom_n, policy.flags.top_n
    draws, units = settings.draws, group["unit_code"].tolist()
    mean = group["satisfaction_index"].to_numpy(dtype=float)
    se = np.nan_to_num(group["satisfaction_se"].to_numpy(dtype=float), nan=0.0)
    satisfaction = mean + rng.standard_normal((draws, len(units))) * se
    has_indicators = group["indicator_score"].notna().to_numpy()
    indicator = _indicator_draws(units, indicators, draws, rng, settings.bootstrap_indicators)
    indicator[:, ~has_indicators] = np.nan
    low, high = settings.satisfaction_weight_range
    weight = rng.uniform(low, high, size=(draws, 1))
    method = rng.integers(0, len(settings.normalisations), size=draws)
    composite = np.empty((draws, len(units)))
    for m, name in enumerate(settings.normalisations):
        rows = method == m
        composite[rows] = combine(
            normalise(satisfaction[rows], name), normalise(indicator[rows], name), weight[rows]
        )
    ranks = _ranks(composite, rng)
    tail = (1 - settings.level) / 2
    size = len(units)

    def quantile(q: float) -> np.ndarray:
        return np.quantile(ranks, q, axis=0, method="inverted_cdf").astype(int)

    return pd.DataFrame(
        {
            "rank_median": quantile(0.5),
            "rank_ci_low": quantile(tail),
            "rank_ci_high": quantile(1 - tail),
            "p_bottom_n": (ranks > size - n_bottom).mean(axis=0) if size > n_bottom else np.nan,
            "p_top_n": (ranks <= n_top).mean(axis=0) if size > n_top else np.nan,
        },
        index=group.index,
    )


def rank_uncertainty(
    frame: pd.DataFrame, indicators: pd.DataFrame, policy: Policy, by: list[str]
) -> pd.DataFrame:
    """`OUTPUT_COLUMNS` for every row of `frame` (NA where not `ranked`)."""
    out = pd.DataFrame(index=frame.index, columns=OUTPUT_COLUMNS, dtype=float)
    for key, group in frame[frame["ranked"]].groupby(by, sort=False):
        rng = group_stream(policy.rank_intervals.seed, *key)
        # Unit order inside the group must not depend on the frame's order either.
        group = group.sort_values("unit_code")
        out.loc[group.index] = simulate_group(group, indicators, policy, rng)
    for column in ["rank_median", "rank_ci_low", "rank_ci_high"]:
        out[column] = out[column].astype("Int64")
    return out
