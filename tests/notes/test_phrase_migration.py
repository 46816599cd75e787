"""chart2_0001 on a database with 定型文 written before it (SQLite file): each phrase becomes version 1 of its own
lineage, recorded when it was last changed; one taken off the lists stays off (a retracted version); downgrading
keeps each phrase's current version and upgrading again gives the same."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories import make_clinic
from tests.notes.test_note_migration import database_before

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


def test_existing_phrases_become_first_versions(tmp_path):
    config, before, engine = database_before(tmp_path, "chart2_0001")
    with Session(engine) as session:
        clinic_id = make_clinic(session, is_full_chart_mode=True).id
        session.commit()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO note_phrase (id, clinic_id, owner_id, title, kana, kana_key, text, part, "
                          "active, updated_at) VALUES (:id, :clinic, NULL, :title, 'けいか', 'ケイカ', 'x', '', "
                          ":active, '2026-12-01 01:00:00')"),
                     [{"id": 7, "clinic": clinic_id, "title": "経過観察", "active": True},
                      {"id": 8, "clinic": clinic_id, "title": "使わない", "active": False}])
    command.upgrade(config, "chart2_0001")
    query = text("SELECT id, lineage_id, version, retracted, superseded_at, recorded_at FROM note_phrase ORDER BY id")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(query)]
    assert [r[:5] for r in rows] == [(7, 7, 1, 0, None), (8, 8, 1, 1, None)]
    assert all(str(r[5]).startswith("2026-12-01 01:00:00") for r in rows)
    command.downgrade(config, before)
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text("SELECT id, active FROM note_phrase ORDER BY id"))] == [
            (7, 1), (8, 0)]
    command.upgrade(config, "chart2_0001")
    with engine.connect() as conn:
        assert [tuple(r)[:5] for r in conn.execute(query)] == [r[:5] for r in rows]
    engine.dispose()
