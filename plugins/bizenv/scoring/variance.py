"""Linearization (Taylor) variance of domain means, as R's survey package computes it.

Why this and not an SE from Kish's effective sample size: a unit's respondents are a domain of
the period's sample (not a sample of their own), their weights are estimated by raking on the
whole sample, and raking removes the part of the variance that the raked attributes explain.
A formula on the unit's respondents alone with fixed weights ignores all three. The reference is
`svymean(~y, subset(design, in_unit))` with `design` = `svydesign(ids = ~1, weights = ~w)`
(one row per respondent, single stage, with replacement), raked or not with
`rake(design, list(~a1, ~a2, ...), population.margins)`; scripts/r/survey_se_fixture.R records
R's numbers and tests/unit/scoring/test_variance.py checks that these agree.

The estimator (Lumley, Complex Surveys, 2010, ch. 2 for domains and ch. 7 for raking;
Deville & Särndal 1992 for calibration residuals):

- Domain d, weights wᵢ, Iᵢ = 1 for respondents in d. Mean ȳ = ΣIwy / ΣIw = ΣIwy / W.
- Influence of respondent i (summed over their rows in d): xᵢ = wᵢ zᵢ with zᵢ = Iᵢ(yᵢ − ȳ) / W.
  Respondents outside d keep zᵢ = 0 but stay in the design: in n below and, when raked, in the
  calibration residuals (R's `subset` of a design sets their weight to zero, it does not drop them).
- Raked: x is replaced by the residual of zᵢ on the raked attributes' category dummies, times wᵢ.
  R (`survey:::svyrecvar`, class "raking") does not take the full projection: it runs 10 sweeps
  of backfitting, each margin in turn, xᵢ ← xᵢ − wᵢ · mean over i's category (unweighted) of x/w.
  Ten sweeps approximate the projection of Deville & Särndal's asymptotic variance; we run the
  same ten so that the numbers agree with R's, not only converge to the same limit. The weights
  R divides by are those after each margin's step of the last raking pass; at convergence they
  are the final weights, which is what we use.
  Weights trimmed to bounds (raking.rake(bounds=)) get the same residualisation; R's rake has
  no bounds, so there it is an approximation (R's calibrate(bounds=) projects fully instead).
- V = n / (n − 1) · Σᵢ (xᵢ − x̄)², n = respondents in the whole design (not the domain).

R does this per domain over all n respondents; for every unit and dimension that would cost
respondents × domains. Everything is linear in z, so the backfitting effects can be solved per domain from category
aggregates: with Aᵢ = Σₘ aₘ[cₘ(i)] the accumulated effects, the category sums of z − A need only
Σz per category (domain rows only) and the category cross-counts (once per design); Σx² and Σx
expand the same way with Σw²z per category, the w²-weighted cross tables and Σw per category.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bizenv.errors import BizenvError

# survey:::svyrecvar runs this many backfitting sweeps over the raking margins.
RAKING_SWEEPS = 10


@dataclass(frozen=True)
class Design:
    """Every respondent of the period: one weight each and, when raked, their category codes.

    `respondents` gives the order (position = respondent number); `margins` holds, per raked
    attribute, a 0-based category code per respondent (every code used at least once)."""

    respondents: pd.Index
    weights: np.ndarray
    margins: tuple[np.ndarray, ...] = ()

    @property
    def n(self) -> int:
        return len(self.respondents)

    @classmethod
    def build(cls, weights: pd.Series, calibration: pd.DataFrame | None = None) -> Design:
        """`weights` indexed by respondent; `calibration` indexed by respondent with one column
        per raked attribute (None: not raked). Both must name the same respondents."""
        weights = weights.astype(float)
        if calibration is None:
            return cls(weights.index, np.nan_to_num(weights.to_numpy(), nan=0.0))
        if calibration.index.has_duplicates:
            raise BizenvError("the calibration frame lists a respondent twice; it needs one row each")
        missing = weights.index.difference(calibration.index)
        if len(missing):
            raise BizenvError(
                f"{len(missing)} respondent(s) with answers are not in the calibration frame "
                f"(e.g. {missing[0]!r}); it must hold every respondent that was raked"
            )
        unrated = calibration.index.difference(weights.index)
        if len(unrated):
            raise BizenvError(
                f"{len(unrated)} respondent(s) of the calibration frame have no answers and so no weight "
                f"(e.g. {unrated[0]!r}); rake the respondents whose answers are scored"
            )
        margins = []
        for attribute in calibration.columns:
            values = calibration[attribute]
            if values.isna().any():
                raise BizenvError(
                    f"{int(values.isna().sum())} respondent(s) have no {attribute} to calibrate on"
                )
            codes, _ = pd.factorize(values.astype(str), sort=True)
            margins.append(codes.astype(np.int64))
        ordered = weights.reindex(calibration.index).to_numpy()
        return cls(calibration.index, np.nan_to_num(ordered, nan=0.0), tuple(margins))


def domain_means(
    design: Design,
    respondent: np.ndarray,
    domain: np.ndarray,
    values: np.ndarray,
    n_domains: int,
) -> pd.DataFrame:
    """Weighted mean and linearization SE of `values` in each domain 0 … n_domains − 1.

    Rows (any number per respondent) give `respondent` (position in the design), `domain`
    (negative: in none) and the value; rows with a missing value or a non-positive weight are in
    no domain. Out, indexed by domain: `n` (respondents), `weight_sum`, `mean`, `se`,
    `n_effective` (Kish's (Σw)²/Σw² over the domain's respondents, for information).
    """
    respondent = np.asarray(respondent, dtype=np.int64)
    domain = np.asarray(domain, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    w_all = design.weights
    keep = (domain >= 0) & np.isfinite(values) & (w_all[respondent] > 0)
    d, r, y = domain[keep], respondent[keep], values[keep]
    w = w_all[r]

    weight_sum = np.bincount(d, weights=w, minlength=n_domains)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(d, weights=w * y, minlength=n_domains) / weight_sum
    mean[weight_sum <= 0] = np.nan
    # A weighted mean lies between the smallest and largest value; clip away float noise there.
    if len(y):
        span = pd.DataFrame({"d": d, "y": y}).groupby("d")["y"].agg(["min", "max"])
        low = np.full(n_domains, -np.inf)
        high = np.full(n_domains, np.inf)
        low[span.index] = span["min"].to_numpy()
        high[span.index] = span["max"].to_numpy()
        mean = np.clip(mean, low, high)

    # One cluster per (domain, respondent): a respondent's rows in a domain add up.
    stride = max(design.n, 1)
    key, inverse = np.unique(d * stride + r, return_inverse=True)
    z = np.bincount(inverse, weights=(y - mean[d]) / weight_sum[d], minlength=len(key))
    kd, kr = key // stride, key % stride
    wk = w_all[kr]
    count = np.bincount(kd, minlength=n_domains)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_effective = np.bincount(kd, weights=wk, minlength=n_domains) ** 2 / np.bincount(
            kd, weights=wk**2, minlength=n_domains
        )
    n_effective[count == 0] = 0.0

    sum_x2 = np.bincount(kd, weights=(wk * z) ** 2, minlength=n_domains)
    sum_x = np.bincount(kd, weights=wk * z, minlength=n_domains)
    if design.margins:
        less_x2, less_x = _calibration_terms(design, kd, kr, z, wk, n_domains)
        sum_x2 = sum_x2 + less_x2
        sum_x = sum_x + less_x
    n = float(design.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = n / (n - 1) * (sum_x2 - sum_x**2 / n) if n > 1 else np.full(n_domains, np.nan)
    se = np.sqrt(np.clip(variance, 0.0, None))
    se[count < 2] = np.nan
    return pd.DataFrame(
        {"n": count, "weight_sum": weight_sum, "mean": mean, "se": se, "n_effective": n_effective},
        index=pd.RangeIndex(n_domains, name="domain"),
    )


def _calibration_terms(
    design: Design, kd: np.ndarray, kr: np.ndarray, z: np.ndarray, wk: np.ndarray, n_domains: int
) -> tuple[np.ndarray, np.ndarray]:
    """What raking's residualisation adds to Σx² and Σx per domain (see the module docstring).

    After the sweeps xᵢ = wᵢ(zᵢ − Aᵢ), Aᵢ = Σₘ aₘ[cₘ(i)], so
    Σx² = Σw²z² − 2 Σₘ aₘ·(Σw²z by category of m) + Σₘₘ' aₘᵀ Qₘₘ' aₘ' and
    Σx = Σwz − Σₘ aₘ·(Σw by category of m), Qₘₘ' the w²-weighted cross table of m and m'.
    """
    w = design.weights
    codes = design.margins
    sizes = [int(c.max()) + 1 for c in codes]
    z_sums, w2z_sums = [], []
    for code, k in zip(codes, sizes, strict=True):
        cell = kd * k + code[kr]
        z_sums.append(np.bincount(cell, weights=z, minlength=n_domains * k).reshape(n_domains, k))
        w2z_sums.append(np.bincount(cell, weights=wk**2 * z, minlength=n_domains * k).reshape(n_domains, k))
    counts = [np.bincount(code, minlength=k).astype(float) for code, k in zip(codes, sizes, strict=True)]

    def cross(i: int, j: int, weights: np.ndarray | None) -> np.ndarray:
        cell = codes[i] * sizes[j] + codes[j]
        return np.bincount(cell, weights=weights, minlength=sizes[i] * sizes[j]).reshape(sizes[i], sizes[j])

    m = len(codes)
    cross_count = [[cross(i, j, None).astype(float) for j in range(m)] for i in range(m)]
    cross_w2 = [[cross(i, j, w**2) for j in range(m)] for i in range(m)]
    weight_sums = [np.bincount(code, weights=w, minlength=k) for code, k in zip(codes, sizes, strict=True)]

    # Backfitting, margin after margin as R does: each step subtracts the category means of z − A.
    effects = [np.zeros((n_domains, k)) for k in sizes]
    for _ in range(RAKING_SWEEPS):
        for i in range(m):
            category_sums = z_sums[i] - sum(effects[j] @ cross_count[j][i] for j in range(m))
            effects[i] += category_sums / counts[i]

    less_x2 = -2 * sum((effects[i] * w2z_sums[i]).sum(axis=1) for i in range(m))
    less_x2 = less_x2 + sum(
        np.einsum("dk,kl,dl->d", effects[i], cross_w2[i][j], effects[j]) for i in range(m) for j in range(m)
    )
    less_x = -sum((effects[i] @ weight_sums[i] for i in range(m)), start=np.zeros(n_domains))
    return less_x2, less_x
