"""Integration secrets sealed at rest: the ORCA and PACS passwords and the lab, sharing-service and e-prescription
tokens a clinic's `integrations` hold are stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256), so a copy of the
database (a backup, a replica, a support dump) does not hand out the keys to a clinic's outside systems
(安全管理ガイドライン: 暗号化による保護). The rest of the settings stay readable JSON.

The key is derived (HKDF-SHA256) from KAMIKARTE_SECRETS_KEY, or from SECRET_KEY when that is not set; create_app
configures it. Values written before sealing existed are read as they are and sealed at their next save."""

from __future__ import annotations

import base64
import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import JSON
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

#: Keys whose values are secrets, at any depth of the settings (each outside system's own dict).
SECRET_FIELDS = frozenset({"password", "token", "inbound_token"})
PREFIX = "enc:v1:"
_fernet: Fernet | None = None


def configure(key_material: str) -> None:
    """Set the sealing key for this process (create_app calls it with the configured key)."""
    global _fernet  # noqa: PLW0603 — one key per process, like the engine's configuration
    if not key_material:
        raise ValueError("a key is needed to seal integration secrets")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"kamikarte integration secrets v1").derive(key_material.encode())
    _fernet = Fernet(base64.urlsafe_b64encode(key))


def _box() -> Fernet:
    if _fernet is None:
        raise RuntimeError("integration secrets are not configured (create_app configures them)")
    return _fernet


def seal(value: str) -> str:
    """A secret as stored: PREFIX + Fernet token (an already sealed or empty value is returned as it is)."""
    if not value or value.startswith(PREFIX):
        return value
    return PREFIX + _box().encrypt(value.encode()).decode()


def unseal(value: str) -> str:
    """A stored secret in clear ("" when it was sealed with another key: the connection then fails as with a wrong
    password, and the administrator enters it again)."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return value
    try:
        return _box().decrypt(value[len(PREFIX):].encode()).decode()
    except InvalidToken:
        log.error("an integration secret could not be unsealed: KAMIKARTE_SECRETS_KEY or SECRET_KEY changed since "
                  "it was saved; enter it again on the connection's settings page")
        return ""


def _walk(value: Any, change) -> Any:
    if isinstance(value, dict):
        return {k: change(v) if k in SECRET_FIELDS and isinstance(v, str) else _walk(v, change)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, change) for v in value]
    return value


class SealedJSON(TypeDecorator):
    """JSON whose SECRET_FIELDS are sealed on the way into the database and unsealed on the way out; the
    application only ever sees clear values (and never mutates what it was given)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        """Seal before writing."""
        return _walk(value, seal)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        """Unseal after reading."""
        return _walk(value, unseal)
