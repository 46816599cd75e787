"""Full-chart mode: 定型文 (note_phrase) get versions. A change is a new row of the same lineage with who, when and
why; taking a phrase off the lists is a last version marked retracted. Each existing phrase becomes version 1 of
its own lineage (recorded when it was last changed; one taken off the lists before stays off, as a retracted
version 1); the `active` and `updated_at` columns give way to the version columns.

Revision ID: chart2_0001
Revises: fhir_0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "chart2_0001"
down_revision = "fhir_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the version columns, make every phrase version 1 of its lineage, drop `active` and `updated_at`."""
    with op.batch_alter_table("note_phrase", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lineage_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recorded_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recorded_by_name", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retracted", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("change_reason", sa.String(length=200), nullable=False, server_default=""))
        batch_op.create_foreign_key(batch_op.f("fk_note_phrase_recorded_by_id_staff_user"), "staff_user",
                                    ["recorded_by_id"], ["id"])
    phrase = sa.table("note_phrase", sa.column("id", sa.Integer()), sa.column("lineage_id", sa.Integer()),
                      sa.column("recorded_at", sa.DateTime(timezone=True)),
                      sa.column("updated_at", sa.DateTime(timezone=True)), sa.column("retracted", sa.Boolean()),
                      sa.column("active", sa.Boolean()))
    op.execute(phrase.update().values(lineage_id=phrase.c.id, recorded_at=phrase.c.updated_at,
                                      retracted=sa.not_(phrase.c.active)))
    with op.batch_alter_table("note_phrase", schema=None) as batch_op:
        batch_op.alter_column("recorded_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_column("active")
        batch_op.drop_column("updated_at")
        batch_op.create_index("ix_note_phrase_current", ["clinic_id", "superseded_at"], unique=False)
        batch_op.create_index("ix_note_phrase_lineage", ["lineage_id"], unique=False)


def downgrade() -> None:
    """Keep each phrase's current version only (active unless taken off the lists), without its history."""
    with op.batch_alter_table("note_phrase", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    phrase = sa.table("note_phrase", sa.column("superseded_at", sa.DateTime(timezone=True)),
                      sa.column("recorded_at", sa.DateTime(timezone=True)),
                      sa.column("updated_at", sa.DateTime(timezone=True)), sa.column("retracted", sa.Boolean()),
                      sa.column("active", sa.Boolean()))
    op.execute(phrase.delete().where(phrase.c.superseded_at.is_not(None)))
    op.execute(phrase.update().values(updated_at=phrase.c.recorded_at, active=sa.not_(phrase.c.retracted)))
    with op.batch_alter_table("note_phrase", schema=None) as batch_op:
        batch_op.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_index("ix_note_phrase_lineage")
        batch_op.drop_index("ix_note_phrase_current")
        batch_op.drop_constraint(batch_op.f("fk_note_phrase_recorded_by_id_staff_user"), type_="foreignkey")
        for column in ("change_reason", "retracted", "superseded_at", "recorded_by_name", "recorded_by_id",
                       "recorded_at", "version", "lineage_id"):
            batch_op.drop_column(column)
