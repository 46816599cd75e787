"""In-house tests (院内検査): a lab result may be measured in the clinic, without a lab message or order.

Revision ID: docs3_0001
Revises: erx_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "docs3_0001"
down_revision = "erx_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lab_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_in_house", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.alter_column("message_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("order_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM lab_result WHERE is_in_house")
    with op.batch_alter_table("lab_result", schema=None) as batch_op:
        batch_op.alter_column("order_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("message_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("is_in_house")
