"""composite shares, rank uncertainty, respondent weights, unscored indicators

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 06:10:00
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "composite_shares",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("group_code", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("normalisation", sa.String(length=16), nullable=False),
        sa.Column("n_units", sa.Integer(), nullable=False),
        sa.Column("weight_satisfaction", sa.Float(), nullable=False),
        sa.Column("weight_indicators", sa.Float(), nullable=False),
        sa.Column("share_satisfaction", sa.Float(), nullable=True),
        sa.Column("share_indicators", sa.Float(), nullable=True),
        sa.Column("correlation", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("period", "group_code", "level", name=op.f("pk_composite_shares")),
    )
    op.create_table(
        "respondent_weights",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("respondent_hash", sa.String(length=64), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("period", "respondent_hash", name=op.f("pk_respondent_weights")),
    )
    with op.batch_alter_table("rankings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rank_median", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("p_bottom_n", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("p_top_n", sa.Float(), nullable=True))
    with op.batch_alter_table("indicator_scores", schema=None) as batch_op:
        batch_op.alter_column("frontier_best", existing_type=sa.Float(), nullable=True)
        batch_op.alter_column("frontier_worst", existing_type=sa.Float(), nullable=True)
        batch_op.alter_column("frontier_score", existing_type=sa.Float(), nullable=True)
        batch_op.alter_column(
            "frontier_source", existing_type=sa.String(length=16), type_=sa.String(length=24), nullable=False
        )


def _unit_trend_view() -> str:
    """The unit_trend view of revision 0004, which reads `rankings`."""
    path = Path(__file__).with_name("0004_unit_trend_view.py")
    spec = importlib.util.spec_from_file_location("revision_0004", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.UNIT_TREND


def downgrade() -> None:
    # SQLite drops a column by copying the table, which a view on it does not survive.
    op.execute("DROP VIEW unit_trend")
    with op.batch_alter_table("indicator_scores", schema=None) as batch_op:
        batch_op.alter_column(
            "frontier_source", existing_type=sa.String(length=24), type_=sa.String(length=16), nullable=False
        )
        batch_op.alter_column("frontier_score", existing_type=sa.Float(), nullable=False)
        batch_op.alter_column("frontier_worst", existing_type=sa.Float(), nullable=False)
        batch_op.alter_column("frontier_best", existing_type=sa.Float(), nullable=False)
    with op.batch_alter_table("rankings", schema=None) as batch_op:
        batch_op.drop_column("p_top_n")
        batch_op.drop_column("p_bottom_n")
        batch_op.drop_column("rank_median")
    op.execute(_unit_trend_view())
    op.drop_table("respondent_weights")
    op.drop_table("composite_shares")
