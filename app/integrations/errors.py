"""What every client's errors share: a Japanese message for staff (`message_ja`) and whether trying again later
can help (`retryable`). Each client subclasses it with its own kinds (unavailable, rejected …)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import requests

T = TypeVar("T")


class IntegrationError(Exception):
    """An outside system could not be used as asked."""

    retryable = True

    def __init__(self, message_ja: str) -> None:
        super().__init__(message_ja)
        self.message_ja = message_ja


class Refused:
    """Mixin of a client's error that trying again cannot mend: a refusal for good, a setting to fix, a reply that
    cannot be read (put it before the client's own error class)."""

    retryable = False


def connection_answer(client: Any, ask: Callable[[Any], T], not_configured: str) -> tuple[T | None, str]:
    """A connection test's one call to an outside system: (its answer, "") or (None, why in Japanese) — no
    client because the settings are incomplete (`not_configured`), or the system's refusal."""
    if client is None:
        return None, not_configured
    try:
        return ask(client), ""
    except IntegrationError as exc:
        return None, exc.message_ja


def bearer_call(method: str, url: str, token: str, *, body: bytes | None, headers: dict[str, str], timeout: float,
                system: str, unavailable: type[IntegrationError], rejected: type[IntegrationError]
                ) -> requests.Response:
    """One HTTP call to an outside system that takes a bearer token. Not reached, or a 5xx, raises `unavailable`
    (try later); 401/403 raises `rejected` (the settings to fix); the messages name the `system` (検査会社 …).
    Any other answer is the caller's to read."""
    try:
        response = requests.request(method, url, data=body, timeout=timeout,
                                    headers={"Authorization": f"Bearer {token}", **headers})
    except requests.RequestException as exc:
        raise unavailable(f"{system}に接続できません（{type(exc).__name__}）") from exc
    if response.status_code >= 500:
        raise unavailable(f"{system}が応答しません（HTTP {response.status_code}）")
    if response.status_code in (401, 403):
        raise rejected(f"{system}の認証に失敗しました。接続設定を確認してください")
    return response
