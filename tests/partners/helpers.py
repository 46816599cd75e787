"""Partner test helpers: register an application in a clinic and get a token through POST /oauth/token, as an
outside application would."""

from __future__ import annotations

import base64
import itertools
from typing import Any

from sqlalchemy import select

from app.clinics.models import Clinic
from app.core.audit import Actor
from app.partners.services import Credentials, register_app

_names = itertools.count(1)


def _flask_client(client: Any) -> Any:
    return getattr(client, "raw", client)  # tests.helpers.HTMLClient or Flask's own test client


def register_partner(client: Any, clinic_code: str, scopes: list[str] | tuple[str, ...], *,
                     name: str | None = None, rate_limit_per_minute: int | None = None,
                     webhook_url: str | None = None, webhook_events: list[str] | None = None) -> Credentials:
    """Register an application in the clinic with this 医療機関コード (as its administrator would)."""
    flask_app = _flask_client(client).application
    with flask_app.app_context():
        session = flask_app.extensions["db_sessionmaker"]()
        try:
            clinic = session.scalar(select(Clinic).where(Clinic.institution_code == clinic_code))
            assert clinic is not None, f"no clinic {clinic_code}"
            actor = Actor(user_id=None, login_id="test", clinic_id=clinic.id)
            credentials = register_app(session, actor, name=name or f"テスト連携アプリ{next(_names)}",
                                       scopes=list(scopes), rate_limit_per_minute=rate_limit_per_minute,
                                       webhook_url=webhook_url, webhook_events=webhook_events)
            session.commit()
            return credentials
        finally:
            session.close()


def basic_auth(client_id: str, client_secret: str) -> dict[str, str]:
    """An Authorization header for client_secret_basic."""
    raw = f"{client_id}:{client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def token_for(client: Any, credentials: Credentials, scopes: list[str] | tuple[str, ...] | None = None) -> str:
    """An access token for registered credentials, asked of POST /oauth/token (client_secret_basic)."""
    data = {"grant_type": "client_credentials"}
    if scopes:
        data["scope"] = " ".join(scopes)
    response = _flask_client(client).post("/oauth/token", data=data,
                                          headers=basic_auth(credentials.client_id, credentials.client_secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["access_token"]


def issue_token(client: Any, clinic_code: str, scopes: list[str] | tuple[str, ...]) -> str:
    """A bearer token of a new application of the clinic granted `scopes` (through /oauth/token)."""
    return token_for(client, register_partner(client, clinic_code, scopes), scopes)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a partner request."""
    return {"Authorization": f"Bearer {token}"}
