"""The patient screen's handover kept on the server: which patient a handed-over login session shows, so that a
session cookie copied before the handover cannot leave the patient screen.

Revision ID: lead_0001
Revises: partners_0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "lead_0001"
down_revision = "partners_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_session") as batch:
        batch.add_column(sa.Column("handed_over_patient_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_session") as batch:
        batch.drop_column("handed_over_patient_id")
