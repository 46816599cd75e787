"""The OAuth2 endpoints of partner applications: POST /oauth/token (client_credentials grant, RFC 6749 §4.4;
client_secret_basic or client_secret_post) and POST /oauth/revoke (RFC 7009). Errors are RFC 6749 §5.2 bodies
(an ASCII error_description) with a Japanese `message` beside them."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus

from flask import jsonify, request

from app.core.audit import record_audit
from app.core.errors import ValidationError
from app.core.security import public
from app.db import db_session
from app.extensions import csrf
from app.partners import bp
from app.partners.auth import app_actor
from app.partners.models import PartnerApp
from app.partners.scopes import parse_scope
from app.partners.tokens import TOKEN_SECONDS, authenticate_client, granted_scopes, issue_token, revoke_token_value

#: error code → (ASCII description for the RFC field, Japanese message).
OAUTH_ERRORS = {
    "invalid_request": ("The request is missing a parameter or is malformed.",
                        "リクエストが正しくありません（grant_type、クライアント認証は1つの方法で）。"),
    "invalid_client": ("Client authentication failed.", "クライアントIDまたはシークレットが正しくありません。"),
    "unsupported_grant_type": ("Only client_credentials is supported.",
                               "grant_type は client_credentials のみ使えます。"),
    "invalid_scope": ("A requested scope is unknown or not granted to this client.",
                      "要求されたスコープはこのアプリケーションに許可されていません。"),
}


def _oauth_error(code: str, status: int = 400, message: str | None = None) -> Any:
    description, japanese = OAUTH_ERRORS[code]
    response = jsonify({"error": code, "error_description": description, "message": message or japanese})
    response.status_code = status
    if code == "invalid_client":
        response.headers["WWW-Authenticate"] = 'Basic realm="kamikarte"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _client_credentials() -> tuple[str, str] | None:
    """(client_id, client_secret) from Basic authentication or the form, or None when malformed (both ways at
    once, or a header that does not decode). Missing values come back empty."""
    header = request.headers.get("Authorization", "")
    in_body = "client_secret" in request.form
    if header[:6].lower() == "basic ":
        if in_body:
            return None  # RFC 6749 §2.3: one method per request
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            return None
        # The values are form-urlencoded before Basic encoding (RFC 6749 §2.3.1).
        return unquote_plus(client_id), unquote_plus(secret)
    return request.form.get("client_id", ""), request.form.get("client_secret", "")


def _authenticated_client() -> PartnerApp | Any:
    credentials = _client_credentials()
    if credentials is None:
        return _oauth_error("invalid_request")
    app = authenticate_client(db_session(), *credentials)
    if app is None:
        return _oauth_error("invalid_client", 401)
    return app


@bp.route("/oauth/token", methods=["POST"])
@public
@csrf.exempt
def token() -> Any:
    """Issue an access token to an application authenticating with its client id and secret."""
    grant_type = request.form.get("grant_type")
    if not grant_type:
        return _oauth_error("invalid_request")
    if grant_type != "client_credentials":
        return _oauth_error("unsupported_grant_type")
    app = _authenticated_client()
    if not isinstance(app, PartnerApp):
        return app
    session = db_session()
    try:
        scopes = granted_scopes(app, parse_scope(request.form.get("scope")))
    except ValidationError as exc:
        return _oauth_error("invalid_scope", message=exc.message)
    value, issued = issue_token(session, app, scopes)
    record_audit(session, app_actor(app), "partner.token_issued", entity_type="partner_app", entity_id=app.id,
                 summary={"scopes": scopes, "token_id": issued.id})
    session.commit()
    response = jsonify({"access_token": value, "token_type": "Bearer", "expires_in": TOKEN_SECONDS,
                        "scope": " ".join(scopes)})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.route("/oauth/revoke", methods=["POST"])
@public
@csrf.exempt
def revoke() -> Any:
    """Revoke one of the calling application's tokens (RFC 7009: 200 whether or not the token was known)."""
    app = _authenticated_client()
    if not isinstance(app, PartnerApp):
        return app
    value = request.form.get("token", "")
    if not value:
        return _oauth_error("invalid_request")
    session = db_session()
    if revoke_token_value(session, app, value):
        record_audit(session, app_actor(app), "partner.token_revoked", entity_type="partner_app", entity_id=app.id)
    session.commit()
    return "", 200
