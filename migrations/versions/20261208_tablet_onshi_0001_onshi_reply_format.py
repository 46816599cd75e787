"""What an オンライン資格確認 history request asked for: the XML the screens read, or the PDF the doctor asked to see
(kept as received beside the XML).

Revision ID: tablet_onshi_0001
Revises: lead_0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "tablet_onshi_0001"
down_revision = "lead_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Every request so far asked for XML (a column with a default is added in place, SQLite included)."""
    op.add_column("onshi_fetch", sa.Column("reply_format", sa.String(3), nullable=False, server_default="xml"))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("onshi_fetch") as batch:
        batch.drop_column("reply_format")
