"""Partner applications (OAuth2 client credentials): applications with their scopes and webhook settings, client
secrets and access tokens stored hashed, the per-minute request counters every process shares; the access log
names a partner application (user_id empty, partner_app_id and actor_login "app:<name>").

Revision ID: partners_0001
Revises: chartb_0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "partners_0001"
down_revision = "chartb_0001"
branch_labels = None
depends_on = None


#: SQLite's append-only guards of the access log (the foundation revision's): a batch rebuild of the table drops
#: them, so they are made again after it. PostgreSQL alters the table in place and keeps its triggers.
SQLITE_ACCESS_LOG_GUARDS = {
    "access_log_no_update": """CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
       BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END""",
    "access_log_no_delete": """CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
       BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END""",
}


def _guards(make: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, statement in SQLITE_ACCESS_LOG_GUARDS.items():
        if make and sqlite:
            op.execute(statement)
        elif not make:
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else " ON access_log"))


def _app_rows(name: str, *columns: sa.Column | sa.Constraint) -> None:
    """A table of rows belonging to one partner application: id, app_id (indexed) and `columns`."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(["app_id"], ["partner_app.id"], name=op.f(f"fk_{name}_app_id_partner_app")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index(op.f(f"ix_{name}_app_id"), name, ["app_id"])


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "partner_app",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("webhook_secret_sealed", sa.Text(), nullable=True),
        sa.Column("webhook_events", sa.JSON(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_partner_app_clinic_id_clinic")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_app")),
        sa.UniqueConstraint("client_id", name=op.f("uq_partner_app_client_id")),
    )
    op.create_index(op.f("ix_partner_app_clinic_id"), "partner_app", ["clinic_id"])
    _app_rows("partner_secret",
              sa.Column("secret_hash", sa.String(length=64), nullable=False),
              sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
              sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    _app_rows("partner_token",
              sa.Column("clinic_id", sa.Integer(), nullable=False),
              sa.Column("token_hash", sa.String(length=64), nullable=False),
              sa.Column("scopes", sa.JSON(), nullable=False),
              sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
              sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
              sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
              sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_partner_token_clinic_id_clinic")),
              sa.UniqueConstraint("token_hash", name=op.f("uq_partner_token_token_hash")))
    op.create_index("ix_partner_token_app_expiry", "partner_token", ["app_id", "expires_at"])
    op.create_table(
        "partner_rate_window",
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["partner_app.id"],
                                name=op.f("fk_partner_rate_window_app_id_partner_app")),
        sa.PrimaryKeyConstraint("app_id", "window", name=op.f("pk_partner_rate_window")),
    )
    with op.batch_alter_table("access_log") as batch:
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("partner_app_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("actor_login", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_access_log_partner_app_id"), ["partner_app_id"])
    _guards(make=True)


def downgrade() -> None:
    """Revert (entries written by partner applications go with their columns)."""
    _guards(make=False)
    op.execute("DELETE FROM access_log WHERE user_id IS NULL")
    with op.batch_alter_table("access_log") as batch:
        batch.drop_index(batch.f("ix_access_log_partner_app_id"))
        batch.drop_column("actor_login")
        batch.drop_column("partner_app_id")
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
    if op.get_bind().dialect.name == "sqlite":
        _guards(make=True)
    else:
        for name in SQLITE_ACCESS_LOG_GUARDS:  # the foundation's function, on PostgreSQL
            op.execute(f"CREATE TRIGGER {name} BEFORE {name.rsplit('_', 1)[1].upper()} ON access_log "
                       "FOR EACH ROW EXECUTE FUNCTION kamikarte_refuse_change()")
    op.drop_table("partner_rate_window")
    op.drop_index("ix_partner_token_app_expiry", table_name="partner_token")
    op.drop_index(op.f("ix_partner_token_app_id"), table_name="partner_token")
    op.drop_table("partner_token")
    op.drop_index(op.f("ix_partner_secret_app_id"), table_name="partner_secret")
    op.drop_table("partner_secret")
    op.drop_index(op.f("ix_partner_app_clinic_id"), table_name="partner_app")
    op.drop_table("partner_app")
