"""What the API's views share: the calling clinic's patient (404 for another clinic's, the look access-logged under
the application's name), JSON answers and errors, and the strict reading of request bodies (malformed JSON, wrong
types, unknown fields and oversized bodies answer 400 / 413 with an English code and a Japanese message)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import abort, g, jsonify, request

from app.core.audit import log_access
from app.core.errors import DomainError
from app.db import db_session
from app.partners.auth import partner, partner_actor, partner_error
from app.patients.models import Patient
from app.patients.services import get_patient

#: The largest request body the API reads (a web booking is a few hundred bytes).
MAX_BODY_BYTES = 64 * 1024


def api_abort(status: int, code: str, message: str) -> None:
    """Stop the view with an API error: {"error": code, "message": Japanese}."""
    abort(partner_error(status, code, message))


def api_patient(patient_id: int, resource: str) -> Patient:
    """The calling clinic's patient, or 404 (another clinic's id is not told apart from a missing one). The look
    is written to the access log under the application's name (committed by require_scope with the call)."""
    session = db_session()
    patient = get_patient(session, partner().clinic_id, patient_id)
    if patient is None:
        api_abort(404, "not_found", "指定された患者は見つかりません。")
    log_access(session, partner_actor(), patient_id=patient.id, action="view", resource=f"api:{resource}")
    return patient


def listing(items: list[dict[str, Any]]) -> Any:
    """A list answer: {"items": [...], "count": n}."""
    return jsonify({"items": items, "count": len(items)})


def iso(value: Any) -> str | None:
    """A date or datetime as ISO 8601 (None stays None)."""
    return value.isoformat() if value is not None else None


def api_query() -> dict[str, Any]:
    """The route's query parameters as `documented` checked and read them (integers as int, dates as date)."""
    return g.api_query


def parse_query(specs: dict[str, dict[str, Any]], required: tuple[str, ...]) -> dict[str, Any]:
    """The documented query parameters of the request, checked against their schemas; 400 naming the first that
    is missing or wrong."""
    missing = [name for name in required if name not in request.args]
    if missing:
        api_abort(400, "missing_parameter", f"パラメータ {', '.join(missing)} を指定してください。")
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        raw = request.args.get(name)
        if raw is None:
            continue
        if spec["type"] == "integer":
            if not re.fullmatch(r"-?\d{1,19}", raw):
                api_abort(400, "invalid_type", f"{name} は整数で指定してください。")
            values[name] = int(raw)
        else:
            values[name] = raw
        _check_value(name, values[name], spec)
        if spec.get("format") == "date":
            values[name] = _date(name, raw)
    return values


def _date(name: str, raw: str) -> date:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    api_abort(400, "invalid_value", f"{name} は YYYY-MM-DD 形式の日付で指定してください。")
    raise AssertionError  # api_abort does not return


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}
_TYPE_NAMES = {"string": "文字列", "integer": "整数", "boolean": "真偽値"}


def read_body(schema: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON object, checked against `schema` (an object of string / integer / boolean properties,
    `required`, no other fields — the same schema the OpenAPI document publishes). Anything else stops the view
    with 413 or 400 naming the problem."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        api_abort(413, "body_too_large", f"リクエスト本文が大きすぎます（{MAX_BODY_BYTES // 1024}KBまで）。")
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        api_abort(413, "body_too_large", f"リクエスト本文が大きすぎます（{MAX_BODY_BYTES // 1024}KBまで）。")
    if request.mimetype != "application/json":
        api_abort(400, "unsupported_media_type", "Content-Type: application/json で送ってください。")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        api_abort(400, "malformed_json", "リクエスト本文が正しいJSONではありません。")
    if not isinstance(body, dict):
        api_abort(400, "invalid_body", "リクエスト本文はJSONオブジェクトで送ってください。")
    properties: dict[str, Any] = schema.get("properties", {})
    unknown = sorted(set(body) - set(properties))
    if unknown:
        api_abort(400, "unknown_field", f"不明な項目があります: {', '.join(unknown)}")
    missing = [name for name in schema.get("required", []) if name not in body]
    if missing:
        api_abort(400, "missing_field", f"必須の項目がありません: {', '.join(missing)}")
    for name, value in body.items():
        _check_value(name, value, properties[name])
    return body


def _check_value(name: str, value: Any, spec: dict[str, Any]) -> None:
    kind = spec["type"]
    if not _TYPE_CHECKS[kind](value):
        api_abort(400, "invalid_type", f"{name} は{_TYPE_NAMES[kind]}で指定してください。")
    if kind == "string":
        if not spec.get("minLength", 0) <= len(value) <= spec.get("maxLength", 10_000):
            api_abort(400, "invalid_value", f"{name} の長さが範囲外です。")
        if "\x00" in value:
            api_abort(400, "invalid_value", f"{name} に使えない文字が含まれています。")
    if kind == "integer" and not spec.get("minimum", -(2**63)) <= value <= spec.get("maximum", 2**63 - 1):
        api_abort(400, "invalid_value", f"{name} の値が範囲外です。")
    if "enum" in spec and value not in spec["enum"]:
        api_abort(400, "invalid_value", f"{name} の値が正しくありません（{' / '.join(map(str, spec['enum']))}）。")


def refused(exc: DomainError) -> Any:
    """A service's refusal as an API error (422, its code and Japanese message)."""
    db_session().rollback()
    return partner_error(422, exc.code, exc.message)
