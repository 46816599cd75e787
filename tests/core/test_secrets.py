"""Integration passwords and tokens are sealed in the database and clear in the application: saved through the
real settings page, read back raw with SQL, used by the real connection; another key cannot open them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from app.clinics.models import Clinic
from app.core import secrets
from tests.factories import make_clinic, make_user

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


def _raw(session, clinic_id: int) -> dict:
    value = session.execute(text("SELECT integrations FROM clinic WHERE id = :id"), {"id": clinic_id}).scalar_one()
    return value if isinstance(value, dict) else json.loads(value)


def test_orca_password_saved_on_the_settings_page_is_sealed_at_rest_and_still_connects(client, session, orca):
    clinic = make_clinic(session, institution_code="1310123458")
    admin = make_user(session, clinic, role="admin")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    response = client.post("/admin/orca", {"base_url": orca.base_url("1310123458"), "user": "ormaster-a",
                                           "password": "orca-demo-a", "verify_tls": "y", "action": "test"},
                           form_page="/admin/orca")
    assert "ORCAに接続できました" in response.get_data(as_text=True)  # the client used the unsealed password
    session.expire_all()
    raw = _raw(session, clinic.id)
    assert raw["orca"]["password"].startswith(secrets.PREFIX) and "orca-demo-a" not in json.dumps(raw)
    assert raw["orca"]["user"] == "ormaster-a"
    assert session.get(Clinic, clinic.id).integrations["orca"]["password"] == "orca-demo-a"


def test_nested_secrets_round_trip_and_plain_values_stay_readable(session):
    clinic = make_clinic(session, integrations={"pacs": {"base_url": "https://pacs", "username": "u", "password": "p1"},
                                                "lab_center": {"token": "t1", "inbound_token": "i1", "barcode": "nw7"}})
    session.commit()
    raw = _raw(session, clinic.id)
    assert raw["pacs"]["username"] == "u" and raw["lab_center"]["barcode"] == "nw7"
    assert all(raw[k][f].startswith(secrets.PREFIX) for k, f in (("pacs", "password"), ("lab_center", "token"),
                                                                  ("lab_center", "inbound_token")))
    session.expire_all()
    assert session.get(Clinic, clinic.id).integrations["lab_center"] == {"token": "t1", "inbound_token": "i1",
                                                                        "barcode": "nw7"}
    # A value written before sealing existed is read as it is.
    session.execute(text("UPDATE clinic SET integrations = :v WHERE id = :id"),
                    {"v": json.dumps({"orca": {"password": "legacy"}}), "id": clinic.id})
    session.commit()
    session.expire_all()
    assert session.get(Clinic, clinic.id).integrations == {"orca": {"password": "legacy"}}


def test_another_key_cannot_open_a_sealed_secret(app):
    sealed = secrets.seal("himitsu")
    assert secrets.unseal(sealed) == "himitsu" and secrets.seal(sealed) == sealed and secrets.seal("") == ""
    try:
        secrets.configure("another key entirely")
        assert secrets.unseal(sealed) == ""
    finally:
        secrets.configure(app.config["SECRETS_KEY"] or app.config["SECRET_KEY"])
