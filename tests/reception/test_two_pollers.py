"""The ORCA poller run by two processes at once (two servers each with the embedded poller, or a poller unit
started twice): a clinic's pass runs one at a time under a lock shared through the database, so each ORCA
reception is one visit, each status change is recorded once and neither pass fails on the other's rows."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from app.core.models import AuditEntry
from app.db import make_engine
from app.reception.models import SyncState, Visit
from app.reception.orca_sync import sync_all_clinics
from tests.helpers import run_at_once

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


def test_two_pollers_at_once_make_each_reception_one_visit(database_url, session, orca_clinic, caplog):
    clinic, _clerk = orca_clinic
    engines = [make_engine(database_url) for _ in range(3)]
    start = threading.Barrier(3)

    def poller(engine) -> None:
        start.wait(10)
        sync_all_clinics(sessionmaker(bind=engine, expire_on_commit=False))

    caplog.set_level(logging.WARNING)
    run_at_once(*(lambda engine=engine: poller(engine) for engine in engines))
    for engine in engines:
        engine.dispose()

    visits = session.execute(select(Visit.orca_acceptance_id, func.count()).where(Visit.clinic_id == clinic.id)
                             .group_by(Visit.orca_acceptance_id)).all()
    assert visits and all(count == 1 for _id, count in visits)
    state = session.scalar(select(SyncState).where(SyncState.clinic_id == clinic.id,
                                                   SyncState.kind == "orca.reception"))
    assert state.last_error is None and state.last_success_at is not None
    assert not [r for r in caplog.records if "broke" in r.getMessage() or "failed" in r.getMessage()]
    paid = session.scalars(select(AuditEntry.entity_id).where(AuditEntry.clinic_id == clinic.id,
                                                              AuditEntry.action == "visit.status")).all()
    assert len(paid) == len(set(paid))  # a visit ORCA reports paid is marked so once
