"""The one way our clients reach the national services on the オンライン資格確認 network.

The 電子処方箋管理サービス and the オンライン資格確認等システム (薬剤・診療・特定健診 history) are reached the same way
(docs/standards/eprescription.md §2, onshi.md §1): a request XML file named `<業務コード>req_<id>.xml` is put into
the 資格確認端末's `req` folder; the reply appears in its `res` folder under the same name with `res` for `req`
(`.xml`, or `.pdf` for the PDF kinds). A cloud EMR cannot write into a clinic's folder, so a small relay in the
clinic (or the Web API 通信方式) carries the same files over HTTPS. Two transports, one protocol:

- `FolderGateway`: the folders themselves (an on-premises install; also the relay's own side).
- `RelayGateway`: HTTPS to the relay: `PUT {base}/req/<file>` then `GET {base}/res/<stem>` until the reply is there.

A reply that does not come in time raises `GatewayTimeout` naming the request id, so that a late reply can still
be matched to its request (`collect`) or discarded with a log entry by the caller.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

import requests

from app.integrations.errors import IntegrationError, Refused, bearer_call

BUSINESS_CODE = re.compile(r"^[A-Za-z]{3}[a-z]{2}[A-Za-z]{3}[0-9]{2}$")  # e.g. EPSsiPIR01, YZKsiquc01
REQUEST_ID = re.compile(r"^[A-Za-z0-9]{1,40}$")
REPLY_KINDS = {".xml": "application/xml", ".pdf": "application/pdf"}


class GatewayError(IntegrationError):
    """The national service could not be used; `message_ja` is for staff, `retryable` says whether to try later."""


class GatewayUnavailable(GatewayError):
    """The relay or the terminal is not reachable, or answered 5xx."""


class GatewayTimeout(GatewayUnavailable):
    """The request was handed over but no reply came in time; the reply may still arrive for `request_id`."""

    def __init__(self, message_ja: str, request_id: str) -> None:
        super().__init__(message_ja)
        self.request_id = request_id


class GatewayRejected(Refused, GatewayError):
    """The relay refused the request (authentication, a malformed file name)."""


@dataclass(frozen=True)
class Reply:
    """A reply file as the terminal wrote it: its name, its bytes and whether it is XML or PDF."""

    file_name: str
    body: bytes

    @property
    def is_pdf(self) -> bool:
        """Whether the reply is a PDF (the PDF kinds of the history files, the 処方内容（控え）)."""
        return self.file_name.endswith(".pdf")


def request_file_name(business_code: str, request_id: str) -> str:
    """`<業務コード>req_<id>.xml`; refuses a code or id the terminal would not accept."""
    if not BUSINESS_CODE.match(business_code):
        raise GatewayRejected(f"業務コードが不正です: {business_code!r}")
    if not REQUEST_ID.match(request_id):
        raise GatewayRejected(f"要求の識別子は英数字40文字以内です: {request_id!r}")
    return f"{business_code}req_{request_id}.xml"


def reply_stem(business_code: str, request_id: str) -> str:
    """The reply's name without its extension: `<業務コード>res_<id>`."""
    request_file_name(business_code, request_id)
    return f"{business_code}res_{request_id}"


class Gateway(Protocol):
    """What a client needs of a transport."""

    def submit(self, business_code: str, request_id: str, body: bytes) -> None:
        """Hand a request file over."""

    def collect(self, business_code: str, request_id: str) -> Reply | None:
        """The reply to a request handed over earlier, or None while there is none."""


def exchange(gateway: Gateway, business_code: str, request_id: str, body: bytes, *,
             timeout: float = 30.0, poll_interval: float = 0.05) -> Reply:
    """Hand a request over and wait for its reply (GatewayTimeout after `timeout` seconds)."""
    gateway.submit(business_code, request_id, body)
    deadline = time.monotonic() + timeout
    while True:
        reply = gateway.collect(business_code, request_id)
        if reply is not None:
            return reply
        if time.monotonic() >= deadline:
            message = f"資格確認端末から{timeout:.0f}秒以内に応答がありません（要求 {request_id}）"
            raise GatewayTimeout(message, request_id)
        time.sleep(poll_interval)


class FolderGateway:
    """The terminal's shared folders: write into `req`, read from `res` (the reply file is left for an audit copy
    to be taken by the caller, then removed)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.req = Path(root) / "req"
        self.res = Path(root) / "res"

    def submit(self, business_code: str, request_id: str, body: bytes) -> None:
        """Write the request atomically (a temporary name, then rename) so the terminal never reads half a file."""
        name = request_file_name(business_code, request_id)
        try:
            with tempfile.NamedTemporaryFile(dir=self.req, prefix=".", suffix=".part", delete=False) as part:
                part.write(body)
            os.replace(part.name, self.req / name)
        except OSError as exc:
            raise GatewayUnavailable(f"資格確認端末の req フォルダに書き込めません（{exc.strerror}）") from exc

    def collect(self, business_code: str, request_id: str) -> Reply | None:
        """Read and remove the reply file, if it is there."""
        stem = reply_stem(business_code, request_id)
        for extension in REPLY_KINDS:
            path = self.res / f"{stem}{extension}"
            try:
                body = path.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise GatewayUnavailable(f"資格確認端末の res フォルダを読めません（{exc.strerror}）") from exc
            path.unlink(missing_ok=True)
            return Reply(path.name, body)
        return None


class RelayGateway:
    """HTTPS to the clinic's relay (or the Web API 通信方式): the same files, bearer-token authenticated."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _call(self, method: str, path: str, body: bytes | None = None) -> requests.Response:
        return bearer_call(method, f"{self.base_url}/{path}", self.token, body=body,
                           headers={"Content-Type": "application/xml"}, timeout=self.timeout,
                           system="資格確認端末の中継", unavailable=GatewayUnavailable, rejected=GatewayRejected)

    def submit(self, business_code: str, request_id: str, body: bytes) -> None:
        """PUT the request file."""
        name = request_file_name(business_code, request_id)
        response = self._call("PUT", f"req/{quote(name)}", body)
        if response.status_code >= 400:
            raise GatewayRejected(f"資格確認端末の中継が要求を受け付けませんでした（HTTP {response.status_code}）")

    def collect(self, business_code: str, request_id: str) -> Reply | None:
        """GET the reply: 200 with the file (its name in X-File-Name), 404 while there is none."""
        stem = reply_stem(business_code, request_id)
        response = self._call("GET", f"res/{quote(stem)}")
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise GatewayRejected(f"資格確認端末の中継が応答を返せませんでした（HTTP {response.status_code}）")
        name = response.headers.get("X-File-Name", "")
        if not name.startswith(stem) or name[len(stem):] not in REPLY_KINDS:
            raise GatewayUnavailable(f"資格確認端末の中継が不明なファイルを返しました: {name!r}")
        return Reply(name, response.content)


def gateway_for(url: str, token: str) -> Gateway:
    """The transport a clinic's setting names: `file:///path` (the terminal's folders) or `https://…` (a relay)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FolderGateway(parts.path)
    if parts.scheme in ("http", "https") and parts.netloc:
        return RelayGateway(url, token)
    raise GatewayRejected(f"資格確認端末の接続先が不正です: {url!r}（file:// または https://）")
