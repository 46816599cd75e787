"""require_scope: bearer token checks, 401/403/429 as JSON or OperationOutcome, the access log under the
application's name, clinic isolation, the rate limit shared through the database, no CSRF and no staff session."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app import create_app
from app.core.audit import log_access
from app.core.models import AccessLogEntry
from app.db import db_session
from app.partners.auth import partner, partner_actor, require_scope
from app.partners.models import PartnerRateWindow
from tests.factories import make_clinic, make_patient, make_user
from tests.partners.helpers import bearer, issue_token, register_partner, token_for


def test_missing_and_bad_tokens_answer_401_with_a_bearer_challenge(client, session):
    clinic = make_clinic(session)
    patient = make_patient(session, clinic)
    session.commit()
    url = f"/api/patients/{patient.id}"
    missing = client.raw.get(url)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == 'Bearer realm="kamikarte"'
    assert missing.json["error"] == "unauthorized" and "Bearer" in missing.json["message"]
    for header in ("Bearer nonsense", "Basic abc", "Bearer "):
        response = client.raw.get(url, headers={"Authorization": header})
        assert response.status_code == 401, header
    bad = client.raw.get(url, headers={"Authorization": "Bearer nonsense"})
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_another_clinics_patient_is_404_and_looks_are_logged_by_application(client, session):
    clinic_a, clinic_b = make_clinic(session), make_clinic(session)
    mine, theirs = make_patient(session, clinic_a), make_patient(session, clinic_b)
    session.commit()
    creds = register_partner(client, clinic_a.institution_code, ["patient.read"], name="Web予約")
    token = token_for(client, creds)
    assert client.raw.get(f"/api/patients/{theirs.id}", headers=bearer(token)).status_code == 404
    assert client.raw.get(f"/api/patients/{mine.id}", headers=bearer(token)).status_code == 200
    entries = session.scalars(select(AccessLogEntry)).all()
    assert [(e.clinic_id, e.patient_id, e.user_id, e.partner_app_id, e.actor_login) for e in entries] == [
        (clinic_a.id, mine.id, None, creds.app.id, "app:Web予約")]


def test_rate_limit_is_shared_by_every_process_through_the_database(client, session, config):
    clinic = make_clinic(session)
    patient = make_patient(session, clinic)
    session.commit()
    creds = register_partner(client, clinic.institution_code, ["patient.read"], rate_limit_per_minute=3)
    token = token_for(client, creds)
    url = f"/api/patients/{patient.id}"
    other_process = create_app(config).test_client()  # a second application on the same database
    try:
        codes = [client.raw.get(url, headers=bearer(token)).status_code,
                 other_process.get(url, headers=bearer(token)).status_code,
                 client.raw.get(url, headers=bearer(token)).status_code]
        assert codes == [200, 200, 200]
        limited = other_process.get(url, headers=bearer(token))
    finally:
        other_process.application.extensions["db_engine"].dispose()
    assert limited.status_code == 429 and limited.json["error"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60 and "多すぎます" in limited.json["message"]


def test_partner_routes_ignore_csrf_and_staff_sessions(client, session):
    clinic = make_clinic(session)
    patient = make_patient(session, clinic)
    user = make_user(session, clinic, role="clerk")
    session.commit()
    token = issue_token(client, clinic.institution_code, ["patient.read"])
    client.login(user.login_id, user.totp_secret)
    with client.raw.session_transaction() as staff_session:
        staff_session["locked"] = True  # a locked staff screen in the same browser does not matter to a token
    assert client.raw.get(f"/api/patients/{patient.id}", headers=bearer(token)).status_code == 200
    # A staff cookie alone is no way into the API.
    assert client.raw.get(f"/api/patients/{patient.id}").status_code == 401


def test_fhir_error_format_and_partner_context(config, session):
    application = create_app(config)

    @require_scope("fhir.read", error_format="fhir")
    def probe():
        return {"id": partner().id, "clinic": partner().clinic_id, "login": partner_actor().login_id}

    application.add_url_rule("/_probe/fhir", "probe_fhir", probe)
    test_client = application.test_client()
    try:
        clinic = make_clinic(session)
        session.commit()
        refused = test_client.get("/_probe/fhir")
        assert refused.status_code == 401 and refused.mimetype == "application/fhir+json"
        outcome = refused.json
        assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "login"
        creds = register_partner(test_client, clinic.institution_code, ["fhir.read", "patient.read"], name="FHIR")
        narrow = token_for(test_client, creds, ["patient.read"])
        forbidden = test_client.get("/_probe/fhir", headers=bearer(narrow))
        assert forbidden.status_code == 403 and forbidden.json["issue"][0]["code"] == "forbidden"
        ok = test_client.get("/_probe/fhir", headers=bearer(token_for(test_client, creds, ["fhir.read"])))
        assert ok.json == {"id": creds.app.id, "clinic": clinic.id, "login": "app:FHIR"}
    finally:
        application.extensions["db_engine"].dispose()


def test_a_refused_call_is_counted_too_and_the_count_is_committed_with_the_access_log(client, session):
    clinic, other = make_clinic(session), make_clinic(session)
    mine, theirs = make_patient(session, clinic), make_patient(session, other)
    session.commit()
    creds = register_partner(client, clinic.institution_code, ["patient.read"], rate_limit_per_minute=3)
    token = token_for(client, creds)
    for _ in range(2):  # api_abort(404): an error answer is a call like any other
        assert client.raw.get(f"/api/patients/{theirs.id}", headers=bearer(token)).status_code == 404
    assert client.raw.get(f"/api/patients/{mine.id}", headers=bearer(token)).status_code == 200
    limited = client.raw.get(f"/api/patients/{mine.id}", headers=bearer(token))
    assert limited.status_code == 429
    counted = session.scalar(select(PartnerRateWindow.count).where(PartnerRateWindow.app_id == creds.app.id))
    assert counted == 3, "refused at the door: the limit reached is not counted past"
    looks = session.scalars(select(AccessLogEntry.patient_id).where(AccessLogEntry.partner_app_id == creds.app.id))
    assert list(looks) == [mine.id], "only the call that was answered is in the access log"


def test_a_call_whose_last_slot_another_process_took_meanwhile_answers_429_and_keeps_nothing(config, session):
    """The count is read with the token, the call counted at its end: when another process used the minute's last
    call in between, the view's answer is withheld and its access-log entry rolled back with the count."""
    application = create_app(config)

    @require_scope("patient.read")
    def probe():
        db = application.extensions["db_sessionmaker"]()
        try:  # another process counts the minute's last allowed call while this one works
            db.execute(update(PartnerRateWindow).where(PartnerRateWindow.app_id == partner().id)
                       .values(count=PartnerRateWindow.count + 1))
            db.commit()
        finally:
            db.close()
        log_access(db_session(), partner_actor(), patient_id=patient.id, action="view", resource="probe")
        return {"secret": "the record"}

    application.add_url_rule("/_probe/race", "probe_race", probe)
    test_client = application.test_client()
    try:
        clinic = make_clinic(session)
        patient = make_patient(session, clinic)
        session.commit()
        creds = register_partner(test_client, clinic.institution_code, ["patient.read"], rate_limit_per_minute=2)
        token = token_for(test_client, creds)
        assert test_client.get("/_probe/race", headers=bearer(token)).status_code == 200  # the row is new: 1
        raced = test_client.get("/_probe/race", headers=bearer(token))  # 2 used, then 3: over the limit
        assert raced.status_code == 429 and "secret" not in raced.get_data(as_text=True)
        looks = session.scalar(select(func.count()).select_from(AccessLogEntry)
                               .where(AccessLogEntry.partner_app_id == creds.app.id))
        assert looks == 1, "the withheld answer's access-log entry is rolled back with its count"
    finally:
        application.extensions["db_engine"].dispose()
