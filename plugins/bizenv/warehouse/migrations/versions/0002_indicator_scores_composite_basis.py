"""indicator scores, composite basis

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:18:30.725554
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "city_indicators",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("city_value", sa.Float(), nullable=False),
        sa.Column("n_units", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("period", "indicator", name=op.f("pk_city_indicators")),
    )
    op.create_table(
        "indicator_scores",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("frontier_best", sa.Float(), nullable=False),
        sa.Column("frontier_worst", sa.Float(), nullable=False),
        sa.Column("frontier_source", sa.String(length=16), nullable=False),
        sa.Column("frontier_score", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("period", "unit_code", "indicator", name=op.f("pk_indicator_scores")),
    )
    with op.batch_alter_table("rankings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("composite_basis", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("n_indicators", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("weighting", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rankings", schema=None) as batch_op:
        batch_op.drop_column("weighting")
        batch_op.drop_column("n_indicators")
        batch_op.drop_column("composite_basis")

    op.drop_table("indicator_scores")
    op.drop_table("city_indicators")
