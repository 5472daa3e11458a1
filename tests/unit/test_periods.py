from datetime import date

import pytest

from bizenv.errors import BizenvError
from bizenv.periods import Period


def test_period_dates_and_previous():
    p = Period.parse("2026H1")
    assert (p.start, p.end) == (date(2026, 1, 1), date(2026, 6, 30))
    assert p.previous().label == "2025H2"
    assert Period.parse("2025H2").previous().label == "2025H1"
    assert Period.containing(date(2026, 7, 1)).label == "2026H2"


@pytest.mark.parametrize("label", ["2026H3", "2026", "26H1", "2026h1x"])
def test_bad_labels_are_refused(label):
    with pytest.raises(BizenvError, match="half-year label"):
        Period.parse(label)
