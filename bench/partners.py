"""Partner API benchmark (issue 25): one read of the JSON API as an outside application makes it — a bearer token
from POST /oauth/token (client_credentials), then GET /api/patients/<id> through the whole stack (token hash
look-up, the rate-limit counter in the database, the access log under the application's name)."""

from __future__ import annotations

import requests
from sqlalchemy.orm import Session

from app.core.audit import Actor
from app.partners.services import Credentials, register_app
from bench.server import measure

NAME = "api_patient_read"


def seed(session: Session, clinic_id: int) -> Credentials:
    """A partner application of the clinic allowed to read patients (no rate limit worth the name)."""
    actor = Actor(user_id=None, login_id="bench", clinic_id=clinic_id)
    credentials = register_app(session, actor, name="ベンチマーク連携", scopes=["patient.read"],
                               rate_limit_per_minute=100_000)
    session.commit()
    return credentials


def figure(base_url: str, credentials: Credentials, patient_id: int, n: int) -> tuple[str, int, tuple[float, float],
                                                                                       int]:
    """(name, n, (p50, p95), target) of one API read with a token asked for over HTTP."""
    http = requests.Session()
    answer = http.post(f"{base_url}/oauth/token", timeout=30, data={"grant_type": "client_credentials"},
                       auth=(credentials.client_id, credentials.client_secret))
    if answer.status_code != 200:
        raise SystemExit(f"/oauth/token answered {answer.status_code}: {answer.text[:300]}")
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    url = f"{base_url}/api/patients/{patient_id}"

    def read() -> object:
        response = http.get(url, headers=headers, timeout=30)
        if response.status_code != 200 or response.json()["id"] != patient_id:
            raise SystemExit(f"GET {url} answered {response.status_code}: {response.text[:300]}")
        return response

    return NAME, 1, measure(read, n), 50
