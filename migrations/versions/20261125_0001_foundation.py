"""foundation: clinics, staff, auth, audit trail and access log (append-only), outbox, patients, visits

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 02:22:01.676386
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""

    op.create_table('clinic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('institution_code', sa.String(length=10), nullable=False),
    sa.Column('postal_code', sa.String(length=8), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('departments', sa.JSON(), nullable=False),
    sa.Column('is_full_chart_mode', sa.Boolean(), nullable=False),
    sa.Column('idle_lock_minutes', sa.Integer(), nullable=False),
    sa.Column('integrations', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic')),
    sa.UniqueConstraint('institution_code', name=op.f('uq_clinic_institution_code'))
    )
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_login', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=64), nullable=True),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_audit_entry_clinic_id_clinic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entry_clinic_chain', ['clinic_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_patient_id'), ['patient_id'], unique=False)

    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('idempotency_key', sa.String(length=80), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('subject_type', sa.String(length=64), nullable=True),
    sa.Column('subject_id', sa.String(length=64), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_outbox_message_clinic_id_clinic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_message_idempotency_key'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index('ix_outbox_subject', ['clinic_id', 'subject_type', 'subject_id'], unique=False)

    op.create_table('patient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('orca_patient_id', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kana', sa.String(length=100), nullable=False),
    sa.Column('name_key', sa.String(length=100), nullable=False),
    sa.Column('kana_key', sa.String(length=100), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('postal_code', sa.String(length=8), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('insurances', sa.JSON(), nullable=False),
    sa.Column('public_expenses', sa.JSON(), nullable=False),
    sa.Column('orca_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_patient_clinic_id_clinic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient')),
    sa.UniqueConstraint('clinic_id', 'orca_patient_id', name='uq_patient_clinic_orca')
    )
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.create_index('ix_patient_clinic_birth', ['clinic_id', 'birth_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index('ix_patient_clinic_kana_key', ['clinic_id', 'kana_key'], unique=False)
        batch_op.create_index('ix_patient_clinic_name_key', ['clinic_id', 'name_key'], unique=False)

    op.create_table('staff_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('login_id', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('display_kana', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('totp_secret', sa.String(length=64), nullable=True),
    sa.Column('totp_enrolled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('totp_last_step', sa.Integer(), nullable=False),
    sa.Column('totp_last_ip', sa.String(length=64), nullable=True),
    sa.Column('failed_login_count', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_epoch', sa.Integer(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_staff_user_clinic_id_clinic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_user')),
    sa.UniqueConstraint('login_id', name=op.f('uq_staff_user_login_id'))
    )
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_user_clinic_id'), ['clinic_id'], unique=False)

    op.create_table('sync_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('cursor', sa.String(length=100), nullable=True),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_sync_state_clinic_id_clinic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_state')),
    sa.UniqueConstraint('clinic_id', 'kind', name='uq_sync_state_kind')
    )
    with op.batch_alter_table('sync_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_state_clinic_id'), ['clinic_id'], unique=False)

    op.create_table('access_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('accessed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('resource', sa.String(length=255), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_access_log_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_access_log_user_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log'))
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_log_accessed_at'), ['accessed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_log_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_log_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_log_user_id'), ['user_id'], unique=False)

    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=255), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_recovery_code_user_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code'))
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)

    op.create_table('trusted_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_agent', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_trusted_device_user_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusted_device'))
    )
    with op.batch_alter_table('trusted_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trusted_device_token_hash'), ['token_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_trusted_device_user_id'), ['user_id'], unique=False)

    op.create_table('visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('visit_date', sa.Date(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('orca_acceptance_id', sa.String(length=20), nullable=True),
    sa.Column('department_code', sa.String(length=4), nullable=False),
    sa.Column('department_name', sa.String(length=40), nullable=False),
    sa.Column('physician_code', sa.String(length=20), nullable=False),
    sa.Column('physician_name', sa.String(length=60), nullable=False),
    sa.Column('insurance_summary', sa.String(length=120), nullable=False),
    sa.Column('insurance_combination', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_visit_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_visit_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit')),
    sa.UniqueConstraint('clinic_id', 'visit_date', 'orca_acceptance_id', name='uq_visit_orca_acceptance')
    )
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.create_index('ix_visit_clinic_date', ['clinic_id', 'visit_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_updated_at'), ['updated_at'], unique=False)



    _make_logs_append_only()


# The audit trail and the access log are append-only for everyone who reaches the database through the
# application (安全管理ガイドライン: prevent deletion and alteration of logs). An audit entry may be sealed once
# (its hash written right after insert); after that no UPDATE, and never a DELETE.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry WHEN OLD.entry_hash <> ''
       BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END""",
    """CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
       BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END""",
    """CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
       BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END""",
    """CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
       BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE FUNCTION kamikarte_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_entry' AND OLD.entry_hash = '' THEN
           RETURN NEW;
         END IF;
         RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
       END $$""",
    """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
       FOR EACH ROW EXECUTE FUNCTION kamikarte_refuse_change()""",
    """CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
       FOR EACH ROW EXECUTE FUNCTION kamikarte_refuse_change()""",
    """CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
       FOR EACH ROW EXECUTE FUNCTION kamikarte_refuse_change()""",
    """CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
       FOR EACH ROW EXECUTE FUNCTION kamikarte_refuse_change()""",
]


def _make_logs_append_only() -> None:
    statements = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRES_TRIGGERS
    for statement in statements:
        op.execute(statement)



def downgrade() -> None:
    """Revert."""
    if op.get_bind().dialect.name == "postgresql":
        for table in ("audit_entry", "access_log"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table}")
        op.execute("DROP FUNCTION IF EXISTS kamikarte_refuse_change()")

    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_updated_at'))
        batch_op.drop_index(batch_op.f('ix_visit_patient_id'))
        batch_op.drop_index(batch_op.f('ix_visit_clinic_id'))
        batch_op.drop_index('ix_visit_clinic_date')

    op.drop_table('visit')
    with op.batch_alter_table('trusted_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trusted_device_user_id'))
        batch_op.drop_index(batch_op.f('ix_trusted_device_token_hash'))

    op.drop_table('trusted_device')
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))

    op.drop_table('recovery_code')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_log_user_id'))
        batch_op.drop_index(batch_op.f('ix_access_log_patient_id'))
        batch_op.drop_index(batch_op.f('ix_access_log_clinic_id'))
        batch_op.drop_index(batch_op.f('ix_access_log_accessed_at'))

    op.drop_table('access_log')
    with op.batch_alter_table('sync_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_state_clinic_id'))

    op.drop_table('sync_state')
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_user_clinic_id'))

    op.drop_table('staff_user')
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_clinic_name_key')
        batch_op.drop_index('ix_patient_clinic_kana_key')
        batch_op.drop_index(batch_op.f('ix_patient_clinic_id'))
        batch_op.drop_index('ix_patient_clinic_birth')

    op.drop_table('patient')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_subject')
        batch_op.drop_index(batch_op.f('ix_outbox_message_clinic_id'))
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox_message')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_patient_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_clinic_id'))
        batch_op.drop_index('ix_audit_entry_clinic_chain')

    op.drop_table('audit_entry')
    op.drop_table('clinic')

