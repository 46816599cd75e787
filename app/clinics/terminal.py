"""A clinic's connection to its 資格確認端末: the one door to the national services behind it (the
電子処方箋管理サービス, オンライン資格確認's histories), so it is set once and read by each of them.

Stored in `clinic.integrations["national_gateway"]`: `url` (file:///… the terminal's folders, or https://… its
relay), `token` (the relay's; kept as the clinic's other integration secrets are) and optionally
`timeout_seconds`. The settings screen is the 電子処方箋 one (app/prescriptions/settings_views.py)."""

from __future__ import annotations

from typing import Any

from app.clinics.models import Clinic

KEY = "national_gateway"
FIELDS = ("url", "token", "timeout_seconds", "encoding")


def terminal_settings(clinic: Clinic) -> dict[str, Any]:
    """The clinic's terminal connection, empty when no address is set."""
    settings = clinic.integration(KEY)
    return settings if settings.get("url") else {}


def store_terminal_settings(clinic: Clinic, url: str, token: str | None) -> None:
    """Set the terminal's address and, when given, a new token (None or "" keeps the current one)."""
    settings = clinic.integration(KEY)
    settings["url"] = url
    if token:
        settings["token"] = token
    clinic.set_integration(KEY, settings)
