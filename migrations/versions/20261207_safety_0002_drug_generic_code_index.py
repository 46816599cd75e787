"""An index on the drug master's 一般名コード: the prescription check finds the products of other institutions'
prescriptions by it (without it every check read the whole drug master).

Revision ID: safety_0002
Revises: safety_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "safety_0002"
down_revision = "safety_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_index("ix_drug_generic_code", "drug", ["generic_code"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_drug_generic_code", table_name="drug")
