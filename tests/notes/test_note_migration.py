"""charta_0001 on a database with notes written before it (SQLite file): each day's note is tied to that day's
first visit of the patient that was not cancelled, with its department, doctor and insurance; a note of a day
without a visit becomes a note without a reception; downgrading and upgrading again keeps the notes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from app.cli import alembic_config
from app.reception.models import Visit
from tests.factories import make_clinic, make_patient

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


def database_before(tmp_path, revision: str) -> tuple[Config, str, Engine]:
    """A SQLite file migrated to the revision before `revision` (whatever it is after merges: the models a test
    writes with must match the schema there): its Alembic config, that revision and an engine on it."""
    url = f"sqlite:///{tmp_path / 'before.db'}"
    config = alembic_config(url)
    before = ScriptDirectory.from_config(config).get_revision(revision).down_revision
    command.upgrade(config, before)
    return config, before, create_engine(url)


def test_existing_notes_are_tied_to_their_days_visit(tmp_path):
    config, before, engine = database_before(tmp_path, "charta_0001")
    with Session(engine) as session:  # clinic, patient and visit are unchanged by the revision: the models do
        clinic = make_clinic(session, is_full_chart_mode=True)
        patient = make_patient(session, clinic)
        session.flush()
        for minutes, department, doctor, insurance, status in (
                (10, "皮膚科", "皮膚", "国保", "cancelled"), (20, "内科", "内科 一郎", "協会けんぽ 3割", "examined"),
                (30, "小児科", "小児", "国保", "examined")):
            session.add(Visit(clinic_id=clinic.id, patient_id=patient.id, visit_date=date(2026, 12, 1),
                              accepted_at=datetime(2026, 12, 1, 0, minutes, tzinfo=UTC), department_name=department,
                              physician_name=doctor, insurance_summary=insurance, status=status))
        session.commit()
        ids = {"clinic": clinic.id, "patient": patient.id}
        internal = session.scalar(select(Visit.id).where(Visit.department_name == "内科"))
    with engine.begin() as conn:
        note = ("INSERT INTO progress_note (id, clinic_id, patient_id, lineage_id, version, note_date, subjective, "
                "objective, assessment, plan, key_image_ids, recorded_at, recorded_by_name, retracted, "
                "change_reason) VALUES (:id, :clinic, :patient, :id, 1, :day, 's', '', '', '', '[]', "
                "'2026-12-01 01:00:00', 'x', 0, '')")
        conn.execute(text(note), [{"id": 1, "day": "2026-12-01", **ids}, {"id": 2, "day": "2026-11-20", **ids}])
    command.upgrade(config, "charta_0001")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, visit_id, encounter_kind, department_name, doctor_name, "
                                 "insurance_summary FROM progress_note ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(1, internal, "visit", "内科", "内科 一郎", "協会けんぽ 3割"),
                                        (2, None, "other", "", "", "")]
    command.downgrade(config, before)
    command.upgrade(config, "charta_0001")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM progress_note WHERE visit_id IS NOT NULL")).scalar() == 1
    engine.dispose()
