"""The safety banner over HTTP: on every patient screen the patient's name, kana, age, sex and ORCA number with the
allergies, 薬剤禁忌, positive infections and pregnancy in red and labelled; 「アレルギー：登録なし」 when nothing is
recorded; other institutions' entries (他院) only while the consent is valid, from the copy the 6-information
fetch stored (never a call to the service per page), and only for the roles that may read them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.patients.profile_models import Infection
from app.patients.safety import read_banner
from app.sharing.models import SharingConsent
from tests.helpers import counted_statements
from tests.sharing.records import MEMBER, WHEN, arrange, connect

#: Every screen about one patient (the hub, profile, vitals, diagnoses, prescriptions, labs, letters, images,
#: notes, 6情報) and the forms that open from them.
SCREENS = ["", "/profile", "/vitals", "/diagnoses", "/prescriptions", "/prescriptions/new", "/labs",
           "/labs/orders/new", "/letters", "/letters/new", "/images", "/notes", "/sharing"]
#: The 他院 mark of an entry from another institution.
OTHER = '<span class="sb-other">他院</span>'


def _banner(html: str) -> str:
    start = html.index('id="safety-banner"')
    return html[start:html.index("</details>", start)]


@pytest.mark.parametrize("screen", SCREENS)
def test_every_patient_screen_has_the_banner(client, session, screen):
    desk = arrange(session)
    if screen == "/notes":  # notes exist in full-chart mode only (a paper-chart clinic answers 404)
        desk["clinic"].is_full_chart_mode = True
        session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    response = client.get(f"/patients/{desk['patient'].id}{screen}")
    assert response.status_code == 200
    banner = _banner(response.get_data(as_text=True))
    assert "山田　太郎" in banner and "ヤマダ　タロウ" in banner and "ORCA 00001" in banner and "男" in banner
    assert "薬剤アレルギー</b>：ロキソニン錠６０ｍｇ" in banner
    assert "その他アレルギー</b>：さば" in banner and "薬剤禁忌</b>：ワルファリンカリウム" in banner
    assert "登録なし" not in banner
    assert "感染症</b>" not in banner  # a negative HBs antigen is recorded but is no warning


def test_nothing_recorded_says_so(client, session):
    desk = arrange(session, records=False)
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    banner = _banner(client.get(f"/patients/{desk['patient'].id}").get_data(as_text=True))
    assert "アレルギー：登録なし" in banner and "has-warning" not in banner


def test_a_positive_infection_and_a_pregnancy_are_warnings(client, session):
    desk = arrange(session, records=False)
    patient = desk["patient"]
    session.add(Infection(clinic_id=desk["clinic"].id, patient_id=patient.id, version=1, recorded_at=WHEN,
                          kind="hcv_ab", result="positive", tested_on=date(2026, 5, 1)))
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{patient.id}/diagnoses"
    client.get(page)
    response = client.post(page, {"disease_code": "8833421", "suffix_code": "8189", "started_on": "2026-10-01",
                                  "outcome": "continuing"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    banner = _banner(client.get(f"/patients/{patient.id}/labs").get_data(as_text=True))
    assert "感染症</b>：HCV抗体" in banner and "陽性" in banner
    assert "妊娠・授乳</b>：高血圧症合併妊娠" in banner and "アレルギー：登録なし" in banner


def _consented(client, session, desk, sharing):
    """Consent recorded from ORCA and the 6-information screen opened once (logged in as a doctor)."""
    sharing.seed_patient(MEMBER, consent_until=(date.today() + timedelta(days=30)).isoformat(),
                         other_institutions=True)
    page = f"/patients/{desk['patient'].id}/sharing"
    client.post(f"{page}/consent", {}, form_page=page)
    assert "アモキシシリン" in client.get(page).get_data(as_text=True)  # the fetch that stores the copy


def test_other_institutions_entries_only_with_consent_and_from_the_stored_copy(client, session, orca, sharing):
    desk = arrange(session, integrations=connect(orca, sharing))
    # The profile rather than the hub: the hub refreshes the patient from ORCA, whose insurance is not the one the
    # sharing simulator was seeded with.
    hub = f"/patients/{desk['patient'].id}/profile"
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    assert OTHER not in _banner(client.get(hub).get_data(as_text=True))
    _consented(client, session, desk, sharing)
    sharing.set_fault("down")  # the banner never asks the service: it reads what the fetch stored
    banner = _banner(client.get(hub).get_data(as_text=True))
    assert f"アモキシシリン{OTHER}" in banner and f"β遮断薬{OTHER}" in banner and f"そば{OTHER}" in banner
    assert "みなと総合病院" in banner and "HCV抗体" not in banner  # another institution's negative test
    # The consent runs out (a newer eligibility result says so): the entries leave the banner.
    session.add(SharingConsent(clinic_id=desk["clinic"].id, patient_id=desk["patient"].id,
                               given_on=date.today() - timedelta(days=400),
                               valid_until=date.today() - timedelta(days=1)))
    session.commit()
    banner = _banner(client.get(hub).get_data(as_text=True))
    assert OTHER not in banner and "アモキシシリン" not in banner and "ロキソニン錠６０ｍｇ" in banner


def test_a_clerk_sees_our_allergies_but_not_other_institutions(client, session, orca, sharing):
    desk = arrange(session, integrations=connect(orca, sharing))
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _consented(client, session, desk, sharing)
    client.raw.delete_cookie("kamikarte_session")
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    banner = _banner(client.get(f"/patients/{desk['patient'].id}/profile").get_data(as_text=True))
    assert "ロキソニン錠６０ｍｇ" in banner and "アモキシシリン" not in banner and OTHER not in banner


def test_another_clinics_banner_shows_nothing_of_ours(client, session, orca, sharing):
    desk = arrange(session, integrations=connect(orca, sharing))
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _consented(client, session, desk, sharing)
    other = arrange(session, institution_code="1310156789", records=False)
    banner = read_banner(session, other["clinic"].id, desk["patient"].id)
    assert not banner.has_warning and banner.other_institution_count == 0


def test_the_banner_reads_in_two_queries(app, session, orca, sharing, client):
    desk = arrange(session, integrations=connect(orca, sharing))
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _consented(client, session, desk, sharing)
    with counted_statements(app.extensions["db_engine"]) as statements:
        banner = read_banner(session, desk["clinic"].id, desk["patient"].id)
    assert len(statements) == 2
    assert banner.other_institution_count == 3 and len(banner.sections["drug_allergy"]) == 2
