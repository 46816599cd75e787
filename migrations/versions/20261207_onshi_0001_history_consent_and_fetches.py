"""オンライン資格確認 history: the card-reader consent per kind, and each history file fetched (kept as received).

Revision ID: onshi_0001
Revises: rxsafety_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'onshi_0001'
down_revision = 'rxsafety_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table('onshi_consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('flag', sa.String(length=1), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('available_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_onshi_consent_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_onshi_consent_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onshi_consent'))
    )
    with op.batch_alter_table('onshi_consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_onshi_consent_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index('ix_onshi_consent_patient', ['clinic_id', 'patient_id', 'kind', 'recorded_at'],
                              unique=False)

    op.create_table('onshi_fetch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('business_code', sa.String(length=12), nullable=False),
    sa.Column('request_id', sa.String(length=40), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=True),
    sa.Column('period_to', sa.Date(), nullable=True),
    sa.Column('with_diagnosis', sa.Boolean(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_name', sa.String(length=100), nullable=False),
    sa.Column('request_body', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reply_name', sa.String(length=120), nullable=False),
    sa.Column('reply_body', sa.LargeBinary(), nullable=True),
    sa.Column('reply_sha256', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('content', sa.JSON(), nullable=True),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_onshi_fetch_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_onshi_fetch_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onshi_fetch'))
    )
    with op.batch_alter_table('onshi_fetch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_onshi_fetch_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index('ix_onshi_fetch_patient', ['clinic_id', 'patient_id', 'kind', 'requested_at'],
                              unique=False)
        batch_op.create_index('ix_onshi_fetch_request', ['clinic_id', 'request_id'], unique=True)



def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table('onshi_fetch', schema=None) as batch_op:
        batch_op.drop_index('ix_onshi_fetch_request')
        batch_op.drop_index('ix_onshi_fetch_patient')
        batch_op.drop_index(batch_op.f('ix_onshi_fetch_clinic_id'))

    op.drop_table('onshi_fetch')
    with op.batch_alter_table('onshi_consent', schema=None) as batch_op:
        batch_op.drop_index('ix_onshi_consent_patient')
        batch_op.drop_index(batch_op.f('ix_onshi_consent_clinic_id'))

    op.drop_table('onshi_consent')
