"""on_distinct gives what the element-wise function gives on the whole column."""

import numpy as np
import pandas as pd

from bizenv.ingest.distinct import on_distinct


def column() -> pd.Series:
    values = [" 满意", "5", "", "满意", None, "5", " 满意", "x"] * 3
    return pd.Series(values, index=pd.RangeIndex(10, 10 + len(values)), dtype="str", name="answer")


def test_a_series_result_equals_the_function_on_every_row():
    def strip(text):
        return text.str.strip()

    pd.testing.assert_series_equal(on_distinct(column(), strip), strip(column()))


def test_a_frame_result_is_spread_to_the_rows_index():
    def read(text):
        return pd.DataFrame(
            {"blank": text.fillna("").str.strip() == "", "length": text.str.len()}, index=text.index
        )

    pd.testing.assert_frame_equal(on_distinct(column(), read), read(column()))


def test_the_function_sees_each_distinct_value_once():
    seen = []

    def record(text):
        seen.append(len(text))
        return text

    on_distinct(column(), record)
    assert seen == [len(set(column().fillna("<NA>")))]
    assert np.isnan(on_distinct(column(), lambda t: t.str.len()).iloc[4])
