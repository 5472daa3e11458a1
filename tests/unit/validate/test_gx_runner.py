"""The frame handed to Great Expectations is changed for speed only: every outcome, count and
sample is what the frame as built would give."""

import pandas as pd
import pytest

from bizenv.validate import gx_runner
from bizenv.validate.gx_runner import Spec, run_suite, suite_frame


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "key": pd.Series(["A1", "A2", None, "A2", "bad key", "A6"], dtype="str"),
            "unit": ["u1", "u2", "u1", "u2", "u9", None],
            "submitted_at": pd.to_datetime(
                [
                    "2026-01-02T00:00:00",
                    "2026-06-30T23:59:00",
                    "2025-12-31T00:00:00",
                    None,
                    "2026-08-15T00:00:00",
                    "2026-03-01T00:00:00",
                ]
            ).as_unit("us"),
            "answer": ["满意", "一般", "很好", None, "5", "满意"],
            "score": [1.0, 5.0, 6.0, None, 0.0, 3.0],
        }
    )


SPECS = [
    Spec("key", True, "ExpectColumnValuesToNotBeNull", {"column": "key"}),
    Spec("shape", False, "ExpectColumnValuesToMatchRegex", {"column": "key", "regex": "^A[0-9]$"}),
    Spec("unit", True, "ExpectColumnValuesToBeInSet", {"column": "unit", "value_set": ["u1", "u2"]}),
    Spec(
        "window",
        True,
        "ExpectColumnValuesToBeBetween",
        {
            "column": "submitted_at",
            "min_value": pd.Timestamp("2026-01-01"),
            "max_value": pd.Timestamp("2026-07-01"),
        },
    ),
    Spec(
        "scale",
        False,
        "ExpectColumnValuesToBeInSet",
        {"column": "answer", "value_set": ["满意", "一般", "5"]},
    ),
    Spec(
        "range", False, "ExpectColumnValuesToBeBetween", {"column": "score", "min_value": 1, "max_value": 5}
    ),
    Spec("unique", True, "ExpectCompoundColumnsToBeUnique", {"column_list": ["key", "unit"]}),
]


def test_outcomes_are_those_of_the_frame_as_built(monkeypatch):
    fast = run_suite("fast", frame(), SPECS)
    monkeypatch.setattr(gx_runner, "suite_frame", lambda f: f)
    plain = run_suite("plain", frame(), SPECS)

    assert fast == plain
    by_rule = {o.rule: (o.success, o.unexpected_count) for o in fast}
    assert by_rule == {
        "key": (False, 1),
        "shape": (False, 1),
        "unit": (False, 1),
        "window": (False, 2),
        "scale": (False, 1),
        "range": (False, 2),
        "unique": (False, 2),
    }


def test_datetimes_go_to_nanoseconds_and_text_to_categories():
    converted = suite_frame(frame())
    assert str(converted["submitted_at"].dtype) == "datetime64[ns]"
    assert isinstance(converted["key"].dtype, pd.CategoricalDtype)
    assert isinstance(converted["unit"].dtype, pd.CategoricalDtype)
    assert converted["score"].dtype == "float64"
    pd.testing.assert_frame_equal(converted.astype(object), frame().astype(object), check_dtype=False)


def test_a_date_beyond_nanoseconds_range_stays_as_it_is():
    dates = pd.DataFrame({"at": pd.Series(pd.to_datetime(["2026-01-01", "2500-01-01"]).as_unit("us"))})
    assert str(suite_frame(dates)["at"].dtype) == "datetime64[us]"


@pytest.mark.parametrize("values", [[["a"], ["b"]], [{"a": 1}, None]])
def test_unhashable_cells_stay_as_they_are(values):
    cells = pd.DataFrame({"c": pd.Series(values, dtype=object)})
    assert suite_frame(cells)["c"].dtype == object


def test_nothing_keeps_the_validated_frame_once_the_suite_has_run(monkeypatch):
    """Great Expectations keeps its context for the process; its data source held the frame (a
    million rows' worth in a load) until the next suite. The data source goes with the run."""
    import gc
    import weakref

    validated = []
    build = gx_runner.suite_frame

    def remember(f: pd.DataFrame) -> pd.DataFrame:
        out = build(f)
        validated.append(weakref.ref(out))
        return out

    monkeypatch.setattr(gx_runner, "suite_frame", remember)
    assert run_suite("released", frame(), SPECS)
    gc.collect()
    assert validated and validated[0]() is None
