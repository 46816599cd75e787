"""HTTP client of the 電子処方箋管理サービス: register a prescription document, cancel it.

The national API is not public; this client speaks what the simulator implements from the published FHIR
description (prescription.md): POST the Bundle as application/fhir+json, get an 引換番号 and the service's
check result as an OperationOutcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

FHIR_JSON = "application/fhir+json"


class EPrescriptionError(Exception):
    """The service could not be used; `message_ja` is for staff, `retryable` says whether to try later."""

    retryable = True

    def __init__(self, message_ja: str) -> None:
        super().__init__(message_ja)
        self.message_ja = message_ja


class EPrescriptionUnavailable(EPrescriptionError):
    """Not reachable, timed out, or 5xx."""


class EPrescriptionRejected(EPrescriptionError):
    """The service refused the request (invalid document, authentication, unknown prescription)."""

    retryable = False


@dataclass(frozen=True)
class Registration:
    """A registered prescription: the service's id, the 引換番号 and its check warnings."""

    service_id: str
    exchange_number: str
    warnings: tuple[str, ...]


def _issues(payload: Any) -> list[str]:
    outcome = payload.get("outcome", payload) if isinstance(payload, dict) else {}
    return [i.get("diagnostics", "") for i in (outcome.get("issue") or []) if isinstance(i, dict)]


class EPrescriptionClient:
    """One clinic's connection: base URL and bearer token."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _post(self, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            response = requests.post(f"{self.base_url}/{path}", json=body, timeout=self.timeout,
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": FHIR_JSON,
                                              "Accept": f"{FHIR_JSON}, application/json"})
        except requests.RequestException as exc:
            raise EPrescriptionUnavailable(f"電子処方箋管理サービスに接続できません（{type(exc).__name__}）") from exc
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code >= 500:
            raise EPrescriptionUnavailable(f"電子処方箋管理サービスが応答しません（HTTP {response.status_code}）")
        if response.status_code in (401, 403):
            raise EPrescriptionRejected("電子処方箋管理サービスの認証に失敗しました。接続設定を確認してください")
        if response.status_code >= 400:
            details = "、".join(_issues(payload)) or f"HTTP {response.status_code}"
            raise EPrescriptionRejected(f"電子処方箋管理サービスが受け付けませんでした: {details}")
        return payload

    def register(self, bundle: dict[str, Any]) -> Registration:
        """Register a prescription document; its 引換番号 and the service's check warnings."""
        payload = self._post("prescriptions", bundle)
        if not payload.get("id") or not payload.get("exchangeNumber"):
            raise EPrescriptionRejected("電子処方箋管理サービスの応答に引換番号がありません")
        return Registration(str(payload["id"]), str(payload["exchangeNumber"]), tuple(_issues(payload)))

    def cancel(self, service_id: str) -> None:
        """Cancel a registered prescription (refused once dispensed)."""
        self._post(f"prescriptions/{quote(str(service_id), safe='')}/cancel", None)
