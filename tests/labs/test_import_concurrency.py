"""Two imports into one clinic at the same time (a lab re-sending a push whose first delivery is still importing,
a poll beside a file drop): they run one after the other, so a message is imported once and a correction finds the
final it replaces, on both databases."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from app.core.audit import Actor
from app.labs import importer
from app.labs import services as labs
from app.labs.models import LabItem, LabResult
from tests.labs.helpers import make_desk, panel_message

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py

PANEL = ["K0101", "K0102", "K0103"]


def _overlapping(app, monkeypatch, clinic_id: int, first: bytes, second: bytes) -> list[tuple[str, bool]]:
    """Import `first` and, once its raw message is stored (and while it has yet to read and write anything),
    `second` from another thread with a session of its own; each outcome's status and whether it was a duplicate,
    in that order."""
    stored = threading.Event()
    store_raw = importer._store_raw

    def store_then_dawdle(session, clinic_id, pending, source, clinic_code):
        store_raw(session, clinic_id, pending, source, clinic_code)
        if threading.current_thread().name == "first":
            stored.set()
            # Time for the second import to store, read and write its message if nothing held it back.
            threading.Event().wait(0.8)

    monkeypatch.setattr(importer, "_store_raw", store_then_dawdle)
    statuses: dict[str, tuple[str, bool]] = {}
    errors: list[BaseException] = []

    def run(name: str, data: bytes) -> None:
        session = app.extensions["db_sessionmaker"]()
        try:
            outcome = importer.import_message(session, clinic_id, data, source="push")
            statuses[name] = (outcome.status, outcome.duplicate)
        except BaseException as exc:  # noqa: BLE001 -- reported by the test thread below
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=run, args=("first", first), name="first")]
    threads[0].start()
    assert stored.wait(10)
    threads.append(threading.Thread(target=run, args=("second", second), name="second"))
    threads[1].start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return [statuses["first"], statuses["second"]]


@pytest.fixture
def ordered(session):
    desk = make_desk(session)
    actor = Actor(desk["doctor"].id, desk["doctor"].login_id, desk["clinic"].id)
    order = labs.create_order(session, desk["clinic"], actor, desk["patient"], labs.OrderInput(lab_codes=PANEL))
    session.commit()
    items = [session.get(LabItem, code) for code in PANEL]
    return desk, order, items


def test_a_push_resent_while_its_first_delivery_imports_is_imported_once(app, session, ordered, monkeypatch):
    desk, order, items = ordered
    message = panel_message(desk["patient"].orca_patient_id, order.specimens[0].specimen_number, items, "R0001",
                            date.today() - timedelta(days=1))

    statuses = _overlapping(app, monkeypatch, desk["clinic"].id, message, message)

    assert statuses == [("imported", False), ("imported", True)]  # the second: "imported before", ACK AA
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(LabResult)) == len(PANEL)


def test_a_correction_arriving_during_the_final_s_import_replaces_it(app, session, ordered, monkeypatch):
    desk, order, items = ordered
    number, day = order.specimens[0].specimen_number, date.today() - timedelta(days=1)
    final = panel_message(desk["patient"].orca_patient_id, number, items, "F0001", day)
    correction = panel_message(desk["patient"].orca_patient_id, number, items[:1], "C0001", day, value="99.9",
                               status="C")

    statuses = _overlapping(app, monkeypatch, desk["clinic"].id, final, correction)

    assert statuses == [("imported", False), ("imported", False)]
    session.expire_all()
    current = {r.lab_code: (r.value, r.version) for r in session.scalars(
        select(LabResult).where(LabResult.superseded_at.is_(None)))}
    assert current["K0101"] == ("99.9", 2)
    assert session.scalar(select(func.count()).select_from(LabResult)) == len(PANEL) + 1


def test_an_import_whose_lock_connection_breaks_still_reports_its_own_outcome(app, session, ordered, backend,
                                                                                 monkeypatch):
    """PostgreSQL: the lock's connection is killed during the import (a restarted pooler, an administrator): the
    import's outcome is still returned, and the next import takes the lock again."""
    if backend != "postgresql":
        pytest.skip("the SQLite lock is a file lock: no connection to lose")
    desk, order, items = ordered
    number, day = order.specimens[0].specimen_number, date.today() - timedelta(days=1)
    store_raw = importer._store_raw

    def store_then_kill_the_lock_holder(session, clinic_id, pending, source, clinic_code):
        store_raw(session, clinic_id, pending, source, clinic_code)
        holder = session.scalar(text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = :n "
                                     "AND objid = :k AND granted"), {"n": importer.IMPORT_LOCK, "k": clinic_id})
        session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})
        session.commit()

    monkeypatch.setattr(importer, "_store_raw", store_then_kill_the_lock_holder)
    first = importer.import_message(session, desk["clinic"].id,
                                    panel_message(desk["patient"].orca_patient_id, number, items, "F0001", day),
                                    source="push")
    assert (first.status, first.results) == ("imported", len(PANEL))
    monkeypatch.setattr(importer, "_store_raw", store_raw)
    correction = importer.import_message(session, desk["clinic"].id, panel_message(
        desk["patient"].orca_patient_id, number, items[:1], "C0001", day, value="99.9", status="C"), source="push")
    assert correction.status == "imported"
