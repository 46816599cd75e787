"""Lab results keep only the indexes a query uses (each one is paid for by every imported row).

Dropped: clinic_id (the current-results index starts with it), message_id and order_id (an import now works out
order states and the results to share from what it wrote, instead of reading them back by message or order).
The specimen index becomes (clinic_id, specimen_number) over current results only: exactly what an import
compares a new report with, and the plan PostgreSQL picks even before the table's statistics catch up with a
large import (with the old one-column index it scanned the clinic's current results instead: 7 ms a message).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

CURRENT = sa.text("superseded_at IS NULL")


def upgrade() -> None:
    """Apply."""
    op.create_index("ix_lab_result_specimen_current", "lab_result", ["clinic_id", "specimen_number"], unique=False,
                    postgresql_where=CURRENT, sqlite_where=CURRENT)
    for name in ("ix_lab_result_specimen_number", "ix_lab_result_order_id", "ix_lab_result_message_id",
                 "ix_lab_result_clinic_id"):
        op.drop_index(name, table_name="lab_result")


def downgrade() -> None:
    """Revert."""
    for name, column in (("ix_lab_result_clinic_id", "clinic_id"), ("ix_lab_result_message_id", "message_id"),
                         ("ix_lab_result_order_id", "order_id"), ("ix_lab_result_specimen_number", "specimen_number")):
        op.create_index(name, "lab_result", [column], unique=False)
    op.drop_index("ix_lab_result_specimen_current", table_name="lab_result")
