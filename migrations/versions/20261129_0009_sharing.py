"""sharing: consent to and registrations with the 電子カルテ情報共有サービス; referral letters (診療情報提供書).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The consent and registration state of the 電子カルテ情報共有サービス, and referral letters."""
    op.create_table('referral_letter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author_name', sa.String(length=100), nullable=False),
    sa.Column('to_institution', sa.String(length=200), nullable=False),
    sa.Column('to_institution_code', sa.String(length=10), nullable=False),
    sa.Column('to_department', sa.String(length=100), nullable=False),
    sa.Column('to_doctor', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('diagnoses', sa.Text(), nullable=False),
    sa.Column('history', sa.Text(), nullable=False),
    sa.Column('course', sa.Text(), nullable=False),
    sa.Column('medicines', sa.Text(), nullable=False),
    sa.Column('lab_results', sa.Text(), nullable=False),
    sa.Column('allergies', sa.Text(), nullable=False),
    sa.Column('images', sa.Text(), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=False),
    sa.Column('written_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('printed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('share_status', sa.String(length=12), nullable=False),
    sa.Column('share_error', sa.Text(), nullable=False),
    sa.Column('shared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('document_id', sa.String(length=120), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['staff_user.id'], name=op.f('fk_referral_letter_author_id_staff_user')),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_referral_letter_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_referral_letter_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_letter'))
    )
    with op.batch_alter_table('referral_letter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_letter_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index('ix_referral_letter_patient', ['clinic_id', 'patient_id', 'written_on'], unique=False)

    op.create_table('sharing_consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('given_on', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_name', sa.String(length=100), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_sharing_consent_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_sharing_consent_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_consent'))
    )
    with op.batch_alter_table('sharing_consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_consent_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index('ix_sharing_consent_patient', ['clinic_id', 'patient_id', 'recorded_at'], unique=False)

    op.create_table('sharing_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_sharing_registration_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_sharing_registration_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_registration'))
    )
    with op.batch_alter_table('sharing_registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_registration_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index('ix_sharing_registration_patient', ['clinic_id', 'patient_id'], unique=False)
        batch_op.create_index('ix_sharing_registration_subject', ['clinic_id', 'subject_type', 'subject_id'], unique=False)



def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table('sharing_registration', schema=None) as batch_op:
        batch_op.drop_index('ix_sharing_registration_subject')
        batch_op.drop_index('ix_sharing_registration_patient')
        batch_op.drop_index(batch_op.f('ix_sharing_registration_clinic_id'))

    op.drop_table('sharing_registration')
    with op.batch_alter_table('sharing_consent', schema=None) as batch_op:
        batch_op.drop_index('ix_sharing_consent_patient')
        batch_op.drop_index(batch_op.f('ix_sharing_consent_clinic_id'))

    op.drop_table('sharing_consent')
    with op.batch_alter_table('referral_letter', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_letter_patient')
        batch_op.drop_index(batch_op.f('ix_referral_letter_clinic_id'))

    op.drop_table('referral_letter')
