"""Other institutions' entries taken into our record over HTTP: a doctor adopts an allergy or a diagnosis in one
step (from the banner or the 6-information screen; source institution and date kept, audited), or dismisses one
with a reason (audited; it leaves the banner). Doctors only; another clinic's entry answers 404."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.core.models import AuditEntry
from app.diagnoses.models import Diagnosis
from app.patients.profile_models import Allergy
from app.prescriptions.drug_master import load_shipped_subset
from app.sharing.models import NationalEntryCopy, NationalEntryDecision
from tests.factories import make_user
from tests.helpers import HTMLClient
from tests.sharing.records import MEMBER, arrange, connect

OTHER = '<span class="sb-other">他院</span>'


@pytest.fixture
def desk(client, session, orca, sharing):
    """山田 太郎 with consent, the 6-information screen opened once by the doctor (the copy is stored)."""
    found = arrange(session, integrations=connect(orca, sharing))
    load_shipped_subset(session)
    session.commit()
    sharing.seed_patient(MEMBER, consent_until=(date.today() + timedelta(days=30)).isoformat(),
                         other_institutions=True)
    client.login(found["doctor"].login_id, found["doctor"].totp_secret)
    page = f"/patients/{found['patient'].id}/sharing"
    client.post(f"{page}/consent", {}, form_page=page)
    assert "アモキシシリン" in client.get(page).get_data(as_text=True)
    return found


def _entry(session, title: str) -> NationalEntryCopy:
    return session.scalars(select(NationalEntryCopy).where(NationalEntryCopy.title == title)).one()


def _banner(client, patient) -> str:
    html = client.get(f"/patients/{patient.id}/profile").get_data(as_text=True)
    start = html.index('id="safety-banner"')
    return html[start:html.index("</details>", start)]


def test_a_doctor_adopts_a_drug_allergy_from_the_banner(client, session, desk):
    patient = desk["patient"]
    assert f"アモキシシリン{OTHER}" in _banner(client, patient)
    entry = _entry(session, "アモキシシリン")
    response = client.post(f"/patients/{patient.id}/sharing/entries/{entry.id}/adopt",
                           {"next": f"/patients/{patient.id}/profile"})
    assert response.status_code == 302 and response.location.endswith(f"/patients/{patient.id}/profile")
    allergy = session.scalars(select(Allergy).where(Allergy.drug_yj_code == "6131001C2119")).one()
    assert allergy.category == "drug" and allergy.drug_receipt_code == "621072701" and allergy.reaction == "全身の発疹"
    assert "みなと総合病院" in allergy.notes and "1310000009" in allergy.notes
    assert (date.today() - timedelta(days=700)).isoformat() in allergy.notes
    banner = _banner(client, patient)
    assert f"アモキシシリン{OTHER}" not in banner and "アモキシシリン細粒２０％「ＴＣＫ」　２００ｍｇ" in banner
    decision = session.scalars(select(NationalEntryDecision)).one()
    assert (decision.decision, decision.subject_type, decision.subject_id) == ("adopted", "patient_allergy", allergy.id)
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "sharing.entry.adopt")).one()
    assert audit.patient_id == patient.id and audit.summary["entry"]["institution_code"] == "1310000009"
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "profile.allergies.create"))
    assert "当院の記録に取り込み済" in client.get(f"/patients/{patient.id}/sharing").get_data(as_text=True)


def test_a_doctor_adopts_a_diagnosis_from_the_six_information_screen(client, session, desk):
    patient = desk["patient"]
    page = f"/patients/{patient.id}/sharing"
    client.get(page)
    entry = _entry(session, "２型糖尿病")
    response = client.post(f"{page}/entries/{entry.id}/adopt", {})
    assert response.status_code == 302 and response.location.endswith(page)
    adopted = session.scalars(select(Diagnosis).where(Diagnosis.display_name == "２型糖尿病")).one()
    assert adopted.icd10 == "E11" and adopted.started_on == date.today() - timedelta(days=900)
    assert "２型糖尿病" in client.get(f"/patients/{patient.id}/diagnoses").get_data(as_text=True)
    again = client.post(f"{page}/entries/{entry.id}/adopt", {}, form_page=page)
    assert "すでに取り込み済み" in client.get(again.location).get_data(as_text=True)
    assert len(session.scalars(select(Diagnosis).where(Diagnosis.display_name == "２型糖尿病")).all()) == 1


def test_an_entry_without_a_master_code_is_not_adopted_and_says_why(client, session, desk):
    patient = desk["patient"]
    entry = _entry(session, "β遮断薬")
    page = f"/patients/{patient.id}/sharing"
    response = client.post(f"{page}/entries/{entry.id}/adopt", {}, form_page=page)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    html = client.get(response.location).get_data(as_text=True)
    assert "医薬品マスターのコードで特定できないため取り込めません" in html
    assert session.scalars(select(NationalEntryDecision)).all() == []


def test_a_dismissed_entry_leaves_the_banner_and_keeps_its_reason(client, session, desk):
    patient = desk["patient"]
    entry = _entry(session, "そば")
    url = f"/patients/{patient.id}/sharing/entries/{entry.id}/dismiss"
    profile = f"/patients/{patient.id}/profile"
    missing = client.post(url, {"next": profile, "reason": " "}, form_page=profile)
    assert "取り込まない理由を入力してください" in client.get(missing.location).get_data(as_text=True)
    assert session.scalars(select(NationalEntryDecision)).all() == []
    client.post(url, {"next": profile, "reason": "当院で確認し症状なし"}, form_page=profile)
    assert f"そば{OTHER}" not in _banner(client, patient)
    decision = session.scalars(select(NationalEntryDecision)).one()
    assert (decision.decision, decision.reason, decision.institution_name) == ("dismissed", "当院で確認し症状なし",
                                                                               "かもめ循環器クリニック")
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "sharing.entry.dismiss")).one()
    assert audit.summary["after"]["reason"] == "当院で確認し症状なし"
    html = client.get(f"/patients/{patient.id}/sharing").get_data(as_text=True)
    assert "取り込まない（却下）" in html and "当院で確認し症状なし" in html


@pytest.mark.parametrize("role", ["nurse", "clerk"])
def test_only_doctors_adopt_or_dismiss(app, session, desk, role):
    other = HTMLClient(app.test_client())
    other.login(desk[role].login_id, desk[role].totp_secret)
    entry = _entry(session, "アモキシシリン")
    base = f"/patients/{desk['patient'].id}/sharing/entries/{entry.id}"
    assert other.post(f"{base}/adopt", {}, form_page="/reception").status_code == 403
    assert other.post(f"{base}/dismiss", {"reason": "x"}, form_page="/reception").status_code == 403
    assert session.scalars(select(NationalEntryDecision)).all() == []


def test_another_clinics_doctor_cannot_touch_the_entry(app, session, desk):
    b = arrange(session, institution_code="1310156789", records=False)
    stranger = make_user(session, b["clinic"], role="doctor")
    session.commit()
    other = HTMLClient(app.test_client())
    other.login(stranger.login_id, stranger.totp_secret)
    entry = _entry(session, "アモキシシリン")
    for patient_id in (desk["patient"].id, b["patient"].id):
        url = f"/patients/{patient_id}/sharing/entries/{entry.id}/adopt"
        assert other.post(url, {}, form_page="/reception").status_code == 404
    assert session.scalars(select(NationalEntryDecision)).all() == []


def test_an_entry_keeps_its_id_from_one_fetch_to_the_next(client, session, desk):
    before = {row.entry_key: row.id for row in session.scalars(select(NationalEntryCopy))}
    client.get(f"/patients/{desk['patient'].id}/sharing")  # another fetch while a page with its buttons is open
    session.expire_all()
    after = {row.entry_key: row.id for row in session.scalars(select(NationalEntryCopy))}
    assert after == before and len(after) == 9


@pytest.mark.parametrize("target", ["https://example.com/patients/1", "//example.com/x", "/patients/1000/profile",
                                    "/reception"])
def test_after_a_decision_only_this_patients_screens_are_returned_to(client, session, desk, target):
    patient = desk["patient"]
    entry = _entry(session, "そば")
    page = f"/patients/{patient.id}/sharing"
    response = client.post(f"{page}/entries/{entry.id}/dismiss", {"next": target, "reason": "該当なし"},
                           form_page=page)
    assert response.status_code == 302 and response.location.endswith(page)
