"""core tables

Revision ID: 0001
Revises:
Create Date: 2026-11-21 23:50:19.558222
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flags",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("flag", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reason_en", sa.Text(), nullable=True),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("period", "unit_code", "flag", name=op.f("pk_flags")),
    )
    op.create_table(
        "periods",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_periods")),
    )
    op.create_table(
        "pipeline_runs",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("period", sa.String(length=8), nullable=True),
        sa.Column("command", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
    )
    op.create_table(
        "quarantined_rows",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_rows")),
    )
    with op.batch_alter_table("quarantined_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantined_rows_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "rankings",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("group_code", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("n_respondents", sa.Integer(), nullable=False),
        sa.Column("satisfaction_index", sa.Float(), nullable=True),
        sa.Column("satisfaction_ci_low", sa.Float(), nullable=True),
        sa.Column("satisfaction_ci_high", sa.Float(), nullable=True),
        sa.Column("indicator_score", sa.Float(), nullable=True),
        sa.Column("composite_score", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("rank_ci_low", sa.Integer(), nullable=True),
        sa.Column("rank_ci_high", sa.Integer(), nullable=True),
        sa.Column("ranked", sa.Boolean(), nullable=False),
        sa.Column("group_size", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("period", "unit_code", name=op.f("pk_rankings")),
    )
    op.create_table(
        "response_items",
        sa.Column("response_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.String(length=64), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("response_id", "item_code", name=op.f("pk_response_items")),
    )
    op.create_table(
        "unit_scores",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("dimension", sa.String(length=64), nullable=False),
        sa.Column("n_respondents", sa.Integer(), nullable=False),
        sa.Column("excluded_incomplete", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("std_error", sa.Float(), nullable=True),
        sa.Column("n_effective", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("period", "unit_code", "dimension", name=op.f("pk_unit_scores")),
    )
    op.create_table(
        "units",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.Column("group_code", sa.String(length=64), nullable=False),
        sa.Column("group_name", sa.String(length=200), nullable=False),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("registry_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_units")),
    )
    op.create_table(
        "validation_results",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("suite", sa.String(length=200), nullable=False),
        sa.Column("expectation", sa.String(length=200), nullable=False),
        sa.Column("column_name", sa.String(length=200), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("unexpected_count", sa.Integer(), nullable=True),
        sa.Column("unexpected_sample", sa.Text(), nullable=True),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_results")),
    )
    op.create_table(
        "metric_batches",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows_in", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["period"], ["periods.period"], name=op.f("fk_metric_batches_period_periods")
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_metric_batches")),
    )
    op.create_table(
        "survey_batches",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("schema_name", sa.String(length=100), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_format", sa.String(length=32), nullable=False),
        sa.Column("encoding", sa.String(length=32), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows_in", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["period"], ["periods.period"], name=op.f("fk_survey_batches_period_periods")
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_survey_batches")),
    )
    op.create_table(
        "department_metrics",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["metric_batches.batch_id"],
            name=op.f("fk_department_metrics_batch_id_metric_batches"),
        ),
        sa.PrimaryKeyConstraint("period", "unit_code", "indicator", name=op.f("pk_department_metrics")),
    )
    op.create_table(
        "survey_responses",
        sa.Column("response_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("respondent_hash", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("enterprise_size", sa.String(length=32), nullable=True),
        sa.Column("district", sa.String(length=64), nullable=True),
        sa.Column("industry", sa.Text(), nullable=True),
        sa.Column("ownership", sa.String(length=32), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["survey_batches.batch_id"],
            name=op.f("fk_survey_responses_batch_id_survey_batches"),
        ),
        sa.PrimaryKeyConstraint("response_id", name=op.f("pk_survey_responses")),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_responses_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_survey_responses_period_unit_code"), ["period", "unit_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_responses_period_unit_code"))
        batch_op.drop_index(batch_op.f("ix_survey_responses_batch_id"))

    op.drop_table("survey_responses")
    op.drop_table("department_metrics")
    op.drop_table("survey_batches")
    op.drop_table("metric_batches")
    op.drop_table("validation_results")
    op.drop_table("units")
    op.drop_table("unit_scores")
    op.drop_table("response_items")
    op.drop_table("rankings")
    with op.batch_alter_table("quarantined_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_rows_batch_id"))

    op.drop_table("quarantined_rows")
    op.drop_table("pipeline_runs")
    op.drop_table("periods")
    op.drop_table("flags")
