"""Template filters and globals shared by every page (Japan time, 和暦, role names)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, session
from flask_login import current_user

from app.core.jp import format_age, format_wareki
from app.core.security import ROLE_LABELS, role_may
from app.core.timeutil import format_japan_datetime
from app.core.web import HANDOVER_KEY
from app.db import utcnow


def register(app: Flask) -> None:
    """Install the filters and context processors."""

    @app.template_filter("jst")
    def jst(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return format_japan_datetime(value, fmt)

    @app.template_filter("wareki")
    def wareki(value: date | None, style: str = "long") -> str:
        return format_wareki(value, style) if value else ""

    @app.template_filter("age_on")
    def age_on(birth: date | None, on: date) -> str:
        return format_age(birth, on) if birth else ""

    @app.template_filter("role_label")
    def role_label(role: str) -> str:
        return ROLE_LABELS.get(role, role)

    @app.context_processor
    def inject() -> dict[str, Any]:
        # The user once per page: a page asks may() dozens of times, each through Flask-Login's proxy otherwise.
        user = current_user._get_current_object() if current_user.is_authenticated else None  # noqa: SLF001

        def may(permission: str) -> bool:
            return user is not None and role_may(user.role, permission)

        clinic = user.clinic if user is not None else None

        # A tablet handed to a patient shows no staff chrome (menu, account, idle-lock overlay) on any page.
        return {"may": may, "clinic": clinic, "screen_locked": bool(session.get("locked")), "now_utc": utcnow(),
                "handed_over": bool(session.get(HANDOVER_KEY))}
