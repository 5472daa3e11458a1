"""problem register: problems, their append-only history, returned unit workbooks and their refused rows

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 19:00:00

The rectification register (整改台账): each problem a unit must rectify, with its deadline and
supervision step; `problem_history` one row per changed field, never updated; `problem_batches`
the workbooks units returned (keyed by SHA-256, so the same file twice changes nothing) and
`problem_quarantine` their refused rows with reasons.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "problems",
        sa.Column("problem_id", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("co_units", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("theme", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("supervision", sa.String(length=16), nullable=False),
        sa.Column("supervised_on", sa.Date(), nullable=True),
        sa.Column("recurrence_count", sa.Integer(), nullable=False),
        sa.Column("last_seen_period", sa.String(length=8), nullable=False),
        sa.Column("previous_problem_id", sa.String(length=32), nullable=True),
        sa.Column("unit_response", sa.Text(), nullable=True),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("problem_id", name=op.f("pk_problems")),
    )
    op.create_index(op.f("ix_problems_unit_code_status"), "problems", ["unit_code", "status"])
    op.create_index(op.f("ix_problems_period"), "problems", ["period"])
    op.create_table(
        "problem_history",
        _id(),
        sa.Column("problem_id", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("via", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["problem_id"], ["problems.problem_id"], name=op.f("fk_problem_history_problem_id_problems")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_history")),
    )
    op.create_index(op.f("ix_problem_history_problem_id"), "problem_history", ["problem_id"])
    op.create_table(
        "problem_batches",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows_in", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_problem_batches")),
    )
    op.create_table(
        "problem_quarantine",
        _id(),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Text(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["problem_batches.batch_id"],
            name=op.f("fk_problem_quarantine_batch_id_problem_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_quarantine")),
    )
    op.create_index(op.f("ix_problem_quarantine_batch_id"), "problem_quarantine", ["batch_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_problem_quarantine_batch_id"), table_name="problem_quarantine")
    op.drop_table("problem_quarantine")
    op.drop_table("problem_batches")
    op.drop_index(op.f("ix_problem_history_problem_id"), table_name="problem_history")
    op.drop_table("problem_history")
    op.drop_index(op.f("ix_problems_period"), table_name="problems")
    op.drop_index(op.f("ix_problems_unit_code_status"), table_name="problems")
    op.drop_table("problems")
