"""Start the 電子処方箋 simulator on a free port in a thread, for tests (reached over real HTTP only)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, make_server

from simulators.eprescription import DEMO_TOKENS, create_app


@dataclass
class RunningEPrescription:
    """A running simulator: its root URL, each clinic's base URL and token, stop()."""

    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def base_url(self, institution_code: str) -> str:
        """The base URL a clinic configures."""
        return f"{self.url}/clinic/{institution_code}"

    @staticmethod
    def token(institution_code: str) -> str:
        """The clinic's bearer token."""
        return DEMO_TOKENS[institution_code]

    def reset(self) -> None:
        """Forget every prescription; no fault."""
        requests.post(f"{self.url}/_sim/reset", timeout=5).raise_for_status()

    def set_fault(self, mode: str, **options: Any) -> None:
        """Inject a fault (down, times=N)."""
        requests.post(f"{self.url}/_sim/faults", json={"mode": mode, **options}, timeout=5).raise_for_status()

    def prescriptions(self) -> dict[str, Any]:
        """What the service holds."""
        return requests.get(f"{self.url}/_sim/prescriptions", timeout=5).json()

    def stop(self) -> None:
        """Shut down and free the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_eprescription_simulator() -> RunningEPrescription:
    """Serve the simulator on 127.0.0.1:<free port>."""
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return RunningEPrescription(f"http://127.0.0.1:{server.server_port}", server, thread)
