"""HTTP client of a lab company's Web API.

Lab companies publish no common Web API; this is the shape the simulator (simulators/lab_center) implements and
that file-drop labs map onto: the body of every call is one HL7 v2.5 message as bytes (ISO-2022-JP unless the
link agreed UTF-8) with the media type x-application/hl7-v2+er7, and every call carries the clinic's bearer token.

- POST {base}/orders — an OML^O33; the answer is its acknowledgement (ORL^O34) with MSA-1 AA, AE or AR (read by
  app.labs.sending: this client moves bytes and does not read HL7).
- GET {base}/results — results not yet acknowledged: JSON {"messages": [{"id", "hl7" (base64)}]}.
- POST {base}/results/{id}/ack — our ACK of one result message; the lab stops offering it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import requests

from app.integrations.errors import IntegrationError, Refused, bearer_call

HL7_MEDIA_TYPE = "x-application/hl7-v2+er7"


class LabCenterError(IntegrationError):
    """The lab's API could not be used; `message_ja` is for staff, `retryable` whether to try later."""


class LabCenterUnavailable(LabCenterError):
    """Not reachable, timed out, or 5xx."""


class LabCenterRejected(Refused, LabCenterError):
    """The lab refused the call for good (authentication, a message it cannot read)."""


@dataclass(frozen=True)
class PendingResult:
    """A result message the lab offers: its id at the lab and the bytes."""

    id: str
    data: bytes


class LabCenterClient:
    """One clinic's link to its lab company: base URL and bearer token."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _call(self, method: str, path: str, body: bytes | None = None, charset: str = "iso-2022-jp"
              ) -> requests.Response:
        headers = {"Accept": f"{HL7_MEDIA_TYPE}, application/json"}
        if body is not None:
            headers["Content-Type"] = f"{HL7_MEDIA_TYPE}; charset={charset}"
        return bearer_call(method, f"{self.base_url}/{path}", self.token, body=body, headers=headers,
                           timeout=self.timeout, system="検査会社", unavailable=LabCenterUnavailable,
                           rejected=LabCenterRejected)

    def send_order(self, data: bytes, charset: str = "iso-2022-jp") -> bytes:
        """Send one OML^O33; the bytes of the lab's answer (its ORL^O34)."""
        response = self._call("POST", "orders", data, charset)
        if not response.content:
            raise LabCenterRejected(f"検査会社の応答が空です（HTTP {response.status_code}）")
        return response.content

    def fetch_results(self) -> list[PendingResult]:
        """The result messages the lab has not had an ACK for yet."""
        response = self._call("GET", "results")
        try:
            items = response.json()["messages"]
            return [PendingResult(str(i["id"]), base64.b64decode(i["hl7"], validate=True)) for i in items]
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise LabCenterRejected("検査会社の結果一覧が読めません") from exc

    def acknowledge(self, result_id: str, ack: bytes) -> None:
        """Send our ACK of one result message."""
        response = self._call("POST", f"results/{result_id}/ack", ack)
        if response.status_code >= 400:
            raise LabCenterRejected(f"検査会社が ACK を受け付けませんでした（HTTP {response.status_code}）")
