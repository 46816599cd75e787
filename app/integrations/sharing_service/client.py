"""HTTP client of the 電子カルテ情報共有サービス: register 6 information, search a patient's 6 information and
health checks (consent needed), share a referral document, list and fetch documents sent to us.

The national API is reached as FHIR R4 over HTTPS with application/fhir+json; errors come back as an
OperationOutcome, whose diagnostics are shown to staff as they are.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from app.integrations.errors import IntegrationError, Refused

FHIR_JSON = "application/fhir+json"


class SharingError(IntegrationError):
    """The service could not be used; `message_ja` is for staff, `retryable` says whether to try later."""

    def __init__(self, message_ja: str, issues: list[str] | None = None) -> None:
        super().__init__(message_ja)
        self.issues = issues or []


class SharingUnavailable(SharingError):
    """Not reachable, timed out, or 5xx."""


class SharingRejected(Refused, SharingError):
    """The service refused the request (invalid bundle, authentication, unknown document)."""


class SharingConsentRequired(SharingRejected):
    """The patient's consent is missing or has expired (403 forbidden)."""


def issues_of(payload: Any) -> list[str]:
    """The diagnostics of an OperationOutcome (empty for anything else)."""
    if not isinstance(payload, dict) or payload.get("resourceType") != "OperationOutcome":
        return []
    return [str(i.get("diagnostics") or i.get("code") or "") for i in payload.get("issue") or []
            if isinstance(i, dict)]


class SharingClient:
    """One clinic's connection: base URL (…/clinic/<code>/fhir), bearer token and/or TLS client certificate
    (`cert`: a PEM file path, or (certificate, key) paths)."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0,
                 cert: str | tuple[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.cert = cert

    def _call(self, method: str, path: str, *, body: dict[str, Any] | None = None,
              params: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Any:
        try:
            response = requests.request(method, f"{self.base_url}/{path}", json=body, params=params,
                                        timeout=self.timeout, cert=self.cert,
                                        headers={**({"Authorization": f"Bearer {self.token}"} if self.token else {}),
                                                 "Accept": FHIR_JSON,
                                                 **({"Content-Type": FHIR_JSON} if body is not None else {}),
                                                 **(headers or {})})
        except requests.Timeout as exc:
            raise SharingUnavailable("電子カルテ情報共有サービスが時間内に応答しませんでした") from exc
        except requests.RequestException as exc:
            raise SharingUnavailable(f"電子カルテ情報共有サービスに接続できません（{type(exc).__name__}）") from exc
        except OSError as exc:  # requests names a client certificate file it cannot read this way
            raise SharingUnavailable("クライアント証明書または秘密鍵のファイルを読めません。"
                                     "パスを確認してください") from exc
        try:
            payload = response.json()
        except ValueError:
            payload = None
        issues = issues_of(payload)
        details = "、".join(i for i in issues if i) or f"HTTP {response.status_code}"
        if response.status_code >= 500:
            raise SharingUnavailable(f"電子カルテ情報共有サービスでエラーが起きました: {details}", issues)
        if response.status_code in (401,):
            raise SharingRejected("電子カルテ情報共有サービスの認証に失敗しました。接続設定を確認してください", issues)
        if response.status_code == 403:
            raise SharingConsentRequired(f"電子カルテ情報共有サービスが閲覧を拒否しました: {details}", issues)
        if response.status_code in (408, 429):
            raise SharingUnavailable(f"電子カルテ情報共有サービスが混み合っています: {details}", issues)
        if response.status_code >= 400:
            raise SharingRejected(f"電子カルテ情報共有サービスが受け付けませんでした: {details}", issues)
        if not isinstance(payload, dict):
            raise SharingUnavailable("電子カルテ情報共有サービスの応答が FHIR JSON ではありません")
        return payload

    def capability(self) -> dict[str, Any]:
        """The service's CapabilityStatement (GET metadata): what the connection test shows."""
        return self._call("GET", "metadata")

    def register(self, bundle: dict[str, Any], *, once: bool = False) -> list[str]:
        """Register a 6-information collection or share a document; the locations the service gave. With `once`,
        a FHIR conditional create keyed by the Bundle's identifier (If-None-Exist): sent again after a lost reply,
        the service answers 200 and registers nothing twice."""
        identifier = bundle.get("identifier") or {}
        condition = {"If-None-Exist": f"identifier={identifier.get('system', '')}|{identifier.get('value', '')}"} \
            if once and identifier.get("value") else None
        payload = self._call("POST", "Bundle", body=bundle, headers=condition)
        return [e.get("response", {}).get("location", "") for e in payload.get("entry", [])]

    def withdraw(self, resource_type: str, instance_id: str, member_id: str) -> None:
        """Withdraw (取消) an item we registered: a conditional delete keyed, as the service keys a 取消, by our
        institution (the URL), the patient's insurance member ID and the resource instance identifier."""
        self._call("DELETE", resource_type, params={
            "identifier": f"http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier|{instance_id}",
            "patient.identifier": f"http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID|{member_id}"})

    def search(self, member_id: str) -> list[dict[str, Any]]:
        """Every institution's 6-information resources of a patient (SharingConsentRequired without consent)."""
        return _resources(self._call("GET", "Bundle", params={"identifier": member_id}))

    def health_checks(self, member_id: str) -> list[dict[str, Any]]:
        """The patient's health-check results (Observation), consent needed."""
        return _resources(self._call("GET", "Observation", params={"identifier": member_id,
                                                                   "category": "health-check"}))

    def received_documents(self, member_id: str) -> list[dict[str, Any]]:
        """Compositions of the documents other institutions addressed to us about a patient (id = document id)."""
        return _resources(self._call("GET", "Composition", params={"identifier": member_id}))

    def fetch_document(self, document_id: str) -> dict[str, Any]:
        """One document Bundle (the recipient fetching it marks it read at the service)."""
        return self._call("GET", f"Bundle/{quote(str(document_id), safe='')}")

    def document_read_at(self, document_id: str) -> str | None:
        """When the recipient read a document we shared (None while unread)."""
        return self._call("GET", f"Bundle/{quote(str(document_id), safe='')}/_status").get("read_at")


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"),
                                                                                                   dict)]
