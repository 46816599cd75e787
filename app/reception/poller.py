"""Periodic pull of every clinic's reception list from ORCA (a thread in the embedded default)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from app.reception.orca_sync import sync_all_clinics

log = logging.getLogger(__name__)


class OrcaPoller:
    """Syncs every `interval` seconds until stopped; a failed pass is logged and the loop goes on."""

    def __init__(self, session_factory: Callable[[], Session], interval: float) -> None:
        self.session_factory = session_factory
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_forever(self) -> None:
        """Pull, wait, pull again."""
        while not self._stop.is_set():
            try:
                sync_all_clinics(self.session_factory)
            except Exception:  # noqa: BLE001 — the poller must survive anything one pass meets
                log.exception("ORCA poll failed")
            self._stop.wait(self.interval)

    def start_thread(self) -> None:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self.run_forever, name="orca-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop."""
        self._stop.set()
