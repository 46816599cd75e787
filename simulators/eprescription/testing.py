"""Start the 資格確認端末 simulator with the 電子処方箋管理サービス behind it on a free port in a thread, for tests
(reached over real HTTP only)."""

from __future__ import annotations

from typing import Any

import requests

from simulators.eprescription import create_app
from simulators.oqs_terminal.testing import RunningTerminal
from simulators.testing import serve


class RunningEPrescription(RunningTerminal):
    """The running terminal and service: what the service holds, and a pharmacy's and a test CA's harness."""

    def prescriptions(self) -> dict[str, Any]:
        """What the service holds, by PrescriptionId."""
        return requests.get(f"{self.url}/_sim/eprescription/prescriptions", timeout=5).json()

    def trust(self, ca_pem: bytes) -> None:
        """Make the service trust a CA (the project's test CA)."""
        requests.post(f"{self.url}/_sim/eprescription/trust", data=ca_pem, timeout=5).raise_for_status()

    def add_history(self, **entry: Any) -> None:
        """Dispensing at another institution (patient = [insurer, symbol, number, branch], date YYYYMMDD …)."""
        self.harness("eprescription/history", entry)

    def pharmacy(self, access_code: str, state: str, name: str = "かみかるて薬局", code: str = "1349999999") -> None:
        """A pharmacy accepts (accepted), dispenses (dispensing) or finishes (dispensed) the prescription."""
        self.harness("eprescription/pharmacy", {"access_code": access_code, "state": state, "name": name,
                                                 "code": code})


def start_eprescription_simulator() -> RunningEPrescription:
    """Serve the terminal with the service's handlers on 127.0.0.1:<free port>."""
    return serve(create_app(), RunningEPrescription)
