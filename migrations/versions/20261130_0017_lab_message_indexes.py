"""Lab messages keep fewer index entries: an import inserts every message and then updates it with its state,
and each index costs every message on both writes.

Dropped: clinic_id (every other index starts with it), (clinic_id, status) and control_key. The two lookups by
state become partial indexes over the messages they look for: the failed messages shown to staff
(clinic_id, id WHERE status = 'failed') and the control ids imported before (clinic_id, control_key WHERE status =
'imported'). A stored message then enters three indexes instead of six, an imported one four.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

FAILED = sa.text("status = 'failed'")
IMPORTED = sa.text("status = 'imported'")


def upgrade() -> None:
    """Apply."""
    op.create_index("ix_lab_message_failed", "lab_message", ["clinic_id", "id"], unique=False,
                    postgresql_where=FAILED, sqlite_where=FAILED)
    op.create_index("ix_lab_message_imported_control", "lab_message", ["clinic_id", "control_key"], unique=False,
                    postgresql_where=IMPORTED, sqlite_where=IMPORTED)
    for name in ("ix_lab_message_control_key", "ix_lab_message_status", "ix_lab_message_clinic_id"):
        op.drop_index(name, table_name="lab_message")


def downgrade() -> None:
    """Revert."""
    op.create_index("ix_lab_message_clinic_id", "lab_message", ["clinic_id"], unique=False)
    op.create_index("ix_lab_message_status", "lab_message", ["clinic_id", "status"], unique=False)
    op.create_index("ix_lab_message_control_key", "lab_message", ["control_key"], unique=False)
    op.drop_index("ix_lab_message_imported_control", table_name="lab_message")
    op.drop_index("ix_lab_message_failed", table_name="lab_message")
