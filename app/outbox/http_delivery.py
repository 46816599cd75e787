"""A generic delivery: POST the payload as JSON to a URL, with the message's idempotency key."""

from __future__ import annotations

import json
from typing import Any

import requests
from sqlalchemy.orm import Session

from app.outbox.models import OutboxMessage
from app.outbox.services import DeliveryError, PermanentDeliveryError, register_handler

KIND = "http.post"
RETRYABLE_STATUS = {408, 425, 429}


def deliver_http_post(_session: Session, message: OutboxMessage) -> dict[str, Any] | None:
    """POST payload["body"] to payload["url"]; 2xx is delivered, 4xx refused for good, the rest retried."""
    url = message.payload.get("url")
    if not url:
        raise PermanentDeliveryError("送信先URLがありません")
    return post_for_outbox(url, json.dumps(message.payload.get("body")).encode(),
                           {"Content-Type": "application/json", "Idempotency-Key": message.idempotency_key})


def post_for_outbox(url: str, data: bytes, headers: dict[str, str],
                    http: requests.Session | None = None) -> dict[str, Any]:
    """POST bytes for an outbox delivery (also the partner webhooks', through their guarded `http` session, which
    follows no redirect: a redirect could lead where the guard did not look): what the receiver answered when 2xx;
    PermanentDeliveryError for a 4xx other than 408/425/429, DeliveryError (retried) otherwise."""
    try:
        response = (http or requests).post(url, data=data, timeout=10, headers=headers, allow_redirects=http is None)
    except requests.RequestException as exc:
        raise DeliveryError(f"送信先に接続できません: {exc}") from exc
    if 200 <= response.status_code < 300:
        try:
            return {"status": response.status_code, "body": response.json()}
        except ValueError:
            return {"status": response.status_code}
    if 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_STATUS:
        raise PermanentDeliveryError(f"送信先が受け付けませんでした (HTTP {response.status_code})")
    raise DeliveryError(f"送信先でエラーが起きました (HTTP {response.status_code})")


register_handler(KIND, deliver_http_post)
