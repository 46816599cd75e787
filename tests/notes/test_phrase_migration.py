"""chart2_0001 on a database with 定型文 written before it (SQLite file): each phrase becomes version 1 of its own
lineage, recorded when it was last changed; one taken off the lists stays off (a retracted version); downgrading
keeps each phrase's current version and upgrading again gives the same. Then chart_0002 on 診療録テンプレート
written before it: each version is tied to the staff member whose login it named and shows their name (a login of
another clinic is left alone); downgrading names the login again, and upgrading again gives the same."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from tests.factories import make_clinic, make_user
from tests.notes.test_note_migration import database_before

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


def test_existing_phrases_become_first_versions_and_templates_name_their_author(tmp_path):
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
    _templates_name_their_author(config, engine, clinic_id)  # one database migrated once: chart_0002 comes soon
    engine.dispose()


def _templates_name_their_author(config, engine, clinic_id: int) -> None:
    with Session(engine) as session:
        admin = make_user(session, session.get(Clinic, clinic_id), role="admin", display_name="管理 花子")
        stranger = make_user(session, make_clinic(session), role="admin", display_name="他院 太郎")
        session.commit()
        admin_id, admin_login, stranger_login = admin.id, admin.login_id, stranger.login_id
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO note_template (id, clinic_id, lineage_id, version, owner_id, name, "
                          "department_name, purpose, body, recorded_at, recorded_by_name, superseded_at, retracted) "
                          "VALUES (:id, :clinic, 1, :id, NULL, '再診', '', '', '[]', '2026-12-01 01:00:00', :by, "
                          "NULL, 0)"),
                     [{"id": 1, "clinic": clinic_id, "by": admin_login},
                      {"id": 2, "clinic": clinic_id, "by": stranger_login}])
    command.upgrade(config, "chart_0002")
    query = text("SELECT id, recorded_by_id, recorded_by_name, change_reason FROM note_template ORDER BY id")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(query)]
    assert rows == [(1, admin_id, "管理 花子", ""), (2, None, stranger_login, "")]
    command.downgrade(config, ScriptDirectory.from_config(config).get_revision("chart_0002").down_revision)
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text("SELECT id, recorded_by_name FROM note_template ORDER BY id"))
                ] == [(1, admin_login), (2, stranger_login)]
    command.upgrade(config, "chart_0002")
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(query)] == rows
