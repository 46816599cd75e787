"""Start the 電子カルテ情報共有サービス simulator on a free port in a thread, for tests (real HTTP only)."""

from __future__ import annotations

from typing import Any

import requests

from simulators.sharing_service import DEMO_TOKENS, create_app
from simulators.testing import RunningSimulator, serve


class RunningSharingService(RunningSimulator):
    """The running simulator: each clinic's base URL and token, its harness calls."""

    def base_url(self, institution_code: str) -> str:
        """The base URL a clinic configures."""
        return f"{self.url}/clinic/{institution_code}/fhir"

    @staticmethod
    def token(institution_code: str) -> str:
        """The clinic's bearer token."""
        return DEMO_TOKENS[institution_code]

    def set_fault(self, mode: str, **options: Any) -> None:
        """Inject a fault: down (503) or slow (sleep `seconds`), for `times` requests."""
        super().set_fault(mode, **{"times": 1, **options})

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

    def seed_discharge_summary(self, member_id: str, name: str = "", kana: str = "",
                               bundle: dict[str, Any] | None = None) -> str:
        """The fictitious hospital registers a 退院時サマリー of the patient (built, or `bundle` as given); its id."""
        response = requests.post(f"{self.url}/_sim/discharge-summaries",
                                 json={"member_id": member_id, "name": name, "kana": kana,
                                       **({"bundle": bundle} if bundle is not None else {})}, timeout=5)
        response.raise_for_status()
        return response.json()["id"]

    def seed_checkup_reports(self, member_id: str, name: str = "", years: int = 5) -> list[str]:
        """The hospital registers the patient's yearly 特定健診 reports (oldest first); their ids."""
        response = requests.post(f"{self.url}/_sim/checkup-reports",
                                 json={"member_id": member_id, "name": name, "years": years}, timeout=5)
        response.raise_for_status()
        return response.json()["ids"]

    def registered(self) -> dict[str, Any]:
        """What the service holds."""
        return requests.get(f"{self.url}/_sim/registered", timeout=5).json()

def start_sharing_simulator() -> RunningSharingService:
    """Serve the simulator on 127.0.0.1:<free port>."""
    return serve(create_app(), RunningSharingService)
