"""Patient search indexes carry the id, so the kana/name prefix search is read in index order on PostgreSQL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Replace the (clinic_id, key) indexes by (clinic_id, key, id)."""
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_clinic_kana_key")
        batch_op.drop_index("ix_patient_clinic_name_key")
        batch_op.create_index("ix_patient_clinic_kana_key_id", ["clinic_id", "kana_key", "id"], unique=False)
        batch_op.create_index("ix_patient_clinic_name_key_id", ["clinic_id", "name_key", "id"], unique=False)


def downgrade() -> None:
    """Back to the (clinic_id, key) indexes."""
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_clinic_name_key_id")
        batch_op.drop_index("ix_patient_clinic_kana_key_id")
        batch_op.create_index("ix_patient_clinic_name_key", ["clinic_id", "name_key"], unique=False)
        batch_op.create_index("ix_patient_clinic_kana_key", ["clinic_id", "kana_key"], unique=False)
