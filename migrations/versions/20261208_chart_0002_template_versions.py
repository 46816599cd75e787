"""Full-chart mode: a 診療録テンプレート version records who made it and why, as a 定型文's does (the columns of
app.core.versioning.RecordVersion it lacked: `recorded_by_id`, `change_reason`). The versions written before it
named their author by login; each is tied to that staff member and shows their name (the reason stays empty: it
was never asked for).

Revision ID: chart_0002
Revises: billing_0002
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "chart_0002"
down_revision = "billing_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add who (the staff member) and why to every template version; tie the earlier versions to their author."""
    with op.batch_alter_table("note_template", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("change_reason", sa.String(length=200), nullable=False, server_default=""))
        batch_op.create_foreign_key(batch_op.f("fk_note_template_recorded_by_id_staff_user"), "staff_user",
                                    ["recorded_by_id"], ["id"])
        batch_op.create_index("ix_note_template_lineage", ["lineage_id"], unique=False)
    template, staff = _tables()
    # A login is unique across the service; the clinic is matched too, so no version is tied to another clinic's.
    author = sa.and_(staff.c.login_id == template.c.recorded_by_name, staff.c.clinic_id == template.c.clinic_id)
    op.execute(template.update().where(sa.exists().where(author)).values(
        recorded_by_id=sa.select(staff.c.id).where(author).scalar_subquery(),
        recorded_by_name=sa.select(staff.c.display_name).where(author).scalar_subquery()))


def downgrade() -> None:
    """Drop who and why; each version names its author by login again, as the code before it wrote them."""
    template, staff = _tables()
    author = sa.and_(staff.c.id == template.c.recorded_by_id, staff.c.clinic_id == template.c.clinic_id)
    op.execute(template.update().where(sa.exists().where(author)).values(
        recorded_by_name=sa.select(staff.c.login_id).where(author).scalar_subquery()))
    with op.batch_alter_table("note_template", schema=None) as batch_op:
        batch_op.drop_index("ix_note_template_lineage")
        batch_op.drop_constraint(batch_op.f("fk_note_template_recorded_by_id_staff_user"), type_="foreignkey")
        batch_op.drop_column("change_reason")
        batch_op.drop_column("recorded_by_id")


def _tables() -> tuple[sa.TableClause, sa.TableClause]:
    template = sa.table("note_template", sa.column("clinic_id", sa.Integer()),
                        sa.column("recorded_by_id", sa.Integer()), sa.column("recorded_by_name", sa.String()))
    staff = sa.table("staff_user", sa.column("id", sa.Integer()), sa.column("clinic_id", sa.Integer()),
                     sa.column("login_id", sa.String()), sa.column("display_name", sa.String()))
    return template, staff
