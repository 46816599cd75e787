"""The JSON API end to end through HTTP: a web booking becomes a reception (same service and outbox as the clerk's
button), reads return what the screens hold, bad input gets clear 400/413/422 errors with nothing written, another
clinic's ids are 404, and every look is in the access log under the application's name."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.core.models import AccessLogEntry, AuditEntry
from app.outbox.models import OutboxMessage
from app.reception.models import Visit
from tests.factories import make_clinic, make_patient
from tests.partners.helpers import bearer, issue_token, register_partner, token_for
from tests.test_isolation import (
    _make_allergy,
    _make_diagnosis,
    _make_key_image,
    _make_lab_records,
    _make_letter,
    _make_prescription,
)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_web_booking_becomes_a_reception_sent_to_orca(client, session, partner_clinic):
    clinic, patient = partner_clinic
    creds = register_partner(client, clinic.institution_code, ["reception.write", "reception.read"], name="Web予約")
    token = token_for(client, creds)
    response = client.raw.post("/api/reception", headers=bearer(token),
                               json={"patient_id": patient.id, "department_code": "01", "physician_code": "10001"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["patient_id"] == patient.id and body["status"] == "accepted" and body["source"] == "kamikarte"
    assert body["department_name"] == "内科" and body["physician_name"] == "医師 一郎"
    visit = session.get(Visit, body["id"])
    assert visit.clinic_id == clinic.id
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "orca.reception"))
    assert message.payload["visit_id"] == visit.id and message.payload["patient_id"] == patient.orca_patient_id
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "visit.register"))
    assert audit.actor_login == "app:Web予約" and audit.actor_id is None
    listed = client.raw.get("/api/reception", headers=bearer(token)).json
    assert [v["id"] for v in listed["items"]] == [visit.id]
    mine = client.raw.get(f"/api/patients/{patient.id}/visits", headers=bearer(token)).json
    assert mine["count"] == 1
    logged = session.scalars(select(AccessLogEntry.actor_login).distinct()).all()
    assert logged == ["app:Web予約"]


def test_bad_bodies_are_refused_clearly_and_nothing_is_written(client, session, partner_clinic):
    clinic, patient = partner_clinic
    stranger = make_patient(session, make_clinic(session))
    session.commit()
    token = issue_token(client, clinic.institution_code, ["reception.write"])
    post = client.raw.post
    cases = [
        ({"data": "{not json", "content_type": "application/json"}, 400, "malformed_json"),
        ({"data": "[1, 2]", "content_type": "application/json"}, 400, "invalid_body"),
        ({"json": {"patient_id": "1", "department_code": "01"}}, 400, "invalid_type"),
        ({"json": {"patient_id": True, "department_code": "01"}}, 400, "invalid_type"),
        ({"json": {"patient_id": patient.id, "department_code": "01", "extra": 1}}, 400, "unknown_field"),
        ({"json": {"department_code": "01"}}, 400, "missing_field"),
        ({"json": {"patient_id": patient.id, "department_code": "0123456"}}, 400, "invalid_value"),
        ({"data": "patient_id=1", "content_type": "application/x-www-form-urlencoded"}, 400,
         "unsupported_media_type"),
        ({"data": "{" + " " * 70_000 + "}", "content_type": "application/json"}, 413, "body_too_large"),
        ({"json": {"patient_id": patient.id, "department_code": "99", "physician_code": "10001"}}, 422,
         "unknown_department_or_physician"),
        ({"json": {"patient_id": stranger.id, "department_code": "01", "physician_code": "10001"}}, 404,
         "not_found"),  # another clinic's patient
    ]
    for kwargs, status, code in cases:
        response = post("/api/reception", headers=bearer(token), **kwargs)
        assert (response.status_code, response.json["error"]) == (status, code), kwargs
        assert response.json["message"] and not response.json["message"].isascii()  # said in Japanese
    assert _count(session, Visit) == 0 and _count(session, OutboxMessage) == 0


def test_bad_query_parameters_are_400(client, session, partner_clinic):
    clinic, patient = partner_clinic
    token = issue_token(client, clinic.institution_code, ["lab.read", "reception.read", "patient.read"])
    for url in (f"/api/patients/{patient.id}/lab-results?limit=0", f"/api/patients/{patient.id}/lab-results?limit=x",
                f"/api/patients/{patient.id}/lab-results?since=2026-02-30", "/api/reception?date=today",
                "/api/patients"):
        response = client.raw.get(url, headers=bearer(token))
        assert response.status_code == 400 and response.json["error"] in {
            "invalid_value", "invalid_type", "missing_parameter"}, url


def test_reads_return_the_record_and_other_clinics_ids_are_404(client, session):
    clinic_a, clinic_b = make_clinic(session), make_clinic(session)
    patient = make_patient(session, clinic_a)
    _make_allergy(session, clinic_a, patient)
    _make_diagnosis(session, clinic_a, patient)
    _make_prescription(session, clinic_a, patient)
    _make_lab_records(session, clinic_a, patient)
    _make_letter(session, clinic_a, patient)
    _make_key_image(session, clinic_a, patient)
    session.commit()
    scopes = ["patient.read", "profile.read", "diagnosis.read", "prescription.read", "lab.read", "document.read",
              "image.read"]
    creds = register_partner(client, clinic_a.institution_code, scopes, name="専門外来ビューア")
    token = token_for(client, creds)
    base = f"/api/patients/{patient.id}"
    get = client.raw.get
    assert get(base, headers=bearer(token)).json["birth_date"] == "1958-03-02"
    assert get(f"/api/patients?q={patient.kana}", headers=bearer(token)).json["items"][0]["id"] == patient.id
    assert get(f"{base}/profile", headers=bearer(token)).json["allergies"][0]["substance"] == "異界 守秘"
    assert get(f"{base}/diagnoses", headers=bearer(token)).json["items"][0]["disease_code"] == "8833421"
    rx = get(f"{base}/prescriptions", headers=bearer(token)).json["items"][0]
    assert rx["rps"][0]["lines"][0]["drug_receipt_code"] == "620098801"
    assert get(f"{base}/lab-orders", headers=bearer(token)).json["items"][0]["order_number"] == "L000000001"
    results = get(f"{base}/lab-results?since={date.today().isoformat()}", headers=bearer(token)).json
    assert results["items"][0]["lab_code"] == "K0111"
    assert get(f"{base}/documents", headers=bearer(token)).json["items"][0]["kind"] == "referral_letter"
    assert get(f"{base}/images", headers=bearer(token)).json["items"][0]["study_uid"] == "1.2.3"
    looks = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)).all()
    assert {e.resource for e in looks} == {"api:patient", "api:patients.search", "api:profile", "api:diagnoses",
                                           "api:prescriptions", "api:lab_orders", "api:lab_results", "api:documents",
                                           "api:images"}
    assert {(e.partner_app_id, e.actor_login, e.user_id) for e in looks} == {(creds.app.id, "app:専門外来ビューア",
                                                                              None)}
    # The same routes with a token of clinic B: not found, never another clinic's data.
    other = issue_token(client, clinic_b.institution_code, scopes)
    for suffix in ("", "/profile", "/diagnoses", "/prescriptions", "/lab-orders", "/lab-results", "/documents",
                   "/images"):
        response = get(base + suffix, headers=bearer(other))
        assert response.status_code == 404 and response.json["error"] == "not_found", suffix
    assert get(f"/api/patients?q={patient.kana}", headers=bearer(other)).json["items"] == []
