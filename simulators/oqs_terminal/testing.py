"""Start the 資格確認端末 simulator on a free port in a thread, for tests (reached over real HTTP only)."""

from __future__ import annotations

from typing import Any

import requests

from simulators.oqs_terminal import DEMO_TOKENS, Handler, create_app
from simulators.testing import RunningSimulator, serve


class RunningTerminal(RunningSimulator):
    """The running relay: each clinic's base URL and token, the request files it has seen."""

    def base_url(self, institution_code: str) -> str:
        """The relay URL a clinic configures."""
        return f"{self.url}/clinic/{institution_code}"

    @staticmethod
    def token(institution_code: str) -> str:
        """The clinic's bearer token."""
        return DEMO_TOKENS[institution_code]

    def requests_seen(self) -> list[dict[str, Any]]:
        """Every request file handed over, oldest first."""
        return requests.get(f"{self.url}/_sim/requests", timeout=5).json()


def start_terminal_simulator(handlers: dict[str, Handler] | None = None) -> RunningTerminal:
    """Serve the simulator on 127.0.0.1:<free port> with the given 業務コード handlers."""
    return serve(create_app(handlers), RunningTerminal)
