"""The outbox worker: a thread of the app (embedded default) or its own process (production)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from app.core.loop import BackgroundLoop
from app.outbox.services import run_once


class OutboxWorker(BackgroundLoop):
    """Delivers due messages until stopped; waits `poll_seconds` only when a pass found nothing to do."""

    thread_name = "outbox-worker"
    what = "outbox pass"

    def __init__(self, session_factory: Callable[[], Session], poll_seconds: float, base_delay: float) -> None:
        super().__init__(poll_seconds)
        self.session_factory = session_factory
        self.base_delay = base_delay

    def work(self) -> bool:
        """One pass: what is due now; True when it delivered or failed something (more may be waiting)."""
        result = run_once(self.session_factory, self.base_delay)
        return result.delivered + result.failed > 0


def wait_until_idle(session_factory: Callable[[], Session], base_delay: float, timeout: float = 10.0) -> None:
    """Deliver every due message now (used by tests and the CLI's --once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = run_once(session_factory, base_delay)
        if result.delivered + result.failed == 0:
            return
