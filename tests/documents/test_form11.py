"""The referral letter as 別紙様式11: every section printed even when empty, one honorific after the addressee, the
patient's address, phone and occupation from ORCA, and the clinic's 紹介先 address book that fills the form."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.core.audit import SYSTEM
from app.core.models import AccessLogEntry, AuditEntry
from app.core.timeutil import japan_today
from app.documents.addressing import addressee, strip_honorific
from app.documents.models import ReferralDestination, ReferralLetter
from app.documents.printing import letter_pdf
from app.integrations.orca.parsing import read_patient
from app.patients.models import Patient
from app.patients.services import upsert_patient
from app.reception.orca_sync import orca_client_for, sync_patient, sync_patient_master
from simulators.orca.data import DEFAULT_CLINICS, make_patients
from tests.factories import make_clinic, make_user
from tests.helpers import HTMLClient
from tests.printing.pdf_tools import pdf_text
from tests.sharing.records import arrange, connect

#: 様式11's blocks and sections, as headed on the printed letter.
HEADINGS = ("診 療 情 報 提 供 書", "紹介元医療機関の所在地及び名称", "電話番号", "医師氏名", "患者氏名", "性別",
            "生年月日", "職業", "住所", "傷病名", "紹介目的", "既往歴及び家族歴", "症状経過及び検査結果", "治療経過",
            "現在の処方", "アレルギー・薬剤禁忌", "添付画像", "備考")


@pytest.fixture
def desk(session, orca, sharing):
    return arrange(session, integrations=connect(orca=orca, sharing=sharing))


def _letter(desk, **values) -> ReferralLetter:
    fields = {"to_institution": "みなと総合病院", "to_institution_code": "", "to_department": "", "to_doctor": "",
              "honorific": "先生", "purpose": "精査のお願い", "diagnoses": "", "history": "", "course": "",
              "treatment": "", "medicines": "", "lab_results": "", "allergies": "", "images": "", "remarks": ""}
    return ReferralLetter(id=7, clinic_id=desk["clinic"].id, patient_id=desk["patient"].id, author_name="医師 一郎",
                          written_on=japan_today(), **{**fields, **values})


@pytest.mark.parametrize(("doctor", "honorific", "expected"), [
    ("港 一郎", "先生", "港 一郎 先生"), ("港 一郎 先生", "先生", "港 一郎 先生"),
    ("港 一郎 先生", "御侍史", "港 一郎 御侍史"), ("港　一郎先生 殿", "御机下", "港　一郎 御机下"),
    ("", "先生", "担当医 先生"), ("", "御侍史", "御侍史"), ("先生", "御机下", "御机下"),
    ("港 一郎", "殿", "港 一郎 先生"),
])
def test_one_honorific_whatever_was_typed(doctor, honorific, expected):
    printed = addressee(doctor, honorific)
    assert printed == expected
    assert sum(printed.count(h) for h in ("先生", "殿", "御侍史", "御机下")) == 1


def test_a_name_is_stored_without_its_honorific():
    assert strip_honorific(" 港 一郎 先生 御侍史 ") == "港 一郎" and strip_honorific("様似 太郎") == "様似 太郎"


def test_an_empty_letter_prints_every_section_heading(session, desk, tmp_path):
    text = pdf_text(letter_pdf(_letter(desk), desk["patient"], desk["clinic"]), tmp_path)
    missing = [heading for heading in HEADINGS if heading not in text]
    assert not missing, missing
    assert "担当医 先生" in text and "殿" not in text


def test_the_printed_letter_carries_treatment_and_the_chosen_honorific(session, desk, tmp_path):
    letter = _letter(desk, to_doctor="港 一郎", honorific="御侍史", treatment="アムロジピン5mgで加療中。",
                     to_department="循環器内科")
    text = pdf_text(letter_pdf(letter, desk["patient"], desk["clinic"]), tmp_path)
    assert "港 一郎 御侍史" in text and "先生" not in text and "殿" not in text
    assert "アムロジピン5mgで加療中。" in text and "循環器内科" in text
    nameless = pdf_text(letter_pdf(_letter(desk, honorific="御机下"), desk["patient"], desk["clinic"]), tmp_path)
    assert "御机下" in nameless and "担当医" not in nameless and "先生" not in nameless


def test_address_phone_and_occupation_come_from_orca_and_are_printed(client, session, desk, tmp_path):
    clinic, patient = desk["clinic"], desk["patient"]
    # What the simulator serves for 00001, as ORCA's patientgetv2 Patient_Information.
    served = make_patients(DEFAULT_CLINICS[0], japan_today())["00001"]
    home = served["Home_Address_Information"]
    assert served["Occupation"] and home["PhoneNumber1"]
    sync_patient(session, clinic, orca_client_for(clinic), patient.orca_patient_id)
    session.commit()
    session.refresh(patient)
    assert patient.address == home["WholeAddress1"] + home["WholeAddress2"]
    assert (patient.postal_code, patient.phone, patient.occupation) == (home["Address_ZipCode"], home["PhoneNumber1"],
                                                                        served["Occupation"])
    text = pdf_text(letter_pdf(_letter(desk), patient, clinic), tmp_path)
    for value in (patient.address, patient.phone, patient.occupation, f"〒{patient.postal_code}"):
        assert value in text, value
    # The list API carries no 職業: a master pull keeps the occupation we know.
    sync_patient_master(session, clinic, orca_client_for(clinic))
    session.commit()
    session.refresh(patient)
    assert patient.occupation == served["Occupation"]


def test_read_patient_takes_occupation_from_patientinfo():
    record = {"Patient_ID": "00010", "WholeName": "港　花子", "WholeName_inKana": "ミナト　ハナコ",
              "BirthDate": "1980-04-01", "Sex": "2", "Occupation": "会社員",
              "Home_Address_Information": {"Address_ZipCode": "1130021", "WholeAddress1": "東京都文京区本駒込",
                                           "WholeAddress2": "６－１６－３", "PhoneNumber1": "03-3333-2222"}}
    patient = read_patient(record)
    assert (patient.occupation, patient.phone, patient.address) == ("会社員", "03-3333-2222",
                                                                    "東京都文京区本駒込６－１６－３")
    assert read_patient({k: v for k, v in record.items() if k != "Occupation"}).occupation == ""


ENTRY = {"institution": "みなと総合病院", "institution_code": "1310000009", "department": "循環器内科",
         "doctor": "港 一郎 先生", "postal_code": "105-0011", "address": "東京都港区芝公園一丁目１番",
         "phone": "03-0000-9999", "fax": "03-0000-9998"}


def _add(client, **values):
    return client.post("/referral-destinations/new", {**ENTRY, **values}, form_page="/referral-destinations/new")


def test_the_address_book_adds_edits_retires_and_is_audited(client, session, desk):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    refused = _add(client, institution="", institution_code="12", phone="03-xxxx", postal_code="12")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "医療機関名を入力してください" in body and "10桁の数字" in body
    assert "電話番号は数字とハイフンで" in body and "郵便番号は7桁" in body and "03-0000-9998" in body
    assert session.scalars(select(ReferralDestination)).all() == []
    assert _add(client).status_code == 302
    entry = session.scalars(select(ReferralDestination)).one()
    assert entry.doctor == "港 一郎" and entry.clinic_id == desk["clinic"].id and entry.fax == "03-0000-9998"
    listed = client.get("/referral-destinations").get_data(as_text=True)
    assert "みなと総合病院" in listed and "03-0000-9999" in listed
    edit = f"/referral-destinations/{entry.id}/edit"
    assert client.post(edit, {**ENTRY, "doctor": "芝 次郎"}, form_page=edit).status_code == 302
    client.post(f"/referral-destinations/{entry.id}/retire", {}, form_page="/referral-destinations")
    session.expire_all()
    assert entry.doctor == "芝 次郎" and entry.retired_at is not None
    assert "使用停止中の紹介先" in client.get("/referral-destinations").get_data(as_text=True)
    assert "芝 次郎" not in client.get(f"/patients/{desk['patient'].id}/letters/new").get_data(as_text=True)
    client.post(f"/referral-destinations/{entry.id}/restore", {}, form_page="/referral-destinations")
    session.expire_all()
    assert entry.retired_at is None
    actions = [e.action for e in session.scalars(select(AuditEntry).where(
        AuditEntry.entity_type == "referral_destination").order_by(AuditEntry.id))]
    assert actions == ["referral_destination.create", "referral_destination.update", "referral_destination.retire",
                       "referral_destination.restore"]
    looked = {e.resource for e in session.scalars(select(AccessLogEntry).where(
        AccessLogEntry.user_id == desk["doctor"].id))}
    assert {"referral_destinations", f"referral_destination:{entry.id}"} <= looked


def test_the_letter_form_is_filled_from_the_address_book_and_stays_editable(client, session, desk, tmp_path):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _add(client)
    entry = session.scalars(select(ReferralDestination)).one()
    page = f"/patients/{desk['patient'].id}/letters/new"
    form = client.get(page).get_data(as_text=True)
    assert f'value="{entry.id}" data-institution="みなと総合病院" data-institution-code="1310000009"' in form
    assert 'data-doctor="港 一郎"' in form and 'name="honorific" value="御侍史"' in form
    # Without the page's script: the chosen entry fills the empty 紹介先 fields.
    created = client.post(f"/patients/{desk['patient'].id}/letters",
                          {"destination_id": str(entry.id), "purpose": "精査のお願い", "honorific": "御侍史"},
                          form_page=page)
    assert created.status_code == 302
    letter = session.scalars(select(ReferralLetter)).one()
    assert (letter.to_institution, letter.to_institution_code, letter.to_department, letter.to_doctor,
            letter.honorific, letter.destination_id) == ("みなと総合病院", "1310000009", "循環器内科", "港 一郎",
                                                         "御侍史", entry.id)
    text = pdf_text(client.get(f"{created.location}/pdf").data, tmp_path)
    assert "港 一郎 御侍史" in text and "先生" not in text and "殿" not in text
    # What the doctor changed after choosing is kept; the honorific can be changed on a draft.
    edit = f"{created.location}/edit"
    assert f'<option value="{entry.id}"' in client.get(edit).get_data(as_text=True)
    client.post(edit, {"destination_id": str(entry.id), "to_institution": "みなと総合病院", "to_department": "心臓外科",
                       "to_doctor": "", "purpose": "精査のお願い", "honorific": "先生"}, form_page=edit)
    session.expire_all()
    assert (letter.to_department, letter.to_doctor, letter.honorific) == ("心臓外科", "", "先生")
    assert "担当医 先生" in client.get(created.location).get_data(as_text=True)
    # Retired since: the letter's own entry is still offered on its form (marked) and can be kept.
    client.post(f"/referral-destinations/{entry.id}/retire", {}, form_page="/referral-destinations")
    assert "港 一郎 医師（使用停止）" in client.get(edit).get_data(as_text=True)
    kept = client.post(edit, {"destination_id": str(entry.id), "to_institution": "みなと総合病院",
                              "purpose": "精査のお願い", "honorific": "御机下"}, form_page=edit)
    assert kept.status_code == 302
    session.expire_all()
    assert (letter.destination_id, letter.honorific) == (entry.id, "御机下")


def test_another_clinics_entry_or_an_unknown_honorific_is_refused(client, session, desk):
    other = make_clinic(session)
    foreign = ReferralDestination(clinic_id=other.id, institution="他院の登録")
    session.add(foreign)
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{desk['patient'].id}/letters/new"
    form = client.get(page).get_data(as_text=True)
    assert "他院の登録" not in form
    refused = client.post(f"/patients/{desk['patient'].id}/letters",
                          {"destination_id": str(foreign.id), "purpose": "x", "to_institution": "y"}, form_page=page)
    assert refused.status_code == 422 and "紹介先の登録が見つかりません" in refused.get_data(as_text=True)
    wrong = client.post(f"/patients/{desk['patient'].id}/letters",
                        {"purpose": "x", "to_institution": "y", "honorific": "殿"}, form_page=page)
    assert wrong.status_code == 422
    assert "敬称は「先生」「御侍史」「御机下」から選んでください" in wrong.get_data(as_text=True)
    assert session.scalars(select(ReferralLetter)).all() == []
    assert client.get(f"/referral-destinations/{foreign.id}/edit").status_code == 404
    assert client.post(f"/referral-destinations/{foreign.id}/retire", {},
                       form_page="/referral-destinations").status_code == 404
    session.refresh(foreign)
    assert foreign.retired_at is None


def test_address_book_roles_and_csrf(app, client, session, desk):
    admin = make_user(session, desk["clinic"], role="admin")
    session.commit()
    for user, status in ((desk["nurse"], 403), (desk["clerk"], 403), (admin, 200), (desk["doctor"], 200)):
        other = HTMLClient(app.test_client())
        other.login(user.login_id, user.totp_secret)
        assert other.get("/referral-destinations").status_code == status, user.role
        assert other.get("/referral-destinations/new").status_code == status, user.role
    client.login(admin.login_id, admin.totp_secret, offset_steps=1)  # this step's code was used just above
    forged = client.raw.post("/referral-destinations/new", data={**ENTRY, "csrf_token": "forged"})
    assert forged.status_code == 400 and session.scalars(select(ReferralDestination)).all() == []
    assert _add(client).status_code == 302  # an admin keeps the book too
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "referral_destination.create")).one()


def test_a_patients_snapshot_records_the_occupation_change(session):
    clinic = make_clinic(session)
    data = {"orca_patient_id": "00077", "name": "港　花子", "kana": "ミナト　ハナコ", "sex": "F",
            "birth_date": date(1980, 4, 1), "occupation": "会社員"}
    patient = upsert_patient(session, clinic.id, SYSTEM, data)
    upsert_patient(session, clinic.id, SYSTEM, {**data, "occupation": "自営業"})
    assert session.get(Patient, patient.id).occupation == "自営業"
    change = session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.update_from_orca")).one()
    assert "occupation" in str(change.summary)
