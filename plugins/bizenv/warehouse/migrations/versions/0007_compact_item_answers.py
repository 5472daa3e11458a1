"""item answers stored with their response: JSON arrays in questionnaire order; response_items a view

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 09:50:00

A long table of one row per answered item cost ten rows per response to write and a pivot to
read back. Each response now carries `answers` (as written, null where blank) and `scores`
(scale points, null where missing) as JSON arrays, in the order of `questionnaire_items`; the
`response_items` view gives staff SQL the long form as before.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The view as of this revision (a later change to the view is a new migration).
RESPONSE_ITEMS = {
    "sqlite": """
CREATE VIEW response_items AS
SELECT r.response_id AS response_id,
       q.item_code AS item_code,
       json_extract(r.answers, '$[' || q.position || ']') AS answer,
       CAST(json_extract(r.scores, '$[' || q.position || ']') AS REAL) AS score
FROM survey_responses r
JOIN survey_batches b ON b.batch_id = r.batch_id
JOIN questionnaire_items q ON q.schema_name = b.schema_name
WHERE json_extract(r.answers, '$[' || q.position || ']') IS NOT NULL
""",
    "postgresql": """
CREATE VIEW response_items AS
SELECT r.response_id AS response_id,
       q.item_code AS item_code,
       (r.answers::jsonb ->> q.position) AS answer,
       (r.scores::jsonb ->> q.position)::double precision AS score
FROM survey_responses r
JOIN survey_batches b ON b.batch_id = r.batch_id
JOIN questionnaire_items q ON q.schema_name = b.schema_name
WHERE (r.answers::jsonb ->> q.position) IS NOT NULL
""",
}


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "questionnaire_items",
        sa.Column("schema_name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("schema_name", "position", name=op.f("pk_questionnaire_items")),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answers", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("scores", sa.Text(), nullable=True))
    _move_items_into_responses(bind)
    op.drop_table("response_items")
    op.execute(RESPONSE_ITEMS[bind.dialect.name])


def _move_items_into_responses(bind: sa.Connection) -> None:
    """Existing answers into the arrays, in the order of each batch's questionnaire (the
    questionnaire files are never edited: a later questionnaire is a new file)."""
    from bizenv.schemas import load_questionnaire

    schemas = bind.execute(sa.text("SELECT DISTINCT schema_name FROM survey_batches")).scalars().all()
    items = sa.table(
        "questionnaire_items", *(sa.column(c) for c in ("schema_name", "position", "item_code", "label"))
    )
    for name in schemas:
        questionnaire = load_questionnaire(name)
        rows = [
            {"schema_name": name, "position": i, "item_code": item.code, "label": item.label}
            for i, item in enumerate(questionnaire.items())
        ]
        bind.execute(items.insert(), rows)
        positions = {row["item_code"]: row["position"] for row in rows}
        stored = bind.execute(
            sa.text(
                "SELECT i.response_id, i.item_code, i.answer, i.score FROM response_items i "
                "JOIN survey_responses r ON r.response_id = i.response_id "
                "JOIN survey_batches b ON b.batch_id = r.batch_id WHERE b.schema_name = :name "
                "ORDER BY i.response_id"
            ),
            {"name": name},
        )
        arrays: dict[int, tuple[list, list]] = {}
        for response_id, code, answer, score in stored:
            answers, scores = arrays.setdefault(response_id, ([None] * len(rows), [None] * len(rows)))
            answers[positions[code]] = answer
            scores[positions[code]] = (
                None if score is None else int(score) if float(score).is_integer() else score
            )
        update = sa.text(
            "UPDATE survey_responses SET answers = :answers, scores = :scores WHERE response_id = :id"
        )
        values = [
            {
                "id": response_id,
                "answers": json.dumps(answers, ensure_ascii=False, separators=(",", ":")),
                "scores": json.dumps(scores, separators=(",", ":")),
            }
            for response_id, (answers, scores) in arrays.items()
        ]
        if values:
            bind.execute(update, values)


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("DROP VIEW response_items")
    op.create_table(
        "response_items",
        sa.Column("response_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.String(length=64), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("response_id", "item_code", name=op.f("pk_response_items")),
    )
    op.execute(
        RESPONSE_ITEMS[bind.dialect.name].replace(
            "CREATE VIEW response_items AS", "INSERT INTO response_items"
        )
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_column("scores")
        batch_op.drop_column("answers")
    op.drop_table("questionnaire_items")
