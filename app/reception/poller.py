"""The periodic ORCA pass of every clinic (a thread in the embedded default): PUSH notifications first, the
reception list and patient master pulled when they announce a change, when PUSH is unusable, and as a safety net
(see orca_sync.sync_clinic)."""

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
        #: Passes completed (a test or a health check can see the loop is alive).
        self.passes = 0

    def run_once(self) -> bool:
        """One pass over every clinic; False when it broke (logged), never raises."""
        try:
            sync_all_clinics(self.session_factory)
        except Exception:  # noqa: BLE001 — the poller must survive anything one pass meets
            log.exception("ORCA poll failed")
            return False
        self.passes += 1
        return True

    def run_forever(self) -> None:
        """Pass, wait, pass again, until stopped."""
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)

    def start_thread(self) -> None:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self.run_forever, name="orca-poller", daemon=True)
        self._thread.start()

    def stop(self, wait: float = 0) -> None:
        """Stop the loop; with `wait`, give a pass under way that many seconds to finish."""
        self._stop.set()
        if wait and self._thread is not None:
            self._thread.join(timeout=wait)
