"""What a period needs before it can be evaluated."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from bizenv.errors import BizenvError
from bizenv.periods import Period
from bizenv.warehouse import tables as t
from bizenv.warehouse.engine import require_migrated


def require_period_inputs(engine: Engine, period: str) -> int:
    """Accepted survey responses of the period; a clear error when there are none."""
    require_migrated(engine)
    label = Period.parse(period).label
    b = t.survey_batches
    with engine.connect() as conn:
        row = conn.execute(
            select(
                func.count().label("batches"),
                func.coalesce(func.sum(b.c.accepted), 0).label("accepted"),
            )
            .where(b.c.period == label)
            .where(b.c.status == "accepted")
        ).one()
    if row.accepted == 0:
        raise BizenvError(
            f"period {label} has no accepted survey responses ({row.batches} accepted batch(es)); "
            "load the survey batches with `bizenv load-survey` first"
        )
    return int(row.accepted)
