"""Start the 電子処方箋 simulator on a free port in a thread, for tests (reached over real HTTP only)."""

from __future__ import annotations

from typing import Any

import requests

from simulators.eprescription import DEMO_TOKENS, create_app
from simulators.testing import RunningSimulator, serve


class RunningEPrescription(RunningSimulator):
    """The running simulator: each clinic's base URL and token, what it holds."""

    def base_url(self, institution_code: str) -> str:
        """The base URL a clinic configures."""
        return f"{self.url}/clinic/{institution_code}"

    @staticmethod
    def token(institution_code: str) -> str:
        """The clinic's bearer token."""
        return DEMO_TOKENS[institution_code]

    def prescriptions(self) -> dict[str, Any]:
        """What the service holds."""
        return requests.get(f"{self.url}/_sim/prescriptions", timeout=5).json()


def start_eprescription_simulator() -> RunningEPrescription:
    """Serve the simulator on 127.0.0.1:<free port>."""
    return serve(create_app(), RunningEPrescription)
