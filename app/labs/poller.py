"""The periodic fetch of waiting results from each clinic's lab (a thread in the embedded default; production can
run `flask lab poll` from a timer instead). Results the lab pushes need no polling; this catches the rest."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

log = logging.getLogger(__name__)


def poll_interval() -> float:
    """Seconds between passes ($KAMIKARTE_LAB_POLL, default 300; 0 turns polling off)."""
    try:
        return float(os.environ.get("KAMIKARTE_LAB_POLL", "300"))
    except ValueError:
        return 300.0


class LabPoller:
    """Polls every `interval` seconds until stopped; a failed pass is logged and the loop goes on."""

    def __init__(self, session_factory: Any, interval: float) -> None:
        self.session_factory = session_factory
        self.interval = interval
        self._stop = threading.Event()
        self.passes = 0

    def run_once(self) -> None:
        """One pass over every linked clinic (never raises)."""
        from app.labs.delivery import poll_all_clinics

        try:
            poll_all_clinics(self.session_factory)
        except Exception:  # noqa: BLE001 — the poller must survive anything one pass meets
            log.exception("lab poll failed")
        self.passes += 1

    def run_forever(self) -> None:
        """Wait, pass, wait again, until stopped (the first pass after one interval: startup stays quick)."""
        while not self._stop.wait(self.interval):
            self.run_once()

    def start_thread(self) -> None:
        """Run in a daemon thread."""
        threading.Thread(target=self.run_forever, name="lab-poller", daemon=True).start()

    def stop(self) -> None:
        """Stop the loop."""
        self._stop.set()


def start_lab_poller(app: Any) -> LabPoller | None:
    """Start the poller of the embedded default unless polling is off."""
    interval = poll_interval()
    if interval <= 0:
        return None
    poller = LabPoller(app.extensions["db_sessionmaker"], interval)
    poller.start_thread()
    app.extensions["lab_poller"] = poller
    return poller
