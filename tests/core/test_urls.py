"""One rule for the address of an outside system (ORCA, PACS): http(s) only, plain http only on this machine."""

from __future__ import annotations

import pytest

from app.core.errors import ValidationError
from app.core.urls import connection_url


@pytest.mark.parametrize(("raw", "stored"), [
    ("https://weborca.cloud.orcamo.jp/api/", "https://weborca.cloud.orcamo.jp/api"),
    ("  http://127.0.0.1:8000/dicom-web ", "http://127.0.0.1:8000/dicom-web"), ("http://localhost/x", "http://localhost/x"),
    ("", ""), (None, ""),
])
def test_accepted_addresses_are_stored_trimmed(raw, stored):
    assert connection_url(raw, "ORCA", "患者情報") == stored


@pytest.mark.parametrize(("raw", "message"), [
    ("ftp://orca.example/api", "http:// または https://"), ("weborca.example/api", "http:// または https://"),
    ("https://orca example/api", "http:// または https://"),
    ("http://orca.example/api", "院外のPACSには https:// で接続してください（画像を暗号化せずに送れません）"),
    ("http://127.0.0.1.evil.example/", "院外のPACSには https://"),
])
def test_refused_addresses_name_the_rule(raw, message):
    with pytest.raises(ValidationError, match=message) as caught:
        connection_url(raw, "PACS", "画像")
    assert caught.value.field == "base_url"
