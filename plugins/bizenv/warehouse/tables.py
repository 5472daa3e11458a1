"""Core warehouse tables (names are a contract; columns may grow through Alembic migrations)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

units = Table(
    "units",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("full_name", String(200)),
    Column("group_code", String(64), nullable=False),
    Column("group_name", String(200), nullable=False),
    Column("parent_code", String(64)),
    Column("level", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("registry_version", Integer, nullable=False),
)

periods = Table(
    "periods",
    metadata,
    Column("period", String(8), primary_key=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
)

survey_batches = Table(
    "survey_batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("period", String(8), ForeignKey("periods.period"), nullable=False),
    Column("schema_name", String(100), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("file_format", String(32), nullable=False),
    Column("encoding", String(32)),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("rows_in", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("status", String(16), nullable=False),
)

survey_responses = Table(
    "survey_responses",
    metadata,
    Column("response_id", BigInteger, primary_key=True, autoincrement=False),
    Column("batch_id", String(64), ForeignKey("survey_batches.batch_id"), nullable=False),
    Column("period", String(8), nullable=False),
    Column("source_row", Integer, nullable=False),
    Column("respondent_hash", String(64), nullable=False),
    Column("unit_code", String(64), nullable=False),
    Column("submitted_at", DateTime, nullable=False),
    Column("duration_seconds", Float),
    Column("enterprise_size", String(32)),
    Column("district", String(64)),
    Column("industry", Text),
    Column("ownership", String(32)),
    Column("comment", Text),
    # The item answers as written (null where blank) and their scale points (null where
    # missing), JSON arrays in the order of `questionnaire_items` for the batch's questionnaire.
    Column("answers", Text),
    Column("scores", Text),
    Index(None, "period", "unit_code"),
    Index(None, "batch_id"),
)

questionnaire_items = Table(
    "questionnaire_items",
    metadata,
    Column("schema_name", String(64), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("item_code", String(64), nullable=False),
    Column("label", Text, nullable=False),
)

# Views: read like tables, created by their migrations (kept out of `metadata`, which Alembic
# compares with the migrated tables).
views = MetaData()

# One non-blank answer to one item: `survey_responses.answers`/`scores` in long form (0007).
response_items = Table(
    "response_items",
    views,
    Column("response_id", BigInteger),
    Column("item_code", String(64)),
    Column("answer", String(64)),
    Column("score", Float),
)

quarantined_rows = Table(
    "quarantined_rows",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("batch_id", String(64), nullable=False),
    Column("period", String(8), nullable=False),
    Column("source_row", Integer, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Index(None, "batch_id"),
)

validation_results = Table(
    "validation_results",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("batch_id", String(64)),
    Column("period", String(8), nullable=False),
    Column("suite", String(200), nullable=False),
    Column("expectation", String(200), nullable=False),
    Column("column_name", String(200)),
    Column("success", Boolean, nullable=False),
    Column("unexpected_count", Integer),
    Column("unexpected_sample", Text),
    Column("run_at", DateTime(timezone=True), nullable=False),
)

metric_batches = Table(
    "metric_batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("period", String(8), ForeignKey("periods.period"), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("rows_in", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("status", String(16), nullable=False),
)

department_metrics = Table(
    "department_metrics",
    metadata,
    Column("period", String(8), primary_key=True),
    Column("unit_code", String(64), primary_key=True),
    Column("indicator", String(64), primary_key=True),
    Column("value", Float, nullable=False),
    Column("source", Text),
    Column("batch_id", String(64), ForeignKey("metric_batches.batch_id"), nullable=False),
)

unit_scores = Table(
    "unit_scores",
    metadata,
    Column("period", String(8), primary_key=True),
    Column("unit_code", String(64), primary_key=True),
    # "overall" for the satisfaction index, else a dimension code of the questionnaire.
    Column("dimension", String(64), primary_key=True),
    Column("n_respondents", Integer, nullable=False),
    Column("excluded_incomplete", Integer, nullable=False),
    Column("score", Float),
    Column("std_error", Float),
    Column("n_effective", Float),
    Column("ci_low", Float),
    Column("ci_high", Float),
)

rankings = Table(
    "rankings",
    metadata,
    Column("period", String(8), primary_key=True),
    Column("unit_code", String(64), primary_key=True),
    Column("group_code", String(64), nullable=False),
    Column("level", String(32), nullable=False),
    Column("n_respondents", Integer, nullable=False),
    Column("satisfaction_index", Float),
    Column("satisfaction_ci_low", Float),
    Column("satisfaction_ci_high", Float),
    Column("indicator_score", Float),
    Column("composite_score", Float),
    Column("rank", Integer),
    # Rank uncertainty from every source (ranking.uncertainty): the median rank, the policy's
    # central interval (90% by default) and the probabilities of the bottom N and top N.
    Column("rank_ci_low", Integer),
    Column("rank_ci_high", Integer),
    Column("ranked", Boolean, nullable=False),
    Column("group_size", Integer, nullable=False),
    # both | satisfaction_only | indicators_only | insufficient_sample | not_ranked | none:
    # what the composite rests on.
    Column("composite_basis", String(32)),
    Column("n_indicators", Integer),
    Column("weighting", String(32)),
    Column("policy_version", String(32), nullable=False),
    Column("rank_median", Integer),
    Column("p_bottom_n", Float),
    Column("p_top_n", Float),
)

# Per comparison group and level: the composite's normalisation and each part's effective share
# of its variance (ranking.composite.effective_shares), beside the policy weights.
composite_shares = Table(
    "composite_shares",
    metadata,
    Column("period", String(8), primary_key=True),
    Column("group_code", String(64), primary_key=True),
    Column("level", String(32), primary_key=True),
    Column("normalisation", String(16), nullable=False),
    Column("n_units", Integer, nullable=False),
    Column("weight_satisfaction", Float, nullable=False),
    Column("weight_indicators", Float, nullable=False),
    Column("share_satisfaction", Float),
    Column("share_indicators", Float),
    # The correlation of the two normalised parts over the units with both.
    Column("correlation", Float),
)

# The weight each respondent carried in a period's evaluation (1 unless raked): the paired
# change tests of the next period read it.
respondent_weights = Table(
    "respondent_weights",
    metadata,
    Column("period", String(8), primary_key=True),
    Column("respondent_hash", String(64), primary_key=True),
    Column("weight", Float, nullable=False),
)

indicator_scores = Table(
    "indicator_scores",
    metadata,
    Column("period", String(8), primary_key=True),
    Column("unit_code", String(64), primary_key=True),
    Column("indicator", String(64), primary_key=True),
    Column("value", Float, nullable=False),
    Column("frontier_best", Float),
    Column("frontier_worst", Float),
    # catalogue | observed (derived from the period's values) | insufficient_units (no catalogue
    # frontier and too few reporting units to derive one: not scored)
    Column("frontier_source", String(24), nullable=False),
    Column("frontier_score", Float),
    Column("level", String(16), nullable=False),
)

city_indicators = Table(
    "city_indicators",
    metadata,
    Column("period", String(8), primary_key=True),
    Column("indicator", String(64), primary_key=True),
    Column("city_value", Float, nullable=False),
    Column("n_units", Integer, nullable=False),
    Column("level", String(16), nullable=False),
)

reliability = Table(
    "reliability",
    metadata,
    Column("period", String(8), primary_key=True),
    # "overall" or a dimension code of the questionnaire
    Column("scope", String(64), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("k", Integer, nullable=False),
    Column("alpha", Float),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("warning", Boolean, nullable=False),
)

flags = Table(
    "flags",
    metadata,
    Column("period", String(8), primary_key=True),
    Column("unit_code", String(64), primary_key=True),
    Column("flag", String(32), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("reason_en", Text),
    Column("policy_version", String(32), nullable=False),
)

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("period", String(8)),
    Column("command", String(64), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),
    Column("summary", Text),
    # The output folder the run writes to, and the one-line error of a failed run.
    Column("out_dir", Text),
    Column("error", Text),
)

# --- the problem register (整改台账): bizenv.rectification ------------------------------------

# One problem a unit must rectify. `problem_id` is `P<period>-<4-digit sequence>` (P2026H1-0001),
# numbered per period in the order problems were registered. `unit_code` is the lead unit
# (主办单位), `co_units` a JSON array of the co-operating units' codes (会办单位). A proposal
# matching an unverified problem of the same unit, theme and source raises `recurrence_count`
# instead of creating a problem; one matching only a verified problem starts a new problem linked
# to it by `previous_problem_id`. Statuses, kinds, deadlines and supervision steps: policy.yaml
# `rectification`. Every change is a row of `problem_history`.
problems = Table(
    "problems",
    metadata,
    Column("problem_id", String(32), primary_key=True),
    Column("period", String(8), nullable=False),
    Column("unit_code", String(64), nullable=False),
    Column("co_units", Text, nullable=False),
    # comment | low_score | flag
    Column("source", String(16), nullable=False),
    Column("theme", String(200), nullable=False),
    Column("description", Text, nullable=False),
    # JSON: counts and masked quotes.
    Column("evidence", Text, nullable=False),
    # open | assigned | in_progress | resolved | verified | reopened
    Column("status", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("deadline", Date, nullable=False),
    # none | first | second | accountability, and the day of the last step
    Column("supervision", String(16), nullable=False),
    Column("supervised_on", Date),
    Column("recurrence_count", Integer, nullable=False),
    # The latest period the problem was proposed in (its own period, or a later recurrence).
    Column("last_seen_period", String(8), nullable=False),
    Column("previous_problem_id", String(32)),
    # What the unit returned in its workbook.
    Column("unit_response", Text),
    Column("measures", Text),
    Column("completed_on", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Index(None, "unit_code", "status"),
    Index(None, "period"),
)

# Append-only: one row per changed field of a problem (`field` is `created` for a new problem).
# `via` is the command, or the imported workbook's file name with its `batch_id`.
problem_history = Table(
    "problem_history",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("problem_id", String(32), ForeignKey("problems.problem_id"), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("via", Text, nullable=False),
    Column("batch_id", String(64)),
    Column("field", String(32), nullable=False),
    Column("old_value", Text),
    Column("new_value", Text),
    Index(None, "problem_id"),
)

# A returned unit workbook, keyed by the SHA-256 of its bytes (the same file again is a no-op).
problem_batches = Table(
    "problem_batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("file_name", Text, nullable=False),
    Column("unit_code", String(64), nullable=False),
    Column("period", String(8), nullable=False),
    Column("actor", Text, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("rows_in", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
)

# A refused workbook row: reasons joined by ';', messages by ' | ', the row's cells as JSON
# (masked). Kept apart from `quarantined_rows`, whose rows are survey and metrics rows that the
# period's published quarantine.csv lists.
problem_quarantine = Table(
    "problem_quarantine",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("batch_id", String(64), ForeignKey("problem_batches.batch_id"), nullable=False),
    Column("source_row", Integer, nullable=False),
    # as written in the workbook
    Column("problem_id", Text),
    Column("reasons", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Index(None, "batch_id"),
)
