"""Where partner webhooks may go (a guard against server-side request forgery): only to hosts the operator allowed
(KAMIKARTE_WEBHOOK_HOSTS: https, public addresses), or to hosts the operator named as the clinic's own or this
machine's (KAMIKARTE_WEBHOOK_INTERNAL_HOSTS: plain http and loopback or private addresses allowed too).

The administrator's URL is checked when saved and again at each delivery (the operator may have changed the lists,
and DNS may answer otherwise now); the delivery's connection itself is refused when the address it reached is not
public, so a name re-pointed between the check and the connection (DNS rebinding) gets nothing either. A name that
does not resolve yet is accepted when saved: it reaches no address, and the delivery checks again."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from app.core.urls import HostList, host_list, is_public_address, normal_host


@dataclass(frozen=True)
class WebhookHosts:
    """The operator's two lists."""

    public: HostList = HostList()
    internal: HostList = HostList()

    @classmethod
    def from_settings(cls, hosts: str, internal: str) -> WebhookHosts:
        """The lists of the two settings (entries the configuration check refuses are left out)."""
        return cls(host_list(hosts)[0], host_list(internal, wildcards=False)[0])


_allowed = WebhookHosts()


def configure(allowed: WebhookHosts) -> None:
    """Set this process's lists (create_app calls it with the configured ones)."""
    global _allowed  # noqa: PLW0603 — one operator's setting per process, like the sealing key
    _allowed = allowed


def allowed_hosts() -> WebhookHosts:
    """This process's lists."""
    return _allowed


class RefusedAddress(Exception):  # noqa: N818 — not an OSError, so no HTTP library retries it as a network fault
    """A delivery's connection reached an address it may not (the message says which, in Japanese)."""


def resolve(host: str, port: int) -> list[str]:
    """The addresses the host name resolves to now ([] when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def refusal(url: str) -> str | None:
    """Why a webhook may not be sent to this URL now (a Japanese sentence for the administrator), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "URLのポート番号が正しくありません"
    host = normal_host(parts.hostname or "")
    if parts.scheme not in ("http", "https") or not host:
        return "URLは https:// で始まる形で入力してください"
    if parts.username is not None or parts.password is not None:
        return "URLに利用者名やパスワードを含めないでください"
    internal = host in _allowed.internal
    if not internal and host not in _allowed.public:
        return (f"送信先 {host} は運用者が許可したホストではありません（Webhookは KAMIKARTE_WEBHOOK_HOSTS に"
                "載ったホストにだけ送れます。システムの運用者に依頼してください）")
    if parts.scheme != "https" and not internal:
        return ("院外の連携アプリケーションには https:// で送ってください（患者のIDと受付・検査の知らせを暗号化せずに"
                "送れません）")
    if not internal:
        inside = [address for address in resolve(host, port) if not is_public_address(address)]
        if inside:
            return (f"送信先 {host} は院内・ループバック・リンクローカルのアドレス（{inside[0]}）を指しています"
                    "（運用者が院内のホストとして許可していない送信先には送れません）")
    return None


def _checked_socket(connection: HTTPConnection, sock: socket.socket) -> socket.socket:
    address = str(sock.getpeername()[0])
    if normal_host(connection.host) not in _allowed.internal and not is_public_address(address):
        sock.close()
        raise RefusedAddress(f"送信先 {connection.host} が院内・ループバック等のアドレス（{address}）を指したため"
                             "送りませんでした")
    return sock


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _checked_socket(self, super()._new_conn())


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:  # before the TLS handshake: not a byte goes to a refused address
        return _checked_socket(self, super()._new_conn())


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def guarded_session() -> requests.Session:
    """An HTTP session whose every connection is checked against the lists (RefusedAddress when refused); no proxy
    from the environment (its address would be the one checked) and the caller follows no redirect."""
    http = requests.Session()
    http.trust_env = False
    adapter = _GuardedAdapter()
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http
