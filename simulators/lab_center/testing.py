"""Start the lab simulator on a free port in a thread, for tests (reached over real HTTP only)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, make_server

from simulators.lab_center import DEMO_TOKENS, create_app


@dataclass
class RunningLabCenter:
    """A running simulator: its root URL, each clinic's base URL and token, the harness, stop()."""

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
        """Forget every order and result; no fault; no push target."""
        requests.post(f"{self.url}/_sim/reset", timeout=5).raise_for_status()

    def set_fault(self, mode: str, **options: Any) -> None:
        """Inject a fault (down, times=N)."""
        requests.post(f"{self.url}/_sim/faults", json={"mode": mode, **options}, timeout=5).raise_for_status()

    def set_push(self, institution_code: str, url: str, token: str) -> None:
        """Push results of a clinic to its endpoint."""
        requests.post(f"{self.url}/_sim/push", json={"clinic": institution_code, "url": url, "token": token},
                      timeout=5).raise_for_status()

    def release(self, order_number: str | None = None, kind: str = "normal", only_first: bool = False) -> list[str]:
        """Report results now (normal, abnormal, corrected, comment); the ids of the result messages."""
        response = requests.post(f"{self.url}/_sim/release", json={"order_number": order_number, "kind": kind,
                                                                    "only_first": only_first}, timeout=30)
        response.raise_for_status()
        return response.json()["results"]

    def orders(self) -> dict[str, Any]:
        """What the lab holds."""
        return requests.get(f"{self.url}/_sim/orders", timeout=5).json()

    def results(self) -> dict[str, Any]:
        """Every result message with its ACK state."""
        return requests.get(f"{self.url}/_sim/results", timeout=5).json()

    def stop(self) -> None:
        """Shut down and free the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_lab_simulator() -> RunningLabCenter:
    """Serve the simulator on 127.0.0.1:<free port> (results only when released)."""
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return RunningLabCenter(f"http://127.0.0.1:{server.server_port}", server, thread)
