"""電子処方箋 end to end: the FHIR document (checked against JAMI's published examples), delivery through the
outbox to the service simulator over real HTTP, the 引換番号 and the service's duplicate check on the
prescription, a service that is down (nothing lost), a refused document, cancellation."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.outbox import worker as outbox
from app.outbox.models import OutboxMessage
from app.prescriptions.drug_master import load_shipped_subset
from app.prescriptions.fhir import EPrescriptionError, build_bundle, validate_bundle
from app.prescriptions.models import Prescription
from tests.factories import make_clinic, make_patient, make_user
from tests.prescriptions.test_prescriptions import AFTER_MEALS_3, AMLODIPINE, LOXONIN, MUCOSTA, _form, _issue

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "eprescription"
CLINIC = "1310123458"


@pytest.fixture
def desk(session, eprescription):
    clinic = make_clinic(session, institution_code=CLINIC, integrations={"eprescription": {
        "base_url": eprescription.base_url(CLINIC), "token": eprescription.token(CLINIC)}})
    doctor = make_user(session, clinic, role="doctor", display_name="医師 一郎")
    patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ", birth_date=date(1958, 3, 2),
                           insurances=[{"name": "協会けんぽ", "insurer_number": "01130012", "symbol": "75131378",
                                        "number": "7812312", "branch": "00", "relation": "本人",
                                        "burden_percent": 30}])
    load_shipped_subset(session)
    session.commit()
    return {"clinic": clinic, "doctor": doctor, "patient": patient}


RPS = [("1", AFTER_MEALS_3, "", "14", [(LOXONIN, "3", True, False), (MUCOSTA, "3", False, True)]),
       ("2", "", "疼痛時", "5", [(AMLODIPINE, "1", False, False)])]


def _deliver(app) -> None:
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)


def test_jami_examples_pass_our_validator():
    bundles = sorted(SAMPLES.glob("Bundle-*.json"))
    assert [p.name for p in bundles] == ["Bundle-Bundle-for-JP-MedReq-ePreBundleExample01.json",
                                         "Bundle-Bundle-for-JP-MedReq-ePreData-Example01.json"]
    for path in bundles:
        validate_bundle(json.loads(path.read_text(encoding="utf-8")))


def test_document_shape_matches_the_published_examples(app, client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _issue(client, desk["patient"], RPS)
    rx = session.scalars(select(Prescription)).one()
    bundle = build_bundle(rx, desk["patient"], desk["clinic"])
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Composition" and kinds.count("MedicationRequest") == 3 and "Coverage" in kinds
    requests = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
    generic, brand, prn = requests
    assert generic["medicationCodeableConcept"]["coding"][0] == {
        "system": "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode", "code": "1149019F1ZZZ",
        "display": "【般】ロキソプロフェンＮａ錠６０ｍｇ"}
    assert brand["medicationCodeableConcept"]["coding"][0]["system"] == "urn:oid:1.2.392.100495.20.1.73"
    assert brand["substitution"]["allowedCodeableConcept"]["coding"][0]["code"] == "1"  # 変更不可
    assert generic["dosageInstruction"][0]["timing"]["code"]["coding"][0]["code"] == AFTER_MEALS_3
    assert generic["dispenseRequest"]["quantity"] == {"value": 42, "unit": "錠", "system":
                                                      "urn:oid:1.2.392.100495.20.2.101", "code": "TAB"}
    assert [i["value"] for i in prn["identifier"]] == ["2", "1"]  # Rp 2, first drug
    issuer = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Organization"
                  and e["resource"]["type"][0]["coding"][0]["code"] == "prov")
    assert issuer["identifier"][0]["value"] == CLINIC and issuer["extension"][0]["valueIdentifier"]["value"] == "13"


def test_electronic_prescription_gets_its_exchange_number_through_the_outbox(app, client, desk, session,
                                                                              eprescription, tmp_path):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    page = f"/patients/{patient.id}/prescriptions/new"
    assert "電子処方箋" in client.get(page).get_data(as_text=True)
    _, issued = _issue(client, patient, RPS, mode="electronic")
    assert issued.status_code == 302
    rx = session.scalars(select(Prescription)).one()
    assert rx.mode == "electronic" and rx.eprescription_status == "sending"
    _deliver(app)
    session.expire_all()
    rx = session.get(Prescription, rx.id)
    assert rx.eprescription_status == "registered" and len(rx.exchange_number) == 8
    html = client.get(issued.location).get_data(as_text=True)
    assert f"引換番号 {rx.exchange_number}" in html
    from tests.printing.pdf_tools import pdf_text

    copy = client.get(f"/patients/{patient.id}/prescriptions/{rx.id}/print.pdf")
    assert copy.mimetype == "application/pdf" and rx.exchange_number in pdf_text(copy.data, tmp_path)
    # The service's own check: the same ingredient prescribed again is a duplicate.
    _issue(client, patient, RPS, mode="electronic")
    _deliver(app)
    session.expire_all()
    second = session.scalars(select(Prescription).order_by(Prescription.id.desc())).first()
    assert any("重複投薬の可能性" in w for w in second.eprescription_warnings)
    assert "重複投薬の可能性" in client.get(f"/patients/{patient.id}/prescriptions/{second.id}").get_data(as_text=True)
    # Cancelling sends the cancellation to the service too.
    show = f"/patients/{patient.id}/prescriptions/{rx.id}"
    client.post(f"{show}/cancel", {"reason": "処方内容の誤り", "then": ""}, form_page=show)
    _deliver(app)
    session.expire_all()
    assert session.get(Prescription, rx.id).eprescription_status == "cancelled"
    assert eprescription.prescriptions()[rx.eprescription_id]["status"] == "cancelled"


def test_service_down_loses_nothing_and_delivers_later(app, client, desk, session, eprescription):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    eprescription.set_fault("down", times=1)
    _issue(client, desk["patient"], RPS, mode="electronic")
    _deliver(app)
    session.expire_all()
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "eprescription.register")).one()
    assert message.status == "pending" and "HTTP 503" in message.last_error
    rx = session.scalars(select(Prescription)).one()
    assert rx.eprescription_status == "sending"
    _deliver(app)
    session.expire_all()
    assert session.get(Prescription, rx.id).eprescription_status == "registered"


def test_a_document_the_service_refuses_is_kept_with_its_reason(app, client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _issue(client, desk["patient"], RPS, mode="electronic")
    message = session.scalars(select(OutboxMessage)).one()
    broken = dict(message.payload)
    broken["bundle"] = {**broken["bundle"], "entry": broken["bundle"]["entry"][:3]}  # no MedicationRequest
    message.payload = broken
    session.commit()
    _deliver(app)
    session.expire_all()
    rx = session.scalars(select(Prescription)).one()
    assert rx.eprescription_status == "rejected" and "MedicationRequest がありません" in rx.eprescription_error
    assert session.get(OutboxMessage, message.id).status == "dead"


def test_a_drug_without_a_yj_code_cannot_be_electronic(session, desk):
    from app.prescriptions.models import PrescriptionLine, PrescriptionRp

    rx = Prescription(clinic_id=desk["clinic"].id, patient_id=desk["patient"].id, doctor_name="医師 一郎",
                      issued_on=date.today(), valid_until=date.today())
    rx.rps.append(PrescriptionRp(number=1, form=1, usage_text="１日１回朝食後", quantity=7, lines=[
        PrescriptionLine(seq=1, drug_receipt_code="620000000", drug_name="コードなし錠", dose=1, unit="錠")]))
    session.add(rx)
    session.flush()
    with pytest.raises(EPrescriptionError, match="薬価基準コード"):
        build_bundle(rx, desk["patient"], desk["clinic"])


def test_without_a_connection_electronic_is_refused(client, session, desk):
    desk["clinic"].integrations = {}
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    page = f"/patients/{patient.id}/prescriptions/new"
    response = client.post(page, _form(RPS, action="issue", mode="electronic"), form_page=page)
    assert response.status_code == 422 and "接続が設定されていない" in response.get_data(as_text=True)
