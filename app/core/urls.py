"""The address of an outside system an administrator enters (ORCA, PACS …): one rule for all of them."""

from __future__ import annotations

import re

from app.core.errors import ValidationError

_URL = re.compile(r"https?://[^\s/]+(/\S*)?")
_LOOPBACK = re.compile(r"http://(127\.0\.0\.1|localhost)[:/]")


def connection_url(raw: str | None, system: str, carried: str) -> str:
    """The URL as stored (trimmed, no trailing slash; "" for none). Refused (ValidationError on `base_url`): anything
    but http(s), and plain http to anything but this machine — `carried` says what would travel unencrypted."""
    url = (raw or "").strip().rstrip("/")
    if url and not _URL.fullmatch(url):
        raise ValidationError("URLは http:// または https:// で始まる形で入力してください", field="base_url")
    if url.startswith("http://") and not _LOOPBACK.match(url + "/"):
        raise ValidationError(f"院外の{system}には https:// で接続してください（{carried}を暗号化せずに送れません）",
                              field="base_url")
    return url
