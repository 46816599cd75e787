"""`require_scope`: the one decorator every partner route carries (JSON API and FHIR facade), and the calling
application as an Actor for the services (`partner_actor`).

A partner route is called with a bearer token, never a cookie: it is exempt from CSRF and from the staff login
and screen-lock rules (registered with core/web's `bearer_view`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from app.core.audit import Actor
from app.core.web import bearer_view
from app.db import db_session
from app.extensions import csrf
from app.partners.models import PartnerApp
from app.partners.scopes import SCOPES
from app.partners.tokens import (
    TOKEN_PROBLEMS,
    ClinicFacts,
    TokenApp,
    check_token,
    count_request,
    seconds_to_next_window,
)

ERROR_FORMATS = ("json", "fhir")
REALM = "kamikarte"


@dataclass(frozen=True)
class CallingPartner:
    """The application behind the current request's token (`flask.g.partner`)."""

    id: int
    clinic_id: int
    name: str
    scopes: tuple[str, ...]
    #: Its clinic's name, 医療機関コード and departments (read with the token).
    clinic: ClinicFacts


def bearer_token() -> str | None:
    """The token of `Authorization: Bearer …` (RFC 6750 §2.1; the scheme is case-insensitive), else None."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def partner_error(status: int, code: str, message: str, error_format: str = "json",
                  headers: dict[str, str] | None = None) -> Response:
    """A partner route's error: JSON {"error": code, "message": Japanese} or, for the FHIR facade, an
    OperationOutcome (issue code from FHIR's IssueType)."""
    if error_format == "fhir":
        issue = {401: "login", 403: "forbidden", 429: "throttled", 404: "not-found", 400: "invalid",
                 413: "too-costly"}.get(status, "processing")
        body = {"resourceType": "OperationOutcome", "issue": [{
            "severity": "error", "code": issue, "details": {"text": message}, "diagnostics": code}]}
        response = jsonify(body)
        response.mimetype = "application/fhir+json"
    else:
        response = jsonify({"error": code, "message": message})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _challenge(error: str | None = None, description: str | None = None, scope: str | None = None) -> str:
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return "Bearer " + ", ".join(parts)


def _too_many(app: TokenApp, reset: int, error_format: str) -> Response:
    message = f"リクエストが多すぎます（1分あたり{app.rate_limit_per_minute}件まで）。{reset}秒後にお試しください。"
    return partner_error(429, "rate_limited", message, error_format,
                         {"Retry-After": str(reset), "RateLimit-Limit": str(app.rate_limit_per_minute),
                          "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)})


def _refusal(scopes: tuple[str, ...], error_format: str) -> Response | None:
    """None when the request's token may call a route needing `scopes` (g.partner set), else the error. A token
    whose application has used up this minute is refused here, before any work (the count read with the token)."""
    check = check_token(db_session(), bearer_token())
    if check.problem or check.app is None:
        problem = check.problem or "invalid"
        challenge = _challenge() if problem == "missing" else _challenge("invalid_token", f"token {problem}")
        return partner_error(401, "invalid_token" if problem != "missing" else "unauthorized",
                             TOKEN_PROBLEMS[problem], error_format, {"WWW-Authenticate": challenge})
    app = check.app
    missing = [name for name in scopes if name not in check.scopes]
    if missing:
        message = f"このトークンには必要なスコープがありません: {' '.join(missing)}"
        return partner_error(403, "insufficient_scope", message, error_format,
                             {"WWW-Authenticate": _challenge("insufficient_scope", scope=" ".join(scopes))})
    if app.used_this_minute >= app.rate_limit_per_minute:
        return _too_many(app, seconds_to_next_window(), error_format)
    g.partner = CallingPartner(app.id, app.clinic_id, app.name, check.scopes, app.clinic)
    g.partner_actor = app_actor(app)
    g.partner_app = app
    return None


def _counted(error_format: str) -> Response | None:
    """Count the call and commit it with what the view wrote (its access-log entries): one commit per call, the
    counter's row locked only for that short end. Another process may have counted the last allowed call
    meanwhile: then the view's answer is not given and nothing it wrote is kept (the 429 returned)."""
    session = db_session()
    app = g.partner_app
    count, reset = count_request(session, app)
    if count > app.rate_limit_per_minute:
        session.rollback()
        return _too_many(app, reset, error_format)
    session.commit()
    return None


def app_actor(app: PartnerApp | TokenApp) -> Actor:
    """An application as the Actor of the current request (login "app:<name>", no staff user)."""
    return Actor(user_id=None, login_id=f"app:{app.name}"[:64], clinic_id=app.clinic_id, role="partner",
                 ip_address=request.remote_addr, user_agent=request.headers.get("User-Agent", "")[:255],
                 partner_app_id=app.id)


def require_scope(*scopes: str, error_format: str = "json") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Route decorator of every partner route: a valid bearer token (not expired, not revoked, of an active
    application) holding every scope named, within the application's rate limit. Failures answer 401
    (WWW-Authenticate: Bearer), 403 insufficient_scope or 429 (Retry-After), as JSON or, with
    error_format="fhir", as an OperationOutcome."""
    unknown = [name for name in scopes if name not in SCOPES]
    if not scopes or unknown:
        raise KeyError(f"unknown or no scope: {unknown}")
    if error_format not in ERROR_FORMATS:
        raise ValueError(f"error_format must be one of {ERROR_FORMATS}")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            refused = _refusal(scopes, error_format)
            if refused is not None:
                return refused
            try:
                answer = view(*args, **kwargs)
            except HTTPException:  # an API error (api_abort) is a call like any other
                refused = _counted(error_format)
                if refused is not None:
                    return refused
                raise
            refused = _counted(error_format)
            return answer if refused is None else refused

        wrapped.required_scopes = scopes  # type: ignore[attr-defined]
        wrapped.error_format = error_format  # type: ignore[attr-defined]
        csrf.exempt(wrapped)  # a bearer token, no cookie: nothing for a forged form to ride on
        return bearer_view(wrapped)

    return decorator


def partner() -> CallingPartner:
    """The calling application of the current partner request (set by require_scope)."""
    return g.partner


def partner_actor() -> Actor:
    """The calling application as the Actor services write with: the access log and audit trail name it
    ("app:<name>") and carry its id."""
    return g.partner_actor
