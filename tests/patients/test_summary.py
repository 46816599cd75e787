"""The patient summary over HTTP — the page a patient link opens: the doctor's glance (diagnoses, medicines ours and
other institutions', vitals with their trend, the newest results with H/L, today's visit, open orders, letters,
key images), each linking into its screen; each empty section says so; clerks see reception and insurance only;
outside services are never called; the number of queries does not grow with the patient's history."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.core.models import AccessLogEntry
from app.core.timeutil import japan_today
from app.prescriptions.models import PrescriptionLine
from app.sharing.models import NationalEntryCopy, SharingConsent
from bench.summary import History, seed_history
from tests.factories import make_clinic, make_patient, make_user
from tests.helpers import counted_statements

#: A sharing service nobody listens on: the summary must never need it.
NOWHERE = {"sharing": {"base_url": "http://127.0.0.1:9/sharing", "token": "unused"}}
SMALL = History(results=40, prescriptions=3, letters=2, vitals=2, diagnoses=3, key_images=1)
BIGGER = History(results=300, prescriptions=40, letters=12, vitals=30, diagnoses=15, key_images=6)


@pytest.fixture
def desk(session):
    clinic = make_clinic(session, integrations=NOWHERE)
    staff = {role: make_user(session, clinic, role=role) for role in ("doctor", "nurse", "clerk", "admin")}
    session.commit()
    return clinic, staff


def _section(html: str, name: str) -> str:
    start = html.index(f'id="summary-{name}"')
    return html[start:html.index("</section>", start)]


def test_the_doctor_sees_the_glance_each_part_linking_into_its_screen(client, session, desk):
    clinic, staff = desk
    patient_id = seed_history(session, clinic.id, SMALL)
    client.login(staff["doctor"].login_id, staff["doctor"].totp_secret)
    html = client.get(f"/patients/{patient_id}").get_data(as_text=True)

    today = _section(html, "today")
    assert "内科" in today and "受付済" in today and "受付番号 送信待ち" in today
    diagnoses = _section(html, "diagnoses")
    assert "高血圧症" in diagnoses and "主病" in diagnoses and f"/patients/{patient_id}/diagnoses" in diagnoses
    assert "高血圧症1" not in diagnoses  # cured: not active
    medicines = _section(html, "medicines")
    drugs = set(session.scalars(select(PrescriptionLine.drug_name)))
    # Two overlapping prescriptions of the same drugs (every 12 days, 14 days each): one line a drug.
    assert len(drugs) == 2 and all(medicines.count(name) == 1 for name in drugs)
    vitals = _section(html, "vitals")
    # Newest 130/80 after 131/81 the month before: lower, said with an arrow and in words, with the previous value.
    assert re.search(r"<strong>130/80</strong> mmHg\s*<span class=\"trend\"[^>]*>↓", vitals)
    assert "前回 131/81" in vitals and "前回より低下" in vitals
    labs = _section(html, "labs")
    # The newest day's 総蛋白 (6.6-8.1) came back at 14.7: flagged with the letter H, not by colour alone.
    assert re.search(r"総蛋白</td>\s*<td[^>]*>14.7 g/dL <span class=\"flag flag-H\">H</span>", labs)
    assert f"/patients/{patient_id}/labs" in labs
    orders = _section(html, "orders")
    assert "SOPEN" not in orders and "送信済み" in orders and "/labs/orders/" in orders
    assert "電子処方箋: 送信待ち" in orders and "/prescriptions/" in orders
    letters = _section(html, "letters")
    assert "みなと総合病院0" in letters and "下書き" in letters and "/letters/" in letters
    images = _section(html, "images")
    assert "/key-images/" in images and 'alt="所見0"' in images
    # The former hub's screens stay one tap away.
    nav = html[html.index('id="patient-links"'):html.index("</nav>", html.index('id="patient-links"'))]
    for screen in ("/profile", "/diagnoses", "/prescriptions", "/labs", "/images", "/letters", "/sharing"):
        assert f"/patients/{patient_id}{screen}" in nav


def test_a_patient_with_nothing_recorded_is_told_section_by_section(client, session, desk):
    clinic, staff = desk
    patient = make_patient(session, clinic)
    session.commit()
    client.login(staff["doctor"].login_id, staff["doctor"].totp_secret)
    html = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    expected = {"today": "本日の受付はまだありません", "orders": "未完了の検査依頼・未送信の処方はありません",
                "diagnoses": "継続中の傷病名は登録されていません", "medicines": "当院の処方で服用中の薬はありません",
                "vitals": "バイタルの記録はまだありません", "labs": "検査結果はまだありません",
                "letters": "当院で書いた紹介状はありません", "images": "キー画像はありません"}
    for name, words in expected.items():
        assert words in _section(html, name), name
    assert "情報共有への同意が有効でないため" in _section(html, "medicines")


@pytest.mark.parametrize("role", ["clerk", "admin"])
def test_clerks_see_the_reception_and_insurance_part_only(client, session, desk, role):
    clinic, staff = desk
    patient_id = seed_history(session, clinic.id, SMALL)
    client.login(staff[role].login_id, staff[role].totp_secret)
    html = client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert 'id="summary-today"' in html and 'id="patient-header"' in html
    for name in ("orders", "diagnoses", "medicines", "vitals", "labs", "letters", "images"):
        assert f'id="summary-{name}"' not in html
    assert "総蛋白" not in html and "所見0" not in html and "高血圧症" not in html


def test_a_nurse_sees_the_clinical_part(client, session, desk):
    clinic, staff = desk
    patient_id = seed_history(session, clinic.id, SMALL)
    client.login(staff["nurse"].login_id, staff["nurse"].totp_secret)
    html = client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "当院" in _section(html, "medicines") and "総蛋白" in _section(html, "labs")


def _other_institution(session, clinic, patient_id: int, *, consent_until: date) -> None:
    today = japan_today()
    session.add(SharingConsent(clinic_id=clinic.id, patient_id=patient_id, given_on=today - timedelta(days=10),
                               valid_until=consent_until))
    for key, title, day in (("h-med-1", "ワーファリン錠１ｍｇ", today - timedelta(days=20)),
                            ("h-med-2", "セフゾンカプセル１００ｍｇ", today - timedelta(days=400))):
        session.add(NationalEntryCopy(clinic_id=clinic.id, patient_id=patient_id, kind="medication", entry_key=key,
                                      title=title, detail="1日1回", day=day.isoformat(),
                                      institution_code="1312345678", institution_name="みなと総合病院"))
    session.commit()


def test_other_institutions_medicines_come_from_the_stored_copy_with_consent(client, session, desk):
    clinic, staff = desk
    patient_id = seed_history(session, clinic.id, SMALL)
    _other_institution(session, clinic, patient_id, consent_until=japan_today() + timedelta(days=30))
    client.login(staff["doctor"].login_id, staff["doctor"].totp_secret)
    medicines = _section(client.get(f"/patients/{patient_id}").get_data(as_text=True), "medicines")
    # The service's address answers nothing: what is shown is the copy the last 6-information fetch stored.
    assert "他院" in medicines and "ワーファリン錠１ｍｇ" in medicines and "みなと総合病院" in medicines
    assert "セフゾン" not in medicines  # prescribed more than 90 days ago: not a current medicine


def test_without_a_valid_consent_other_institutions_medicines_are_not_shown(client, session, desk):
    clinic, staff = desk
    patient_id = seed_history(session, clinic.id, SMALL)
    _other_institution(session, clinic, patient_id, consent_until=japan_today() - timedelta(days=1))
    client.login(staff["doctor"].login_id, staff["doctor"].totp_secret)
    medicines = _section(client.get(f"/patients/{patient_id}").get_data(as_text=True), "medicines")
    assert "ワーファリン" not in medicines and "情報共有への同意が有効でないため" in medicines


def test_without_the_sharing_service_the_section_says_so(client, session):
    clinic = make_clinic(session)
    doctor = make_user(session, clinic, role="doctor")
    patient = make_patient(session, clinic)
    session.commit()
    client.login(doctor.login_id, doctor.totp_secret)
    medicines = _section(client.get(f"/patients/{patient.id}").get_data(as_text=True), "medicines")
    assert "電子カルテ情報共有サービスに接続していないため" in medicines


def test_the_look_is_access_logged_and_another_clinic_gets_404(client, session, desk):
    clinic, staff = desk
    patient_id = seed_history(session, clinic.id, SMALL)
    other = make_clinic(session)
    stranger = make_user(session, other, role="doctor")
    session.commit()
    client.login(staff["doctor"].login_id, staff["doctor"].totp_secret)
    assert client.get(f"/patients/{patient_id}").status_code == 200
    logged = session.scalars(select(AccessLogEntry.resource).where(AccessLogEntry.patient_id == patient_id)).all()
    assert logged == ["patient.page"]
    client.raw.delete_cookie("kamikarte_session")
    client.login(stranger.login_id, stranger.totp_secret)
    assert client.get(f"/patients/{patient_id}").status_code == 404


def test_the_number_of_queries_does_not_grow_with_the_history(app, client, session, desk):
    clinic, staff = desk
    small = seed_history(session, clinic.id, SMALL, orca_id="SUM00001")
    bigger = seed_history(session, clinic.id, BIGGER, orca_id="SUM00002")
    client.login(staff["doctor"].login_id, staff["doctor"].totp_secret)
    counts = []
    for patient_id in (small, bigger, small):
        with counted_statements(app.extensions["db_engine"]) as statements:
            assert client.get(f"/patients/{patient_id}").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] == counts[2], counts
    # The login session, the patient, the access log, the banner (2), the 共有 consent, the オンライン資格確認 consent,
    # one a section (today's visits, diagnoses, medicines, other institutions' medicines, vitals, results, lab
    # orders, prescriptions, letters, key images): nothing per row, and a query more fails here.
    assert counts[1] <= 16, counts
