"""Polling results: the results a clinic's lab holds are fetched, imported (stored raw first) and acknowledged to
the lab, on demand or periodically (a thread in the embedded default; production can run `flask lab poll` from a
long-running process, `flask lab poller`). Results the lab pushes need no polling; this catches the rest."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.clinics.models import Clinic
from app.core.loop import BackgroundLoop
from app.db import utcnow
from app.integrations.lab_center import LabCenterError
from app.labs.importer import import_message
from app.labs.lab_settings import client_for, is_connected
from app.labs.models import LabMessage
from app.outbox.services import DeliveryError

log = logging.getLogger(__name__)


def poll_results(session_factory: Any, clinic_id: int) -> tuple[int, int]:
    """Fetch the results the lab holds for a clinic, import each (stored raw first) and acknowledge it to the
    lab. Returns (imported, failed). A message we refused is acknowledged with AE/AR so the lab sees why."""
    with session_factory() as session:
        client = client_for(session.get(Clinic, clinic_id))
    imported = failed = 0
    for pending in client.fetch_results():
        with session_factory() as session:
            outcome = import_message(session, clinic_id, pending.data, source="poll", filename=f"lab:{pending.id}")
        client.acknowledge(pending.id, outcome.ack)
        if outcome.ok:
            imported += 1
        else:
            failed += 1
    return imported, failed


#: A message stored but still not imported after this long was stranded by an import that broke (the database
#: refused it, the process died): the next pass imports it from its stored raw copy.
STRANDED_AFTER = timedelta(minutes=2)


def import_stranded(session_factory: Any, clinic_id: int, now: datetime) -> int:
    """Import again, from their raw copies, the clinic's messages left `received` (none is lost when the import
    that stored it broke); how many were tried."""
    with session_factory() as session:
        stranded = session.execute(select(LabMessage.raw, LabMessage.filename, LabMessage.source).where(
            LabMessage.clinic_id == clinic_id, LabMessage.status == "received",
            LabMessage.received_at < now - STRANDED_AFTER).order_by(LabMessage.id)).all()
        for raw, filename, source in stranded:
            import_message(session, clinic_id, raw, source=source, filename=filename)
    return len(stranded)


def poll_all_clinics(session_factory: Any) -> None:
    """One polling pass over every clinic linked to a lab (errors are logged; the next pass tries again), after
    importing any message a broken import left stored but not imported."""
    with session_factory() as session:
        clinic_ids = [c.id for c in session.scalars(select(Clinic)) if is_connected(c)]
    for clinic_id in clinic_ids:
        import_stranded(session_factory, clinic_id, utcnow())
        try:
            poll_results(session_factory, clinic_id)
        except (LabCenterError, DeliveryError) as exc:
            log.warning("lab polling for clinic %s failed: %s", clinic_id, exc)


class LabPoller(BackgroundLoop):
    """Polls every `interval` seconds until stopped, the first pass after one interval; a failed pass is logged
    and the loop goes on."""

    thread_name = "lab-poller"
    what = "lab poll"
    wait_first = True

    def __init__(self, session_factory: Any, interval: float) -> None:
        super().__init__(interval)
        self.session_factory = session_factory

    def work(self) -> bool:
        """One pass over every linked clinic."""
        poll_all_clinics(self.session_factory)
        return False


def start_lab_poller(app: Any) -> LabPoller | None:
    """Start the poller of the embedded default unless polling is off."""
    interval = app.config["LAB_POLL_SECONDS"]
    if interval <= 0:
        return None
    poller = LabPoller(app.extensions["db_sessionmaker"], interval)
    poller.start_thread()
    app.extensions["lab_poller"] = poller
    return poller
