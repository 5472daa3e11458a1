"""Respondent weights by raking (iterative proportional fitting) to population margins.

Each respondent gets one weight, used for every unit they rated. Raking adjusts the weights,
one attribute at a time, until every category's weighted count equals its population count
within the tolerance (relative); it fails with a message naming the margin that cannot be met.

Raking is the multiplicative (exponential) case of Deville & Särndal's (1992) calibration, the
one that keeps weights positive but not bounded: a small category with a large population can
give a few respondents most of the weight, and one firm's answers would then move a unit's
index. Bounds (multiples of the mean weight, which the margins fix at population / respondents)
trim the weights after every pass, and the passes continue until the margins hold again with
the bounds (trimming; Lumley, Complex Surveys, 2010, ch. 7). When the bounds make a margin
unreachable, no pass ever meets both, and the error names that margin rather than returning
weights that fail one or the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bizenv.errors import BizenvError
from bizenv.ingest.reading import read_table
from bizenv.schemas.models import Questionnaire

MARGIN_COLUMNS = ["attribute", "category", "population"]


@dataclass(frozen=True)
class RakingResult:
    weights: pd.Series  # indexed like the respondents given
    iterations: int
    max_relative_error: float
    at_bounds: int = 0  # weights that ended at a bound (0 without bounds)


def read_margins(path: Path, questionnaire: Questionnaire) -> pd.DataFrame:
    """`attribute, category, population`; attributes by code, column or label of the schema."""
    table = read_table(Path(path))
    frame = table.frame
    file = str(path)
    missing = [c for c in MARGIN_COLUMNS if c not in frame.columns]
    if missing:
        raise BizenvError(
            f"margins file lacks column(s) {', '.join(missing)}", file=file, row=1, column=missing[0]
        )
    names = {}
    for attribute in questionnaire.respondent.attributes:
        for name in (attribute.code, attribute.column, attribute.label):
            names[name] = attribute
    rows = []
    for i, (attribute, category, population) in enumerate(
        frame[MARGIN_COLUMNS].itertuples(index=False), start=2
    ):
        spec = names.get(attribute.strip())
        if spec is None:
            known = ", ".join(a.code for a in questionnaire.respondent.attributes)
            raise BizenvError(
                f"unknown attribute {attribute!r} (one of {known})", file=file, row=i, column="attribute"
            )
        category = category.strip()
        if spec.values is not None and category not in spec.values:
            raise BizenvError(
                f"{category!r} is not a category of {spec.code} ({'/'.join(spec.values)})",
                file=file,
                row=i,
                column="category",
            )
        try:
            count = float(population.replace(",", ""))
        except ValueError:
            count = float("nan")
        if not np.isfinite(count) or count <= 0:
            raise BizenvError(
                f"population {population!r} is not a positive number", file=file, row=i, column="population"
            )
        rows.append({"attribute": spec.code, "category": category, "population": count, "row": i})
    margins = pd.DataFrame(rows)
    dup = margins.duplicated(["attribute", "category"], keep="first")
    if dup.any():
        row = margins[dup].iloc[0]
        raise BizenvError(
            f"{row['attribute']}={row['category']} is given twice", file=file, row=int(row["row"])
        )
    return margins.drop(columns="row")


def rake(
    respondents: pd.DataFrame,
    margins: pd.DataFrame,
    *,
    tolerance: float = 1e-6,
    max_iterations: int = 1000,
    base_weights: pd.Series | None = None,
    bounds: tuple[float, float] | None = None,
) -> RakingResult:
    """Weights for `respondents` (one row each, a column per raked attribute) matching `margins`.

    `bounds` = (low, high), multiples of the mean weight (e.g. the policy's
    `raking.weight_bounds`): after each pass the weights are clipped into [low, high] × mean and
    raking continues until every margin is within `tolerance` with the bounds holding."""
    if bounds is not None:
        low, high = (float(b) for b in bounds)
        if not 0 <= low < 1 < high:
            raise BizenvError(f"weight bounds must be (low, high) with 0 <= low < 1 < high, not {bounds}")
    attributes = list(dict.fromkeys(margins["attribute"]))
    totals = margins.groupby("attribute", sort=False)["population"].sum()
    if not np.allclose(totals.to_numpy(), totals.iloc[0], rtol=1e-9):
        described = ", ".join(f"{a} {t:g}" for a, t in totals.items())
        raise BizenvError(
            f"margins disagree on the population total ({described}); every attribute must sum alike"
        )

    codes: dict[str, np.ndarray] = {}
    targets: dict[str, np.ndarray] = {}
    names: dict[str, list[str]] = {}
    for attribute in attributes:
        if attribute not in respondents.columns:
            raise BizenvError(f"respondents have no attribute {attribute!r} to rake on")
        wanted = margins[margins["attribute"] == attribute]
        values = respondents[attribute].astype("str").str.strip()
        blank = values == ""
        if blank.any():
            raise BizenvError(
                f"{int(blank.sum())} respondent(s) have no {attribute}; raking on {attribute} needs it for everyone"
            )
        categories = wanted["category"].tolist()
        outside = sorted(set(values) - set(categories))
        if outside:
            raise BizenvError(
                f"respondents in {attribute} categories {outside} have no population margin; add them to the margins"
            )
        code = pd.Categorical(values, categories=categories).codes
        empty = [c for i, c in enumerate(categories) if not (code == i).any()]
        if empty:
            raise BizenvError(
                f"margin {attribute}={empty[0]} cannot be met: no respondent is in that category "
                "(merge it with a neighbouring category or drop the attribute)"
            )
        codes[attribute] = code
        names[attribute] = categories
        targets[attribute] = wanted["population"].to_numpy(dtype=float)

    weights = np.ones(len(respondents)) if base_weights is None else base_weights.to_numpy(dtype=float).copy()
    if bounds is not None:
        # Once the margins hold, the weights sum to the population: the mean weight is fixed.
        mean_weight = float(totals.iloc[0]) / len(respondents)
        floor, ceiling = low * mean_weight, high * mean_weight
    worst = np.inf
    for iteration in range(1, max_iterations + 1):
        for attribute in attributes:
            current = np.bincount(codes[attribute], weights=weights, minlength=len(targets[attribute]))
            weights *= (targets[attribute] / current)[codes[attribute]]
        if bounds is not None:
            np.clip(weights, floor, ceiling, out=weights)
        worst, where = _worst_margin(weights, codes, targets, names)
        if worst < tolerance:
            at_bounds = 0
            if bounds is not None:
                at_bounds = int(((weights <= floor * (1 + 1e-9)) | (weights >= ceiling * (1 - 1e-9))).sum())
            return RakingResult(pd.Series(weights, index=respondents.index), iteration, worst, at_bounds)
    attribute, category = where
    if bounds is not None:
        raise BizenvError(
            f"raking with weight bounds [{low:g}, {high:g}] × the mean weight cannot meet margin "
            f"{attribute}={category}: still {worst:.2e} off (relative) after {max_iterations} iterations; "
            "widen the bounds or merge that category with a neighbouring one"
        )
    raise BizenvError(
        f"raking did not converge in {max_iterations} iterations: margin {attribute}={category} is still "
        f"{worst:.2e} off (relative); the margins may be inconsistent with the sample"
    )


def _worst_margin(
    weights: np.ndarray, codes: dict, targets: dict, names: dict
) -> tuple[float, tuple[str, str]]:
    worst, where = 0.0, ("", "")
    for attribute, code in codes.items():
        current = np.bincount(code, weights=weights, minlength=len(targets[attribute]))
        errors = np.abs(current - targets[attribute]) / targets[attribute]
        i = int(errors.argmax())
        if errors[i] > worst:
            worst, where = float(errors[i]), (attribute, names[attribute][i])
    return worst, where
