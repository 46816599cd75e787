"""Registration of the clinic's own 6 information: a confirmed record (saved over HTTP) queues an outbox message,
the outbox delivers the validated JP_Bundle_CLINS to the simulator, and the screen shows each item's state —
registered, retried after a failure (nothing lost), or refused with the service's reason."""

from __future__ import annotations

from sqlalchemy import select

from app.outbox import worker as outbox
from app.outbox.models import DEAD, DELIVERED, PENDING, OutboxMessage
from app.prescriptions.drug_master import load_shipped_subset
from app.sharing.models import REFUSED, REGISTERED, RETRYING, SharingRegistration
from tests.helpers import HTMLClient
from tests.prescriptions.test_prescriptions import THREE_LINES, _issue
from tests.sharing.records import MEMBER, arrange, connect


def _deliver(app) -> None:
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)


def _add_diagnosis(client, patient):
    page = f"/patients/{patient.id}/diagnoses"
    return client.post(page, {"disease_code": "2500015", "started_on": "2026-04-01", "outcome": "continuing"},
                       form_page=page)


def test_a_confirmed_diagnosis_is_registered_through_the_outbox(app, client, session, sharing):
    desk = arrange(session, integrations=connect(sharing=sharing), records=False)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    assert _add_diagnosis(client, desk["patient"]).status_code == 302
    registration = session.scalars(select(SharingRegistration)).one()
    assert registration.status == "queued" and registration.kind == "condition"
    page = client.get(f"/patients/{desk['patient'].id}/sharing").get_data(as_text=True)
    assert "２型糖尿病" in page and "送信待ち" in page
    _deliver(app)
    session.expire_all()
    assert session.get(SharingRegistration, registration.id).status == REGISTERED
    held = sharing.registered()["patients"][MEMBER]["resources"]
    assert [r["code"]["text"] for r in held] == ["２型糖尿病"]
    assert held[0]["meta"]["profile"] == ["http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Condition_eCS"]
    assert "登録済" in client.get(f"/patients/{desk['patient'].id}/sharing").get_data(as_text=True)


def test_profile_items_and_prescriptions_are_queued_too(app, client, session, sharing):
    desk = arrange(session, integrations=connect(sharing=sharing), records=False)
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    patient = desk["patient"]
    for slug, data in (("allergies", {"category": "food", "drug_scope": "product", "substance": "そば",
                                      "reaction": "蕁麻疹", "severity": "moderate"}),
                       ("infections", {"kind": "hbs_ag", "result": "negative", "tested_on": "2026-04-01"}),
                       ("past-history", {"disease": "虫垂炎", "period": "2010年"})):
        response = client.post(f"/patients/{patient.id}/profile/{slug}", data,
                               form_page=f"/patients/{patient.id}/profile/{slug}/new")
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    doctor = HTMLClient(app.test_client())
    doctor.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    load_shipped_subset(session)
    session.commit()
    _, issued = _issue(doctor, patient, THREE_LINES)
    assert issued.status_code == 302
    kinds = sorted(r.kind for r in session.scalars(select(SharingRegistration)))
    assert kinds == ["infection", "medication", "other_allergy"]  # 既往歴 is not one of the 6 information
    _deliver(app)
    session.expire_all()
    assert {r.status for r in session.scalars(select(SharingRegistration))} == {REGISTERED}
    held = sharing.registered()["patients"][MEMBER]["resources"]
    assert sorted(r["resourceType"] for r in held) == ["AllergyIntolerance", "MedicationRequest",
                                                       "MedicationRequest", "MedicationRequest", "Observation"]


def test_service_down_is_retried_and_nothing_is_lost(app, client, session, sharing):
    desk = arrange(session, integrations=connect(sharing=sharing), records=False)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _add_diagnosis(client, desk["patient"])
    sharing.set_fault("down")
    _deliver(app)
    session.expire_all()
    registration = session.scalars(select(SharingRegistration)).one()
    assert registration.status == RETRYING and "サービス停止中" in registration.reason
    assert session.scalars(select(OutboxMessage)).one().status == PENDING
    assert "再送待ち" in client.get(f"/patients/{desk['patient'].id}/sharing").get_data(as_text=True)
    _deliver(app)
    session.expire_all()
    assert session.get(SharingRegistration, registration.id).status == REGISTERED
    assert session.scalars(select(OutboxMessage)).one().status == DELIVERED


