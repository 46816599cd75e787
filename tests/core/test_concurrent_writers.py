"""Several processes writing one database (the demo: gunicorn workers, the outbox worker and the pollers on one
SQLite file) wait for each other instead of failing with "database is locked". SQLite lets a transaction that has
read turn into a writer only if nobody wrote since it began — else it fails at once, whatever the busy timeout —
so a write transaction must take the write lock when it begins: a savepoint opened with no transaction (the lab
import's, each group of messages) begins one IMMEDIATE. Run with separate engines, as separate processes are."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import SYSTEM, record_audit
from app.core.models import AuditEntry
from app.db import make_engine
from tests.factories import make_clinic
from tests.helpers import run_at_once

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


def test_a_savepoint_transaction_that_reads_then_writes_waits_for_another_writer(database_url, session):
    clinic_id = make_clinic(session).id
    session.commit()
    engines = [make_engine(database_url), make_engine(database_url)]
    reading, errors = threading.Event(), []

    def importer() -> None:  # the lab import's shape: a savepoint at the start, reads, then the write
        with Session(engines[0]) as db:
            try:
                with db.begin_nested():
                    db.scalar(select(func.count()).select_from(Clinic))
                    reading.set()
                    time.sleep(0.5)  # meanwhile another process writes
                    record_audit(db, SYSTEM, "lab.results_imported", clinic_id=clinic_id)
                db.commit()
            except Exception as exc:  # noqa: BLE001 — the failure is what the test reports
                errors.append(exc)
                reading.set()

    def other_writer() -> None:  # a web worker logging a look, the outbox worker, the poller
        reading.wait(10)
        with Session(engines[1]) as db:
            record_audit(db, SYSTEM, "reception.synced", clinic_id=clinic_id)
            db.commit()

    run_at_once(importer, other_writer)
    for engine in engines:
        engine.dispose()
    assert errors == []
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.clinic_id == clinic_id)).all()
    assert sorted(actions) == ["lab.results_imported", "reception.synced"]
