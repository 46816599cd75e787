"""The オンライン資格確認 history requests are looked up by what was asked for (XML or PDF) and by what came of it:
indexes that carry those columns, so that finding a patient's latest XML reply, PDFs or reply read whole does not
read every request row. On SQLite a row holds the reply file and its reading (about a megabyte for three years):
`reply_format`, added last, sat behind them and was reached only by reading through them, for every request the
patient ever made.

Revision ID: onshi_0001_indexes
Revises: billing_0002
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "onshi_0001_indexes"
down_revision = "billing_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The patient's requests of a kind by format and time asked (the latest XML, the PDFs), and by status and
    time received (the latest reply read whole; the abandoned ones to collect) — replacing the index by kind and
    time asked, which the first covers."""
    op.drop_index("ix_onshi_fetch_patient", table_name="onshi_fetch")
    op.create_index("ix_onshi_fetch_format", "onshi_fetch", ["clinic_id", "patient_id", "kind", "reply_format",
                                                             "requested_at"])
    op.create_index("ix_onshi_fetch_status", "onshi_fetch", ["clinic_id", "patient_id", "kind", "status",
                                                             "received_at"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_onshi_fetch_status", table_name="onshi_fetch")
    op.drop_index("ix_onshi_fetch_format", table_name="onshi_fetch")
    op.create_index("ix_onshi_fetch_patient", "onshi_fetch", ["clinic_id", "patient_id", "kind", "requested_at"])
