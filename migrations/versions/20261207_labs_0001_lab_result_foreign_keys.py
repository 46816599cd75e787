"""Lab results' message and order keys are plain foreign keys on PostgreSQL again (as on SQLite), and lab messages
have plain indexes again.

Migration 0016 replaced the two composite foreign keys of lab_result with statement-level triggers, only to make
a bulk import faster. The import now inserts a message's results with a plain INSERT, and with the declared keys
it stays well above what a clinic's daily drop needs, so the database enforces the rule the ordinary way again:
a result's (message, clinic, patient) and (order, clinic, patient) must exist.

Migration 0017's partial indexes of lab_message (over failed and over imported messages) serve only a query that
states the status literally: with the status bound as a parameter, as SQLAlchemy sends it, SQLite cannot use them
(the import then read every stored message to find a control id). Plain (clinic_id, control_key) and
(clinic_id, status) indexes serve the same lookups however they are written.

Revision ID: labs_0001
Revises: banner_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "labs_0001"
down_revision = "banner_0001"
branch_labels = None
depends_on = None

#: (constraint, referenced table, result column referring to its id)
KEYS = [("fk_lab_result_message", "lab_message", "message_id"), ("fk_lab_result_order", "lab_order", "order_id")]


def upgrade() -> None:
    """Apply."""
    op.create_index("ix_lab_message_control_key", "lab_message", ["clinic_id", "control_key"], unique=False)
    op.create_index("ix_lab_message_status", "lab_message", ["clinic_id", "status"], unique=False)
    op.drop_index("ix_lab_message_imported_control", table_name="lab_message")
    op.drop_index("ix_lab_message_failed", table_name="lab_message")
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite kept the declared keys
    for _constraint, parent, _column in KEYS:
        op.execute(f"DROP TRIGGER {parent}_results_guard_update ON {parent}")
        op.execute(f"DROP TRIGGER {parent}_results_guard_delete ON {parent}")
        op.execute(f"DROP FUNCTION {parent}_results_guard()")
    op.execute("DROP TRIGGER lab_result_check_keys_update ON lab_result")
    op.execute("DROP TRIGGER lab_result_check_keys_insert ON lab_result")
    op.execute("DROP FUNCTION lab_result_check_keys()")
    for constraint, parent, column in KEYS:
        op.create_foreign_key(constraint, "lab_result", parent, [column, "clinic_id", "patient_id"],
                              ["id", "clinic_id", "patient_id"])


def downgrade() -> None:
    """Revert: 0017's partial indexes, and 0016's triggers (its upgrade drops the declared keys and creates them)."""
    failed, imported = sa.text("status = 'failed'"), sa.text("status = 'imported'")
    op.create_index("ix_lab_message_failed", "lab_message", ["clinic_id", "id"], unique=False,
                    postgresql_where=failed, sqlite_where=failed)
    op.create_index("ix_lab_message_imported_control", "lab_message", ["clinic_id", "control_key"], unique=False,
                    postgresql_where=imported, sqlite_where=imported)
    op.drop_index("ix_lab_message_status", table_name="lab_message")
    op.drop_index("ix_lab_message_control_key", table_name="lab_message")
    if op.get_bind().dialect.name != "postgresql":
        return
    spec = spec_from_file_location("lab_result_key_checks", Path(__file__).with_name(
        "20261130_0016_lab_result_key_checks.py"))
    module = module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module.upgrade()
