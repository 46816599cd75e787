"""The administrator's forms for partner applications (the scope and event check boxes are read as lists)."""

from __future__ import annotations

from typing import Any

from flask import request
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from app.core.errors import ValidationError
from app.core.forms import CleanForm, to_number
from app.partners.models import DEFAULT_RATE_LIMIT


class PartnerAppForm(CleanForm):
    """Name (at registration), scopes and rate limit."""

    name = StringField("アプリケーション名", validators=[DataRequired("アプリケーション名を入力してください。"),
                                                       Length(max=100)])
    rate_limit_per_minute = StringField("1分あたりのリクエスト上限", default=str(DEFAULT_RATE_LIMIT),
                                        validators=[Optional(), Length(max=7)])


class WebhookForm(CleanForm):
    """Where the application is told of events."""

    webhook_url = StringField("Webhookの送信先URL", validators=[Optional(), Length(max=500)])


def checked(name: str) -> list[str]:
    """The values of a group of check boxes in the posted form."""
    return [value for value in request.form.getlist(name) if value][:50]


def rate_limit(text: str | None) -> int | None:
    """The typed rate limit (None when left empty); ValidationError when it is not a whole number."""
    if not (text or "").strip():
        return None
    try:
        return int(to_number(text, integer=True))
    except ValueError as exc:
        raise ValidationError("1分あたりの上限は整数で入力してください。", field="rate_limit_per_minute") from exc


def form_values(form: Any) -> dict[str, Any]:
    """What the registration form asks the service for."""
    return {"name": form.name.data or "", "scopes": checked("scopes"),
            "rate_limit_per_minute": rate_limit(form.rate_limit_per_minute.data)}
