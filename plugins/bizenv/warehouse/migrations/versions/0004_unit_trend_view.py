"""unit_trend view: every unit's ranks and flags over all periods

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 01:20:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The view as of this revision (a later change to the view is a new migration).
UNIT_TREND = """
CREATE VIEW unit_trend AS
SELECT
    u.code AS unit_code,
    u.name AS unit_name,
    u.group_name,
    r.period,
    r.rank,
    r.ranked,
    r.n_respondents,
    r.satisfaction_index,
    r.indicator_score,
    r.composite_score,
    MAX(CASE WHEN f.flag = 'BOTTOM_N' THEN 1 ELSE 0 END) AS bottom_n,
    MAX(CASE WHEN f.flag = 'REPEATED_BOTTOM_N' THEN 1 ELSE 0 END) AS repeated_bottom_n,
    MAX(CASE WHEN f.flag = 'SIGNIFICANTLY_LOW' THEN 1 ELSE 0 END) AS significantly_low,
    MAX(CASE WHEN f.flag = 'SIGNIFICANT_DECLINE' THEN 1 ELSE 0 END) AS significant_decline,
    MAX(CASE WHEN f.flag = 'TOP_N' THEN 1 ELSE 0 END) AS top_n,
    MAX(CASE WHEN f.flag = 'MOST_IMPROVED' THEN 1 ELSE 0 END) AS most_improved,
    MAX(CASE WHEN f.flag = 'INSUFFICIENT_SAMPLE' THEN 1 ELSE 0 END) AS insufficient_sample
FROM units u
JOIN rankings r ON r.unit_code = u.code
LEFT JOIN flags f ON f.period = r.period AND f.unit_code = r.unit_code
GROUP BY u.code, u.name, u.group_name, r.period, r.rank, r.ranked, r.n_respondents,
         r.satisfaction_index, r.indicator_score, r.composite_score
"""


def upgrade() -> None:
    op.execute(UNIT_TREND)


def downgrade() -> None:
    op.execute("DROP VIEW unit_trend")
