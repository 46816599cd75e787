"""The outbox worker: a thread of the app (embedded default) or its own process (production)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from app.outbox.services import run_once

log = logging.getLogger(__name__)


class OutboxWorker:
    """Polls for due messages and delivers them until stopped."""

    def __init__(self, session_factory: Callable[[], Session], poll_seconds: float, base_delay: float) -> None:
        self.session_factory = session_factory
        self.poll_seconds = poll_seconds
        self.base_delay = base_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_forever(self) -> None:
        """Deliver until stop() is called; a failing pass is logged and the loop goes on."""
        while not self._stop.is_set():
            try:
                result = run_once(self.session_factory, self.base_delay)
                busy = result.delivered + result.failed > 0
            except Exception:  # noqa: BLE001 — the worker must survive a database hiccup
                log.exception("outbox pass failed")
                busy = False
            if not busy:
                self._stop.wait(self.poll_seconds)

    def start_thread(self) -> None:
        """Run in a daemon thread of this process."""
        self._thread = threading.Thread(target=self.run_forever, name="outbox-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to end and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def wait_until_idle(session_factory: Callable[[], Session], base_delay: float, timeout: float = 10.0) -> None:
    """Deliver every due message now (used by tests and the CLI's --once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = run_once(session_factory, base_delay)
        if result.delivered + result.failed == 0:
            return
