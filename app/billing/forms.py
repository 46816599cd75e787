"""The billing forms (CleanForm: CSRF and invisible characters stripped)."""

from __future__ import annotations

from wtforms import BooleanField, StringField

from app.core.forms import CleanForm


class FeeForm(CleanForm):
    """A fee chosen for the visit: its code and how many times."""

    code = StringField("診療行為コード")
    quantity = StringField("回数", default="1")


class OnlineForm(CleanForm):
    """情報通信機器を用いた診療 or face to face."""

    online = BooleanField("情報通信機器を用いた診療")


class ConfirmForm(CleanForm):
    """A button alone (remove a fee, re-send)."""
