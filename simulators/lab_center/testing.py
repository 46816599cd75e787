"""Start the lab simulator on a free port in a thread, for tests (reached over real HTTP only)."""

from __future__ import annotations

from typing import Any

import requests

from simulators.lab_center import DEMO_TOKENS, create_app
from simulators.testing import RunningSimulator, serve


class RunningLabCenter(RunningSimulator):
    """The running simulator: each clinic's base URL and token, its harness calls."""

    def base_url(self, institution_code: str) -> str:
        """The base URL a clinic configures."""
        return f"{self.url}/clinic/{institution_code}"

    @staticmethod
    def token(institution_code: str) -> str:
        """The clinic's bearer token."""
        return DEMO_TOKENS[institution_code]

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

    def cancelled(self) -> list[str]:
        """The orders cancelled with ORC-1 CA ("<clinic>:<order number>")."""
        return requests.get(f"{self.url}/_sim/cancelled", timeout=5).json()

    def received(self) -> list[dict[str, Any]]:
        """Every order message that reached the lab ({clinic, control, repeat}), in order."""
        return requests.get(f"{self.url}/_sim/received", timeout=5).json()

    def results(self) -> dict[str, Any]:
        """Every result message with its ACK state."""
        return requests.get(f"{self.url}/_sim/results", timeout=5).json()


def start_lab_simulator() -> RunningLabCenter:
    """Serve the simulator on 127.0.0.1:<free port> (results only when released)."""
    return serve(create_app(), RunningLabCenter)