def test_a_refusal_keeps_the_services_reason(app, client, session, sharing):
    bad = [{"name": "国保", "insurer_number": "138", "symbol": "", "number": "123", "branch": "00"}]
    desk = arrange(session, integrations=connect(sharing=sharing), records=False, insurances=bad)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _add_diagnosis(client, desk["patient"])
    _deliver(app)
    session.expire_all()
    registration = session.scalars(select(SharingRegistration)).one()
    assert registration.status == REFUSED and "保険者番号:記号:番号:枝番 の形ではありません" in registration.reason
    assert session.scalars(select(OutboxMessage)).one().status == DEAD
    html = client.get(f"/patients/{desk['patient'].id}/sharing").get_data(as_text=True)
    assert "登録拒否" in html and "の形ではありません" in html


def test_a_patient_without_insurance_is_refused_before_anything_leaves(app, client, session, sharing):
    desk = arrange(session, integrations=connect(sharing=sharing), records=False, insurances=[])
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _add_diagnosis(client, desk["patient"])
    _deliver(app)
    session.expire_all()
    registration = session.scalars(select(SharingRegistration)).one()
    assert registration.status == REFUSED and "保険情報" in registration.reason
    assert sharing.registered()["registrations"] == 0


def test_nothing_is_queued_when_the_clinic_is_not_connected(client, session):
    desk = arrange(session, records=False)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    assert _add_diagnosis(client, desk["patient"]).status_code == 302
    assert session.scalars(select(SharingRegistration)).all() == []


def test_a_correction_replaces_the_registered_item_at_the_service(app, client, session, sharing):
    from app.diagnoses.models import Diagnosis

    desk = arrange(session, integrations=connect(sharing=sharing), records=False)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _add_diagnosis(client, desk["patient"])
    _deliver(app)
    first = session.scalars(select(Diagnosis)).one()
    edit = f"/patients/{desk['patient'].id}/diagnoses/{first.id}/edit"
    client.get(edit)
    response = client.post(edit, {"disease_code": "2500015", "started_on": "2026-04-01", "outcome": "cured",
                                  "ended_on": "2026-10-01", "change_reason": "治癒を確認"}, form_page=edit)
    assert response.status_code == 302
    _deliver(app)
    held = sharing.registered()["patients"][MEMBER]["resources"]
    assert len(held) == 1 and held[0]["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert held[0]["abatementDateTime"] == "2026-10-01"
    # As the service defines a change: 取消 of the registered item, then 再登録 of the corrected version.
    assert sharing.registered()["withdrawals"] == 1
    session.expire_all()
    states = session.scalars(select(SharingRegistration.status).order_by(SharingRegistration.id)).all()
    assert states == ["replaced", REGISTERED]


def test_a_withdrawn_item_and_a_cancelled_prescription_reach_the_service(app, client, session, sharing):
    from app.patients.profile_models import Allergy
    from app.prescriptions.models import Prescription

    desk = arrange(session, integrations=connect(sharing=sharing), records=False)
    load_shipped_subset(session)
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    page = f"/patients/{patient.id}/profile/allergies/new"
    client.post(f"/patients/{patient.id}/profile/allergies", {"category": "food", "drug_scope": "product",
                                                             "substance": "そば", "severity": "mild"}, form_page=page)
    _issue(client, patient, THREE_LINES)
    _deliver(app)
    held = sharing.registered()["patients"][MEMBER]["resources"]
    assert sorted(r["resourceType"] for r in held) == ["AllergyIntolerance"] + ["MedicationRequest"] * 3
    allergy = session.scalars(select(Allergy)).one()
    edit = f"/patients/{patient.id}/profile/allergies/{allergy.id}/edit"
    assert client.post(f"/patients/{patient.id}/profile/allergies/{allergy.id}/retract", {"reason": "別患者の記録"},
                       form_page=edit).status_code == 302
    rx = session.scalars(select(Prescription)).one()
    show = f"/patients/{patient.id}/prescriptions/{rx.id}"
    assert client.post(f"{show}/cancel", {"reason": "用量の誤り", "then": ""}, form_page=show).status_code == 302
    _deliver(app)
    held = sharing.registered()["patients"][MEMBER]["resources"]
    assert [r["resourceType"] for r in held] == ["MedicationRequest"] * 3  # the allergy is withdrawn
    assert {r["status"] for r in held} == {"cancelled"}  # the same three items, now cancelled
    states = {r.kind: r.status for r in session.scalars(select(SharingRegistration).order_by(SharingRegistration.id))}
    assert states["other_allergy"] == "withdrawn"
