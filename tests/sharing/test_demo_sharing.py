"""The demo with the sharing service: 山田 太郎 has his consent and a referral letter, the simulator knows the
fixed patients (other institutions' data, consent as ORCA's eligibility result says), and his 6-information
screen shows both sides; 日野 ちよ (no consent) shows why nothing is shown."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.clinics.models import Clinic
from app.core.models import AccessLogEntry
from app.demo.runtime import prepare_demo
from app.documents.models import ReferralLetter
from app.outbox import worker as outbox
from app.patients.models import Patient
from app.sharing.models import SharingConsent, SharingRegistration

pytestmark = pytest.mark.backends("sqlite")  # the demo as it is started: see tests/conftest.py


def _patient(session, orca_id: str) -> Patient:
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == "1310123458"))
    return session.scalar(select(Patient).where(Patient.clinic_id == clinic.id, Patient.orca_patient_id == orca_id))


def test_demo_gives_yamada_consent_a_letter_and_national_data(app, client, orca, sharing, session):
    prepare_demo(app, orca.root, sharing_root=sharing.url)
    yamada = _patient(session, "00001")
    letter = session.scalars(select(ReferralLetter).where(ReferralLetter.patient_id == yamada.id)).one()
    assert letter.status == "final" and "高血圧症" in letter.diagnoses and letter.to_institution == "みなと総合病院"
    assert session.scalars(select(SharingConsent).where(SharingConsent.patient_id == yamada.id)).one()
    # His records were queued for registration when the seed confirmed them; the outbox delivers them.
    assert session.scalars(select(SharingRegistration).where(SharingRegistration.patient_id == yamada.id)).all()
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0, limit=50)
    client.login("doctor", "IA6YOND7VRBS563LAATXBI6DNXZI4KME", password="kamikarte-demo-2026")
    html = client.get(f"/patients/{yamada.id}/sharing").get_data(as_text=True)
    assert "みなと総合病院" in html and "２型糖尿病" in html and "高血圧症" in html and "特定健診" in html
    assert "登録済" in html and "医療機関コード 1310123458" not in html  # ours once, as ours
    letters = client.get(f"/patients/{yamada.id}/letters").get_data(as_text=True)
    assert "他院から届いた文書" in letters and "診療情報提供書" in letters
    assert letters.count("badge-muted\">退院時サマリー") == 1
    assert letters.count("badge-muted\">健診結果") == 5
    hino = _patient(session, "00006")
    page = client.get(f"/patients/{hino.id}/sharing").get_data(as_text=True)
    assert "同意が記録されていません" in page
    # A second start adds nothing to the database.
    prepare_demo(app, orca.root, sharing_root=sharing.url)
    session.expire_all()
    assert len(session.scalars(select(ReferralLetter)).all()) == 1
    letters = client.get(f"/patients/{yamada.id}/letters").get_data(as_text=True)
    assert letters.count("badge-muted\">退院時サマリー") == 1  # told again, not doubled


def test_demo_banner_shows_other_institutions_before_the_6_information_page_is_opened(app, client, orca, sharing,
                                                                                        session):
    prepare_demo(app, orca.root, sharing_root=sharing.url)
    yamada = _patient(session, "00001")
    client.login("doctor", "IA6YOND7VRBS563LAATXBI6DNXZI4KME", password="kamikarte-demo-2026")
    html = client.get(f"/patients/{yamada.id}/profile").get_data(as_text=True)
    banner = html[html.index('id="safety-banner"'):html.index("</details>", html.index('id="safety-banner"'))]
    assert 'アモキシシリン<span class="sb-other">他院</span>' in banner and "みなと総合病院" in banner
    # Nobody opened the 6情報 page: the copy came from the seed's fetch through the page's own service function.
    assert "patient.sharing" not in {row.resource for row in session.scalars(select(AccessLogEntry))}
