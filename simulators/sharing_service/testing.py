"""Start the 電子カルテ情報共有サービス simulator on a free port in a thread, for tests (real HTTP only)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, make_server

from simulators.sharing_service import DEMO_TOKENS, create_app


@dataclass
class RunningSharingService:
    """A running simulator: its root URL, each clinic's base URL and token, harness calls, stop()."""

    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def base_url(self, institution_code: str) -> str:
        """The base URL a clinic configures."""
        return f"{self.url}/clinic/{institution_code}/fhir"

    @staticmethod
    def token(institution_code: str) -> str:
        """The clinic's bearer token."""
        return DEMO_TOKENS[institution_code]

    def reset(self) -> None:
        """Forget everything; no fault."""
        requests.post(f"{self.url}/_sim/reset", timeout=5).raise_for_status()

    def set_fault(self, mode: str, **options: Any) -> None:
        """Inject a fault: down (503) or slow (sleep `seconds`), for `times` requests."""
        requests.post(f"{self.url}/_sim/faults", json={"mode": mode, "times": 1, **options},
                      timeout=5).raise_for_status()

    def seed_patient(self, member_id: str, **body: Any) -> None:
        """Consent (consent_until), other institutions' data (other_institutions=True), checkups=[kinds]."""
        requests.post(f"{self.url}/_sim/patients", json={"member_id": member_id, **body},
                      timeout=5).raise_for_status()

    def seed_document(self, bundle: dict[str, Any], sender: str, recipient: str) -> str:
        """A document another institution sent to `recipient`; its id."""
        response = requests.post(f"{self.url}/_sim/documents", json={"bundle": bundle, "sender": sender,
                                                                     "recipient": recipient}, timeout=5)
        response.raise_for_status()
        return response.json()["id"]

    def registered(self) -> dict[str, Any]:
        """What the service holds."""
        return requests.get(f"{self.url}/_sim/registered", timeout=5).json()

    def stop(self) -> None:
        """Shut down and free the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_sharing_simulator() -> RunningSharingService:
    """Serve the simulator on 127.0.0.1:<free port>."""
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return RunningSharingService(f"http://127.0.0.1:{server.server_port}", server, thread)
