"""Stored score arrays decoded to one float column per item, or an error: never a shifted column."""

import numpy as np
import pandas as pd
import pytest

from bizenv.evaluation.inputs import score_columns

CODES = ["a", "b", "c"]


def test_arrays_become_one_column_per_item_with_null_as_missing():
    arrays = pd.Series(["[5,4,null]", "[1,2.5,3]", "[null,null,null]"], index=[10, 11, 12])
    expected = pd.DataFrame(
        {"a": [5.0, 1.0, np.nan], "b": [4.0, 2.5, np.nan], "c": [np.nan, 3.0, np.nan]}, index=[10, 11, 12]
    )
    pd.testing.assert_frame_equal(score_columns(arrays, CODES), expected)


def test_no_arrays_give_empty_float_columns():
    result = score_columns(pd.Series([], dtype="str"), CODES)
    assert (
        list(result.columns) == CODES and result.empty and all(dtype == "float64" for dtype in result.dtypes)
    )


@pytest.mark.parametrize("bad", ["[5,4]", "[5,4,3,2]", "[]"])
def test_an_array_of_another_length_is_an_error(bad):
    with pytest.raises(RuntimeError, match="questionnaire's 3 items"):
        score_columns(pd.Series(["[5,4,3]", bad]), CODES)


def test_a_value_that_is_not_a_number_is_an_error():
    with pytest.raises(ValueError):
        score_columns(pd.Series(["[5,4,3]", '[5,"x",3]']), CODES)
