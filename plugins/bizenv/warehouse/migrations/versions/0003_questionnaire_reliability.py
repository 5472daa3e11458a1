"""questionnaire reliability

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:41:31.426753
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reliability",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("warning", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("period", "scope", name=op.f("pk_reliability")),
    )


def downgrade() -> None:
    op.drop_table("reliability")
