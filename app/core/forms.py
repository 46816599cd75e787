"""What every form shares: the one reading of a number typed by hand (finite decimal notation only), the guard
services put on numbers they are given, and the base form whose text fields drop invisible characters."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DecimalField, FloatField, PasswordField, StringField, TextAreaField
from wtforms.validators import Length, StopValidation

from app.core.errors import ValidationError
from app.core.jp import strip_control_chars

#: Full-width digits, point, minus and plus as a Japanese IME types them.
_FOLD = str.maketrans("０１２３４５６７８９．－−＋", "0123456789.--+")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"[+-]?\d+")
NOT_FINITE = "{label}には数値として扱えない値（NaN・無限大）は使えません"


def to_number(text: str | None, *, integer: bool = False) -> int | float:
    """A number typed by hand: plain decimal notation (full-width digits folded, spaces around ignored).
    ValueError for anything else, so "NaN", "Infinity", "1e400", "1_000" and digits too many for a float
    never reach a record."""
    folded = (text or "").translate(_FOLD).strip()
    if not (_INTEGER if integer else _DECIMAL).fullmatch(folded):
        raise ValueError(f"not a number: {folded[:20]!r}")
    value = int(folded) if integer else float(folded)
    if not math.isfinite(value):
        raise ValueError(f"out of the range of a number: {folded[:20]!r}")
    return value


def is_finite(value: Any) -> bool:
    """Whether a float or Decimal is an ordinary number (neither NaN nor ±Infinity); other values are."""
    if isinstance(value, float | Decimal):
        return math.isfinite(value)
    return True


def require_finite(value: Any, *, label: str, field: str) -> Any:
    """The value, when it is not NaN or ±Infinity (a rule services keep for numbers they are given whatever
    parsed them); ValidationError on `field` otherwise."""
    if not is_finite(value):
        raise ValidationError(NOT_FINITE.format(label=label), field=field)
    return value


class Finite:
    """WTForms validator: a Float or Decimal field's value is a finite number."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        if not is_finite(field.data):
            field.errors[:] = []
            raise StopValidation(self.message or NOT_FINITE.format(label=field.label.text))


def _text_filter(multiline: bool) -> Any:
    def clean(value: Any) -> Any:
        return strip_control_chars(value, multiline=multiline) if isinstance(value, str) else value

    return clean


class CleanForm(FlaskForm):
    """The base of every form: text fields lose control and invisible format characters before anything reads
    them (a text area keeps its line breaks; passwords are left as typed), and every Float or Decimal field
    refuses NaN and ±Infinity."""

    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            """Bind a field with the shared filter or validator for its kind added."""
            field_class, extra = unbound_field.field_class, {}
            if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
                clean = _text_filter(issubclass(field_class, TextAreaField))
                extra["filters"] = (clean, *unbound_field.kwargs.get("filters", ()))
            if issubclass(field_class, FloatField | DecimalField):
                extra["validators"] = (Finite(), *unbound_field.kwargs.get("validators", ()))
            return unbound_field.bind(form=form, **options, **extra)


def max_chars(n: int) -> Length:
    """At most `n` characters, said in Japanese."""
    return Length(max=n, message=f"{n}文字以内で入力してください")


def client_cert_fields(stored: Any) -> dict[str, str]:
    """A stored TLS client certificate setting (a PEM path, or [certificate, key]) as the two form fields."""
    if isinstance(stored, list):
        return {"client_cert": stored[0], "client_key": stored[1]}
    return {"client_cert": stored or "", "client_key": ""}


def client_cert_setting(data: dict[str, Any]) -> list[str] | str | None:
    """The two form fields as stored: [certificate, key], the certificate alone, or None."""
    cert, key = (data.get("client_cert") or "").strip(), (data.get("client_key") or "").strip()
    return [cert, key] if cert and key else (cert or None)
