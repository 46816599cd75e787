"""The one loop of the background workers (outbox worker, ORCA poller, lab poller): a pass repeated every
`interval` seconds in a daemon thread (or in the foreground of a CLI process) until stopped; a pass that raises is
logged and the loop goes on."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class BackgroundLoop:
    """Subclasses say what one pass does (`work`), the thread's name and, in the log, what failed."""

    thread_name = "background-loop"
    #: What a failed pass is called in the log ("ORCA poll" → "ORCA poll failed").
    what = "background pass"
    #: Wait one interval before the first pass (start-up stays quick).
    wait_first = False

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Passes completed (a test or a health check can see the loop is alive).
        self.passes = 0
        #: Whether the last pass left work waiting: the loop then goes on without waiting.
        self.busy = False

    def work(self) -> bool:
        """One pass; True when more is waiting now."""
        raise NotImplementedError

    def run_once(self) -> bool:
        """One pass; False when it broke (logged), never raises."""
        try:
            self.busy = bool(self.work())
        except Exception:  # noqa: BLE001 — the loop must survive anything one pass meets
            log.exception("%s failed", self.what)
            self.busy = False
            return False
        self.passes += 1
        return True

    def run_forever(self) -> None:
        """Pass, wait (unless work is waiting), pass again, until stopped."""
        if self.wait_first:
            self._stop.wait(self.interval)
        while not self._stop.is_set():
            self.run_once()
            if not self.busy:
                self._stop.wait(self.interval)

    def start_thread(self) -> None:
        """Run in a daemon thread of this process."""
        self._thread = threading.Thread(target=self.run_forever, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, wait: float = 0) -> None:
        """Stop the loop; with `wait`, give a pass under way that many seconds to finish."""
        self._stop.set()
        if wait and self._thread is not None:
            self._thread.join(timeout=wait)
