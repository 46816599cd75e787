"""Patients' search keys follow the name rule of app.core.jp.name_search_key: 斉藤 and 斎藤 (and 齊藤, 齋藤) one
key, variation selectors dropped, compatibility ideographs unified.

Revision ID: tableta_0001
Revises: outage_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.jp import name_search_key

revision = "tableta_0001"
down_revision = "outage_0001"
branch_labels = None
depends_on = None

BATCH = 2000


def _recompute(key_of) -> None:
    """Rewrite every patient's name_key and kana_key that the rule changes, a batch of rows at a time."""
    bind = op.get_bind()
    patient = sa.table("patient", sa.column("id", sa.Integer), sa.column("name", sa.String),
                       sa.column("kana", sa.String), sa.column("name_key", sa.String),
                       sa.column("kana_key", sa.String))
    last = 0
    while True:
        rows = bind.execute(sa.select(patient.c.id, patient.c.name, patient.c.kana, patient.c.name_key,
                                      patient.c.kana_key).where(patient.c.id > last)
                            .order_by(patient.c.id).limit(BATCH)).all()
        if not rows:
            return
        for row in rows:
            name_key, kana_key = key_of(row.name or ""), key_of(row.kana or "")
            if (name_key, kana_key) != (row.name_key, row.kana_key):
                bind.execute(sa.update(patient).where(patient.c.id == row.id)
                             .values(name_key=name_key, kana_key=kana_key))
        last = rows[-1].id


def upgrade() -> None:
    """Recompute the keys with the name rule (the rule of the code this revision ships with)."""
    _recompute(name_search_key)


def downgrade() -> None:
    """Keys stay as recomputed: the older code then finds a 斉藤 by 斎藤 only (the older rule is not kept)."""
