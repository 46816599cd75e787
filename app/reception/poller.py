"""The periodic ORCA pass of every clinic (a thread in the embedded default): PUSH notifications first, the
reception list and patient master pulled when they announce a change, when PUSH is unusable, and as a safety net
(see orca_sync.sync_clinic)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from app.core.loop import BackgroundLoop
from app.reception.orca_sync import sync_all_clinics


class OrcaPoller(BackgroundLoop):
    """Syncs every `interval` seconds until stopped; a failed pass is logged and the loop goes on."""

    thread_name = "orca-poller"
    what = "ORCA poll"

    def __init__(self, session_factory: Callable[[], Session], interval: float) -> None:
        super().__init__(interval)
        self.session_factory = session_factory

    def work(self) -> bool:
        """One pass over every clinic."""
        sync_all_clinics(self.session_factory)
        return False
