"""Half-year periods (`2026H1`, `2026H2`) and their dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from bizenv.errors import BizenvError

_PERIOD = re.compile(r"^(\d{4})H([12])$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    half: int

    @classmethod
    def parse(cls, label: str) -> Period:
        match = _PERIOD.match(str(label).strip().upper())
        if not match:
            raise BizenvError(f"period {label!r} is not a half-year label like 2026H1")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def containing(cls, moment: date | datetime) -> Period:
        """The half-year a date falls in: how a DAG run's logical date names its period."""
        return cls(moment.year, 1 if moment.month <= 6 else 2)

    @property
    def label(self) -> str:
        return f"{self.year}H{self.half}"

    @property
    def start(self) -> date:
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def end(self) -> date:
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    def previous(self) -> Period:
        return Period(self.year - 1, 2) if self.half == 1 else Period(self.year, 1)

    def __str__(self) -> str:
        return self.label
