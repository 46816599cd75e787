"""Clinic isolation and role checks on every route, found by walking the URL map (new routes are covered
automatically; a route with a new kind of id fails until RECORD_FACTORIES knows how to make one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from app.core.security import PERMISSIONS, Role, role_may
from app.db import utcnow
from app.outbox.services import enqueue
from app.reception.models import Visit
from tests.factories import make_clinic, make_patient, make_user
from tests.helpers import HTMLClient

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py

#: A marker that only clinic A's data contains; clinic B must never see it anywhere.
MARKER_NAME = "異界 守秘"
MARKER_KANA = "イカイ シュヒ"


def _make_visit(session, clinic, patient) -> Visit:
    visit = Visit(clinic_id=clinic.id, patient_id=patient.id, visit_date=date.today(), accepted_at=utcnow(),
                  orca_acceptance_id="00077", department_code="01", department_name="内科")
    session.add(visit)
    session.flush()
    return visit


def _make_allergy(session, clinic, patient):
    from app.patients.profile_models import Allergy

    allergy = Allergy(clinic_id=clinic.id, patient_id=patient.id, category="food", substance=MARKER_NAME,
                      severity="mild", recorded_at=utcnow())
    session.add(allergy)
    session.flush()
    allergy.lineage_id = allergy.id
    return allergy


def _make_prescription(session, clinic, patient):
    from app.prescriptions.models import Prescription, PrescriptionLine, PrescriptionRp

    rx = Prescription(clinic_id=clinic.id, patient_id=patient.id, doctor_name="医師", issued_on=date.today(),
                      valid_until=date.today(), remarks=MARKER_NAME)
    rx.rps.append(PrescriptionRp(number=1, form=1, usage_text="１日１回朝食後", quantity=7, lines=[
        PrescriptionLine(seq=1, drug_receipt_code="620098801", drug_name=MARKER_NAME, dose=1, unit="錠")]))
    session.add(rx)
    session.flush()
    return rx


def _make_diagnosis(session, clinic, patient):
    from app.diagnoses.models import Diagnosis

    item = Diagnosis(clinic_id=clinic.id, patient_id=patient.id, disease_code="8833421", display_name=MARKER_NAME,
                     started_on=date.today(), recorded_at=utcnow())
    session.add(item)
    session.flush()
    item.lineage_id = item.id
    return item


def _make_key_image(session, clinic, patient):
    from app.imaging.models import KeyImage

    item = KeyImage(clinic_id=clinic.id, patient_id=patient.id, study_uid="1.2.3", series_uid="1.2.3.1",
                    instance_uid="1.2.3.1.1", frame=1, caption=MARKER_NAME, image_bytes=b"\x89PNG",
                    image_sha256="0" * 64, recorded_at=utcnow())
    session.add(item)
    session.flush()
    item.lineage_id = item.id
    return item


def _make_note(session, clinic, patient):
    from app.notes.models import ProgressNote

    note = ProgressNote(clinic_id=clinic.id, patient_id=patient.id, note_date=date.today(), subjective=MARKER_NAME,
                        recorded_at=utcnow())
    session.add(note)
    session.flush()
    note.lineage_id = note.id
    return note


def _make_note_library(session, clinic, patient):
    from app.notes.models import NoteDraft, NotePhrase, NoteTemplate

    phrase = NotePhrase(clinic_id=clinic.id, title=MARKER_NAME, kana=MARKER_KANA, text=MARKER_NAME)
    template = NoteTemplate(clinic_id=clinic.id, name=MARKER_NAME, body=[{"part": "subjective", "title": "",
                                                                           "fields": [{"kind": "text", "label": "x"}]}])
    author = make_user(session, clinic, role="doctor")
    draft = NoteDraft(clinic_id=clinic.id, patient_id=patient.id, author_id=author.id, note_date=date.today(),
                      subjective=MARKER_NAME)
    session.add_all([phrase, template, draft])
    session.flush()
    template.lineage_id = template.id
    return {"phrase": phrase, "template": template, "draft": draft}
def _make_schema(session, clinic, patient):
    from app.notes.schema_models import SchemaDrawing

    item = SchemaDrawing(clinic_id=clinic.id, patient_id=patient.id, note_date=date.today(), base="chest",
                         title=MARKER_NAME, strokes={"v": 1, "items": []}, png=b"\x89PNG", recorded_at=utcnow())
    session.add(item)
    session.flush()
    item.lineage_id = item.id
    return item


def _make_lab_records(session, clinic, patient):
    from app.labs.models import LabMessage, LabOrder, LabResult, LabSpecimen

    order = LabOrder(clinic_id=clinic.id, patient_id=patient.id, order_number="L000000001", ordered_on=date.today(),
                     comment=MARKER_NAME)
    order.specimens.append(LabSpecimen(clinic_id=clinic.id, patient_id=patient.id, seq=1, specimen_number="0000001018",
                                       specimen="血清", specimen_code="023", container=MARKER_NAME, items=[]))
    message = LabMessage(clinic_id=clinic.id, source="file", raw=MARKER_NAME.encode(), sha256="0" * 64,
                         status="failed", error=MARKER_NAME, patient_id=patient.id)
    session.add_all([order, message])
    session.flush()
    result = LabResult(clinic_id=clinic.id, patient_id=patient.id, message_id=message.id, order_id=order.id,
                       lab_code="K0111",
                       name=MARKER_NAME, value="1", collected_on=date.today(), recorded_at=utcnow())
    session.add(result)
    session.flush()
    result.lineage_id = result.id
    return {"order": order, "lab_message": message, "lab_result": result}


def _make_letter(session, clinic, patient):
    from app.documents.models import ReferralLetter

    letter = ReferralLetter(clinic_id=clinic.id, patient_id=patient.id, author_name="医師", written_on=date.today(),
                            to_institution=MARKER_NAME, purpose=MARKER_NAME)
    session.add(letter)
    session.flush()
    return letter


def _make_transfer_job(session, clinic_id):
    from app.transfer.models import TransferJob

    job = TransferJob(clinic_id=clinic_id, kind="export", state="done", folder="clinic-a/job-1")
    session.add(job)
    session.flush()
    return job


def _make_destination(session, clinic):
    from app.documents.models import ReferralDestination

    entry = ReferralDestination(clinic_id=clinic.id, institution=MARKER_NAME, doctor=MARKER_NAME)
    session.add(entry)
    session.flush()
    return entry


def _make_national_entry(session, clinic, patient):
    from app.sharing.models import NationalEntryCopy

    entry = NationalEntryCopy(clinic_id=clinic.id, patient_id=patient.id, kind="other_allergy",
                              entry_key="1310000009-isolation", title=MARKER_NAME, institution_code="1310000009")
    session.add(entry)
    session.flush()
    return entry


def _make_history_fetch(session, clinic, patient):
    from app.onshi.models import RECEIVED, HistoryFetch

    fetch = HistoryFetch(clinic_id=clinic.id, patient_id=patient.id, kind="medication", business_code="YZKsiquc01",
                         request_id="isolation1", request_body=b"<XmlMsg/>", status=RECEIVED,
                         reply_name="YZKsiquc01res_isolation1.xml", reply_body=MARKER_NAME.encode())
    session.add(fetch)
    session.flush()
    return fetch


def _make_visit_fee(session, visit):
    from app.billing.models import VisitFee

    fee = VisitFee(clinic_id=visit.clinic_id, visit_id=visit.id, patient_id=visit.patient_id,
                   visit_date=visit.visit_date, code="112011010", name=MARKER_NAME)
    session.add(fee)
    session.flush()
    return fee


def _make_partner_app(session, clinic):
    from app.partners.models import PartnerApp

    app = PartnerApp(clinic_id=clinic.id, client_id="kk-isolation", name=MARKER_NAME, scopes=["patient.read"],
                     rate_limit_per_minute=600, active=True, webhook_events=[])
    session.add(app)
    session.flush()
    return app


#: How to make one record of clinic A for each kind of id a route takes.
RECORD_FACTORIES: dict[str, Callable] = {
    "patient_id": lambda s, a: a["patient"].id,
    "user_id": lambda s, a: a["staff"].id,
    "visit_id": lambda s, a: a["visit"].id,
    "fee_id": lambda s, a: _make_visit_fee(s, a["visit"]).id,
    "message_id": lambda s, a: a["message"].id,
    # Profile items: the kind is part of the URL; the item is clinic A's allergy.
    "slug": lambda s, a: "allergies",
    "item_id": lambda s, a: a["allergy"].id,
    "lineage_id": lambda s, a: a["allergy"].lineage_id,
    "prescription_id": lambda s, a: a["prescription"].id,
    "diagnosis_id": lambda s, a: a["diagnosis"].id,
    "diagnosis_lineage_id": lambda s, a: a["diagnosis"].lineage_id,
    # Imaging: PACS UIDs (the study belongs to clinic A's patient only through that patient), a key image.
    "study_uid": lambda s, a: "1.2.3",
    "series_uid": lambda s, a: "1.2.3.1",
    "instance_uid": lambda s, a: "1.2.3.1.1",
    "frame": lambda s, a: 1,
    "key_image_id": lambda s, a: a["key_image"].id,
    "order_id": lambda s, a: a["labs"]["order"].id,
    "lab_message_id": lambda s, a: a["labs"]["lab_message"].id,
    "result_lineage_id": lambda s, a: a["labs"]["lab_result"].lineage_id,
    "letter_id": lambda s, a: a["letter"].id,
    "note_id": lambda s, a: a["note"].id,
    "phrase_id": lambda s, a: a["note_library"]["phrase"].id,
    "template_id": lambda s, a: a["note_library"]["template"].id,
    "draft_id": lambda s, a: a["note_library"]["draft"].id,
    "schema_id": lambda s, a: a["schema"].id,
    "day": lambda s, a: a["note"].note_date.isoformat(),
    "action": lambda s, a: "confirm",
    "destination_id": lambda s, a: a["destination"].id,
    "change": lambda s, a: "retire",
    # A received document is read through the patient: another clinic's patient answers 404 before any fetch.
    "document_id": lambda s, a: "1310000009^2026^Referral-1",
    # The position of an attachment in a received document (the patient decides whose it is).
    "number": lambda s, a: 1,
    # Another institution's entry as the 6-information fetch stored it; one of our records by table and id.
    "entry_id": lambda s, a: a["national_entry"].id,
    "subject_type": lambda s, a: "patient_allergy",
    # A オンライン資格確認 reply file kept as received.
    "fetch_id": lambda s, a: a["history_fetch"].id,
    # A finished export of clinic A (its files are clinic A's records).
    "job_id": lambda s, a: _make_transfer_job(s, a["patient"].clinic_id).id,
    "file": lambda s, a: "manifest.json",
    # A partner application (the administrator's screen of API clients).
    "app_id": lambda s, a: a["partner_app"].id,
}
#: Arguments that are not record ids (file names of public assets).
NON_RECORD_ARGS = {"filename", "name"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or getattr(view, "is_public", False):
            continue
        if getattr(view, "required_scopes", None):
            continue  # partner routes (bearer tokens, scopes): tests/partners/test_scope_matrix.py
        methods = sorted(m for m in rule.methods if m in {"GET", "POST"})
        yield rule, view, methods


@pytest.fixture
def two_clinics(session):
    clinic_a = make_clinic(session)
    clinic_b = make_clinic(session, is_full_chart_mode=True)  # its notes routes are live: isolation, not 404 by mode
    patient = make_patient(session, clinic_a, name=MARKER_NAME, kana=MARKER_KANA)
    a = {
        "clinic": clinic_a,
        "staff": make_user(session, clinic_a, role="clerk"),
        "patient": patient,
        "visit": _make_visit(session, clinic_a, patient),
        "message": enqueue(session, clinic_id=clinic_a.id, kind="test.none", payload={"x": 1}, patient_id=patient.id),
        "allergy": _make_allergy(session, clinic_a, patient),
        "prescription": _make_prescription(session, clinic_a, patient),
        "diagnosis": _make_diagnosis(session, clinic_a, patient),
        "key_image": _make_key_image(session, clinic_a, patient),
        "labs": _make_lab_records(session, clinic_a, patient),
        "letter": _make_letter(session, clinic_a, patient),
        "note": _make_note(session, clinic_a, patient),
        "note_library": _make_note_library(session, clinic_a, patient),
        "schema": _make_schema(session, clinic_a, patient),
        "destination": _make_destination(session, clinic_a),
        "national_entry": _make_national_entry(session, clinic_a, patient),
        "history_fetch": _make_history_fetch(session, clinic_a, patient),
        "partner_app": _make_partner_app(session, clinic_a),
    }
    b_users = {role: make_user(session, clinic_b, role=role.value) for role in Role}
    session.commit()
    return a, b_users


def test_every_route_declares_a_permission(app):
    missing = [rule.rule for rule, view, _ in _routes(app) if not hasattr(view, "required_permission")]
    assert not missing, f"routes without @requires or @public: {missing}"


def test_every_record_route_answers_404_for_another_clinics_record(app, client, session, two_clinics):
    a, b_users = two_clinics
    checked = 0
    clients: dict[Role, HTMLClient] = {}  # one login per account: a one-time code is accepted once per step
    for rule, view, methods in _routes(app):
        args = [arg for arg in rule.arguments if arg not in NON_RECORD_ARGS]
        if not args:
            continue
        unknown = [arg for arg in args if arg not in RECORD_FACTORIES]
        assert not unknown, f"{rule.rule}: add a factory for {unknown} to RECORD_FACTORIES"
        permission = view.required_permission
        role = next(r for r in Role if role_may(r, permission))
        if role not in clients:
            clients[role] = HTMLClient(app.test_client())
            clients[role].login(b_users[role].login_id, b_users[role].totp_secret)
        client = clients[role]
        url = rule.build({arg: RECORD_FACTORIES[arg](session, a) for arg in args}, append_unknown=False)[1]
        for method in methods:
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, {}, form_page="/reception")
            assert response.status_code == 404, f"{method} {url} as clinic B {role}: {response.status_code}"
            checked += 1
    assert checked > 0


def test_no_listing_route_shows_another_clinics_data(app, client, session, two_clinics):
    a, b_users = two_clinics
    user = b_users[Role.ADMIN]
    client.login(user.login_id, user.totp_secret)
    for rule, _view, methods in _routes(app):
        if rule.arguments or "GET" not in methods:
            continue
        queries = ("", "?q=イカイ", "?q=異界", f"?q={a['patient'].orca_patient_id}", f"?patient_id={a['patient'].id}")
        for query in queries:
            response = client.get(rule.rule + query)
            body = response.get_data(as_text=True)
            assert MARKER_NAME not in body and MARKER_KANA not in body, f"{rule.rule}{query} leaks clinic A data"


@pytest.mark.parametrize("role", list(Role))
def test_roles_without_the_permission_get_403(app, client, session, role):
    clinic = make_clinic(session)
    user = make_user(session, clinic, role=role.value)
    session.commit()
    client.login(user.login_id, user.totp_secret)
    for rule, view, methods in _routes(app):
        if role_may(role, view.required_permission) or rule.arguments:
            continue
        for method in methods:
            response = client.get(rule.rule) if method == "GET" else client.post(rule.rule, {}, form_page="/reception")
            assert response.status_code == 403, f"{method} {rule.rule} as {role}: {response.status_code}"


def test_permission_table_names_only_real_roles():
    for permission, roles in PERMISSIONS.items():
        assert roles and roles <= set(Role), permission
