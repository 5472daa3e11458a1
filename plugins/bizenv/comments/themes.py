"""File comments under the themes of `survey_schemas/themes.yaml` by their words.

Matching is literal text and regular expressions, one vectorised pass per theme: no word
segmentation and no model, so the same comment always lands under the same themes and an
evaluator can see why from the file alone."""

from __future__ import annotations

import pandas as pd

from bizenv.schemas.loader import load_themes
from bizenv.schemas.models import Themes

COLUMNS = ["comment_index", "theme", "label"]


def matches(comments: pd.Series, themes: Themes | None = None) -> pd.DataFrame:
    """Comments × theme codes (`other` last): True where the comment is about the theme; a
    comment about no theme is `other`."""
    themes = themes or load_themes()
    text = comments.astype("object").where(comments.notna(), "").astype(str)
    hits = pd.DataFrame(
        {t.code: text.str.contains(t.regex(), regex=True) for t in themes.themes},
        index=comments.index,
        dtype=bool,
    )
    hits[themes.other.code] = ~hits.any(axis=1)
    return hits


def classify(comments: pd.Series, themes: Themes | None = None) -> pd.DataFrame:
    """One row per (comment, theme it is about): `comment_index` (the label of `comments`),
    `theme` (code) and `label`; a comment may have several rows, and one about nothing else
    has a single `other` row. Rows follow the comments' order, then the file's theme order."""
    themes = themes or load_themes()
    hits = matches(comments, themes)
    position = pd.DataFrame(
        {
            "comment_index": pd.Series(hits.index).repeat(hits.shape[1]).to_numpy(),
            "theme": list(hits.columns) * len(hits),
            "hit": hits.to_numpy().ravel(),
        }
    )
    rows = position[position["hit"]].drop(columns="hit").reset_index(drop=True)
    rows["label"] = rows["theme"].map(themes.labels())
    return rows[COLUMNS]
