"""Start the ORCA simulator on a free port in a thread (tests reach it over real HTTP)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date

import requests
from werkzeug.serving import make_server

from simulators.orca import create_app


@dataclass
class RunningOrca:
    """A running simulator: root URL, per-clinic base URLs, the harness calls, stop()."""

    root: str
    server: object
    thread: threading.Thread

    def base_url(self, institution_code: str) -> str:
        """The base URL a clinic configures (ends in /api, as on WebORCA)."""
        return f"{self.root}/clinic/{institution_code}/api"

    def set_fault(self, mode: str, **options: object) -> None:
        """Inject a fault: down, slow, malformed, error_code."""
        requests.post(f"{self.root}/_sim/faults", json={"mode": mode, **options}, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        """Back to normal."""
        requests.post(f"{self.root}/_sim/faults", json={}, timeout=5).raise_for_status()

    def reset(self) -> None:
        """Fresh data, no faults."""
        requests.post(f"{self.root}/_sim/reset", timeout=5).raise_for_status()

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()  # type: ignore[attr-defined]


def start_orca_simulator(today: date | None = None) -> RunningOrca:
    """Serve the simulator on 127.0.0.1:<free port> in a daemon thread."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, create_app(today=today), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return RunningOrca(f"http://127.0.0.1:{server.server_port}", server, thread)
