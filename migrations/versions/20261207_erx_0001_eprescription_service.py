"""電子処方箋 as the service does it: the issue type (紙 / 紙＋引換番号 / 電子), the consent to the duplicate
check, refill uses, our request identifier, the pharmacy's state and dispensing result; the patient's choice of
電子 or 紙 at the card reader as ORCA passes it; a doctor's daily remote-signing authentication.

Revision ID: erx_0001
Revises: tableta_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "erx_0001"
down_revision = "tableta_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Widen prescription.mode; add the e-prescription columns and the patient's choice at the card reader."""
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prescription_issue_choice", sa.String(length=1), nullable=False,
                                      server_default=""))
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.alter_column("mode", existing_type=sa.String(length=12), type_=sa.String(length=16),
                              existing_nullable=False)
        batch_op.alter_column("eprescription_status", existing_type=sa.String(length=12),
                              type_=sa.String(length=16), existing_nullable=False)
        batch_op.add_column(sa.Column("consent", sa.String(length=8), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("refill_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("eprescription_request", sa.String(length=40), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("pharmacy_state", sa.String(length=12), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("pharmacy_name", sa.String(length=120), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("dispensed", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("state_checked_at", sa.DateTime(timezone=True), nullable=True))


    op.create_table(
        "remote_signing_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("authenticated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_remote_signing_session_clinic_id", "remote_signing_session", ["clinic_id"])
    op.create_index("ix_remote_signing_session_user", "remote_signing_session", ["clinic_id", "user_id", "day"])


def downgrade() -> None:
    """Revert."""
    op.drop_table("remote_signing_session")
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        for column in ("state_checked_at", "dispensed", "pharmacy_name", "pharmacy_state", "eprescription_request",
                       "refill_count", "consent"):
            batch_op.drop_column(column)
        batch_op.alter_column("mode", existing_type=sa.String(length=16), type_=sa.String(length=12),
                              existing_nullable=False)
        batch_op.alter_column("eprescription_status", existing_type=sa.String(length=16),
                              type_=sa.String(length=12), existing_nullable=False)
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("prescription_issue_choice")
