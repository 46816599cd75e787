"""Full-chart mode: the note a schema drawing was drawn from (schema_drawing.note_lineage_id), and an index for
search words of one or two characters, which the trigram indexes cannot serve.
PostgreSQL: note_search_grams(body), every character and every pair of adjacent characters of a note's search
text (spaces and line breaks left out), with a GIN index on it. SQLite: the FTS5 table note_search_chars holding
the search text with every character a token of its own (written by the app beside each entry), filled here for
the entries that exist.

Revision ID: chart_0001
Revises: perf_0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "chart_0001"
down_revision = "perf_0001"
branch_labels = None
depends_on = None

BATCH = 2000

# IMMUTABLE (its answer depends on its argument only) so that it can be indexed. GIN drops the repeats itself.
# COST: splitting a note takes about as long as reading a few pages; at the default cost of a function the planner
# would rather split every note of a clinic than read the index.
GRAMS = r"""
CREATE OR REPLACE FUNCTION note_search_grams(body text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 5000 AS $$
  SELECT array_remove(array_remove(a, ' '), chr(10))
         || ARRAY(SELECT x || y FROM unnest(a[1:cardinality(a) - 1], a[2:]) AS u(x, y)
                  WHERE x NOT IN (' ', chr(10)) AND y NOT IN (' ', chr(10)))
  FROM (SELECT string_to_array(body, NULL) AS a) AS chars
$$
"""


def _fill_chars() -> None:
    """Write the character table's row of every entry written before this revision, a batch at a time."""
    bind = op.get_bind()
    entry = sa.table("note_search_entry", sa.column("note_id"), sa.column("body"))
    chars = sa.table("note_search_chars", sa.column("rowid"), sa.column("body"))
    last = 0
    while True:
        rows = bind.execute(sa.select(entry).where(entry.c.note_id > last).order_by(entry.c.note_id)
                            .limit(BATCH)).all()
        if not rows:
            return
        # The same spacing as app.notes.search.spaced (kept here so that the revision never changes with the app).
        bind.execute(sa.insert(chars), [{"rowid": r.note_id, "body": " ".join(r.body)} for r in rows])
        last = rows[-1].note_id


def upgrade() -> None:
    """The drawing's note; the gram function and its GIN index (PostgreSQL), or the character table filled
    (SQLite)."""
    with op.batch_alter_table("schema_drawing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note_lineage_id", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(GRAMS)
        op.execute("CREATE INDEX ix_note_search_entry_body_grams ON note_search_entry "
                   "USING gin (note_search_grams(body))")
        return
    # Every character but spaces and controls is a token character; the text is folded already (no case or
    # diacritic folding here, so the index says exactly what the entry says).
    op.execute("CREATE VIRTUAL TABLE note_search_chars USING fts5(body, content='', "
               "tokenize=\"unicode61 remove_diacritics 0 categories 'L* M* N* P* S* Co'\")")
    _fill_chars()


def downgrade() -> None:
    """Drop the index and its function, or the character table; and the drawing's note."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_note_search_entry_body_grams")
        op.execute("DROP FUNCTION IF EXISTS note_search_grams(text)")
    else:
        op.execute("DROP TABLE IF EXISTS note_search_chars")
    with op.batch_alter_table("schema_drawing", schema=None) as batch_op:
        batch_op.drop_column("note_lineage_id")
