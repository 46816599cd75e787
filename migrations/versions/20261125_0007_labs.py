"""labs: lab-item master and sets, lab orders with specimens, incoming result messages, versioned results.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table('lab_item',
    sa.Column('lab_code', sa.String(length=16), nullable=False),
    sa.Column('jlac10', sa.String(length=17), nullable=False),
    sa.Column('jlac11', sa.String(length=17), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('short_name', sa.String(length=30), nullable=False),
    sa.Column('kana', sa.String(length=100), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('kana_key', sa.String(length=200), nullable=False),
    sa.Column('specimen', sa.String(length=40), nullable=False),
    sa.Column('specimen_code', sa.String(length=3), nullable=False),
    sa.Column('container', sa.String(length=60), nullable=False),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('unit_ascii', sa.String(length=30), nullable=False),
    sa.Column('value_type', sa.String(length=2), nullable=False),
    sa.Column('ref_male', sa.String(length=40), nullable=False),
    sa.Column('ref_female', sa.String(length=40), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('lab_code', name=op.f('pk_lab_item'))
    )
    with op.batch_alter_table('lab_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_item_jlac10'), ['jlac10'], unique=False)
        batch_op.create_index('ix_lab_item_kana_key', ['kana_key'], unique=False, postgresql_ops={'kana_key': 'varchar_pattern_ops'})
        batch_op.create_index('ix_lab_item_name_key', ['name_key'], unique=False, postgresql_ops={'name_key': 'varchar_pattern_ops'})

    op.create_table('lab_set',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kana', sa.String(length=100), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('kana_key', sa.String(length=200), nullable=False),
    sa.Column('lab_codes', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_lab_set'))
    )
    op.create_table('lab_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('codec', sa.String(length=20), nullable=False),
    sa.Column('message_type', sa.String(length=20), nullable=False),
    sa.Column('control_key', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('result_count', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_lab_message_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_lab_message_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_message')),
    sa.UniqueConstraint('clinic_id', 'sha256', name='uq_lab_message_sha256')
    )
    with op.batch_alter_table('lab_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_message_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_message_control_key'), ['control_key'], unique=False)
        batch_op.create_index('ix_lab_message_status', ['clinic_id', 'status'], unique=False)

    op.create_table('lab_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('order_number', sa.String(length=20), nullable=False),
    sa.Column('ordered_on', sa.Date(), nullable=False),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ordered_by_id', sa.Integer(), nullable=True),
    sa.Column('ordered_by_name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_detail', sa.String(length=500), nullable=False),
    sa.Column('message_control_id', sa.String(length=40), nullable=False),
    sa.Column('comment', sa.String(length=200), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_lab_order_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['ordered_by_id'], ['staff_user.id'], name=op.f('fk_lab_order_ordered_by_id_staff_user')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_lab_order_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_order')),
    sa.UniqueConstraint('clinic_id', 'order_number', name='uq_lab_order_number')
    )
    with op.batch_alter_table('lab_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_order_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index('ix_lab_order_patient', ['clinic_id', 'patient_id'], unique=False)

    op.create_table('lab_specimen',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('specimen_number', sa.String(length=20), nullable=False),
    sa.Column('specimen', sa.String(length=40), nullable=False),
    sa.Column('specimen_code', sa.String(length=3), nullable=False),
    sa.Column('container', sa.String(length=60), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_lab_specimen_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['order_id'], ['lab_order.id'], name=op.f('fk_lab_specimen_order_id_lab_order')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_lab_specimen_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_specimen')),
    sa.UniqueConstraint('clinic_id', 'specimen_number', name='uq_lab_specimen_number')
    )
    with op.batch_alter_table('lab_specimen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_specimen_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_specimen_order_id'), ['order_id'], unique=False)

    op.create_table('lab_result',
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('specimen_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('specimen_number', sa.String(length=20), nullable=False),
    sa.Column('lab_code', sa.String(length=16), nullable=False),
    sa.Column('jlac10', sa.String(length=17), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sub_id', sa.String(length=20), nullable=False),
    sa.Column('value_type', sa.String(length=3), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('numeric_value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('reference_range', sa.String(length=60), nullable=False),
    sa.Column('flag', sa.String(length=4), nullable=False),
    sa.Column('result_status', sa.String(length=1), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('collected_on', sa.Date(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('lineage_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=100), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retracted', sa.Boolean(), nullable=False),
    sa.Column('change_reason', sa.String(length=200), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_lab_result_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['message_id'], ['lab_message.id'], name=op.f('fk_lab_result_message_id_lab_message')),
    sa.ForeignKeyConstraint(['order_id'], ['lab_order.id'], name=op.f('fk_lab_result_order_id_lab_order')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_lab_result_patient_id_patient')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff_user.id'], name=op.f('fk_lab_result_recorded_by_id_staff_user')),
    sa.ForeignKeyConstraint(['specimen_id'], ['lab_specimen.id'], name=op.f('fk_lab_result_specimen_id_lab_specimen')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_result'))
    )
    with op.batch_alter_table('lab_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_result_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index('ix_lab_result_current', ['clinic_id', 'patient_id', 'superseded_at'], unique=False)
        batch_op.create_index('ix_lab_result_lineage', ['lineage_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_result_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_result_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_result_specimen_number'), ['specimen_number'], unique=False)



def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table('lab_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_result_specimen_number'))
        batch_op.drop_index(batch_op.f('ix_lab_result_order_id'))
        batch_op.drop_index(batch_op.f('ix_lab_result_message_id'))
        batch_op.drop_index('ix_lab_result_lineage')
        batch_op.drop_index('ix_lab_result_current')
        batch_op.drop_index(batch_op.f('ix_lab_result_clinic_id'))

    op.drop_table('lab_result')
    with op.batch_alter_table('lab_specimen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_specimen_order_id'))
        batch_op.drop_index(batch_op.f('ix_lab_specimen_clinic_id'))

    op.drop_table('lab_specimen')
    with op.batch_alter_table('lab_order', schema=None) as batch_op:
        batch_op.drop_index('ix_lab_order_patient')
        batch_op.drop_index(batch_op.f('ix_lab_order_clinic_id'))

    op.drop_table('lab_order')
    with op.batch_alter_table('lab_message', schema=None) as batch_op:
        batch_op.drop_index('ix_lab_message_status')
        batch_op.drop_index(batch_op.f('ix_lab_message_control_key'))
        batch_op.drop_index(batch_op.f('ix_lab_message_clinic_id'))

    op.drop_table('lab_message')
    op.drop_table('lab_set')
    with op.batch_alter_table('lab_item', schema=None) as batch_op:
        batch_op.drop_index('ix_lab_item_name_key', postgresql_ops={'name_key': 'varchar_pattern_ops'})
        batch_op.drop_index('ix_lab_item_kana_key', postgresql_ops={'kana_key': 'varchar_pattern_ops'})
        batch_op.drop_index(batch_op.f('ix_lab_item_jlac10'))

    op.drop_table('lab_item')
