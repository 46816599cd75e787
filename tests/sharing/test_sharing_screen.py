"""The 6-information screen over real HTTP: consent read from ORCA's online eligibility result, the national
service's entries beside ours with their source and date, health checks with trends, and every reason why
nothing is shown (no consent, expired, expired at the service mid-session, service down, clerk)."""

from __future__ import annotations

from datetime import date, timedelta

import requests
from sqlalchemy import select

from app.core.models import AccessLogEntry
from app.sharing.models import SharingConsent
from tests.sharing.records import MEMBER, arrange, connect


def _page(client, desk):
    return client.get(f"/patients/{desk['patient'].id}/sharing")


def _consent(client, desk):
    page = f"/patients/{desk['patient'].id}/sharing"
    return client.post(f"/patients/{desk['patient'].id}/sharing/consent", {}, form_page=page)


def test_consent_from_eligibility_then_national_entries_beside_ours(client, session, orca, sharing):
    desk = arrange(session, integrations=connect(orca, sharing))
    sharing.seed_patient(MEMBER, consent_until=(date.today() + timedelta(days=30)).isoformat(),
                         other_institutions=True, checkups=["特定健診", "事業者健診"])
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    before = _page(client, desk).get_data(as_text=True)
    assert "同意が記録されていません" in before and "みなと総合病院" not in before
    response = _consent(client, desk)
    assert response.status_code == 302
    consent = session.scalars(select(SharingConsent)).one()
    assert consent.valid_until > consent.given_on and consent.source == "オンライン資格確認"
    html = client.get(response.location).get_data(as_text=True)
    assert "同意を記録しました" in html
    # Other institutions' entries, each with its institution and date, beside ours.
    assert "２型糖尿病" in html and "みなと総合病院" in html and "医療機関コード 1310000009" in html
    assert "アモキシシリン" in html and "全身の発疹" in html  # drug allergy from another institution
    assert "そば" in html and "β遮断薬" in html and "感染症 HCV抗体" in html and "HbA1c(NGSP)" in html
    assert "アムロジピンＯＤ錠２．５ｍｇ「トーワ」" in html
    assert "高血圧症" in html and "ロキソニン錠６０ｍｇ" in html and "当院" in html  # ours
    # Health checks of two kinds with five yearly results each, trend arrows and charts.
    assert html.count("特定健診") >= 4 and "事業者健診" in html and "↑" in html and "<polyline" in html
    logged = session.scalars(select(AccessLogEntry.resource).where(
        AccessLogEntry.patient_id == desk["patient"].id)).all()
    assert "patient.sharing" in logged


def test_nothing_is_shown_without_consent_and_the_screen_says_why(client, session, orca, sharing):
    desk = arrange(session, integrations=connect(orca, sharing), orca_patient_id="00006")  # 日野 ちよ: none
    sharing.seed_patient(MEMBER, consent_until=None, other_institutions=True)
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    html = client.get(_consent(client, desk).location).get_data(as_text=True)
    assert "オンライン資格確認の結果に情報共有への同意がありません" in html
    assert "全国の医療機関の情報を表示していません" in html and "同意が記録されていません" in html
    assert "２型糖尿病" not in html and "高血圧症" in html  # ours is still shown


def test_an_expired_consent_shows_nothing(client, session, orca, sharing):
    desk = arrange(session, integrations=connect(orca, sharing), orca_patient_id="00003")  # 佐々木: expired
    sharing.seed_patient(MEMBER, consent_until=(date.today() + timedelta(days=30)).isoformat(),
                         other_institutions=True)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    html = client.get(_consent(client, desk).location).get_data(as_text=True)
    assert "有効期限" in html and "過ぎています" in html and "２型糖尿病" not in html


def test_consent_expired_at_the_service_mid_session(client, session, orca, sharing):
    desk = arrange(session, integrations=connect(orca, sharing))
    sharing.seed_patient(MEMBER, consent_until=(date.today() + timedelta(days=30)).isoformat(),
                         other_institutions=True)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _consent(client, desk)
    assert "２型糖尿病" in _page(client, desk).get_data(as_text=True)
    sharing.seed_patient(MEMBER, consent_until=(date.today() - timedelta(days=1)).isoformat())
    html = _page(client, desk).get_data(as_text=True)
    assert "閲覧を拒否しました" in html and "有効期限" in html and "改めて同意" in html
    assert "２型糖尿病" not in html


def test_service_down_or_slow_is_a_clear_message(client, session, orca, sharing, app):
    desk = arrange(session, integrations=connect(orca, sharing))
    sharing.seed_patient(MEMBER, consent_until=(date.today() + timedelta(days=30)).isoformat(),
                         other_institutions=True)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _consent(client, desk)
    sharing.set_fault("down")
    html = _page(client, desk).get_data(as_text=True)
    assert "サービス停止中です" in html and "時間をおいて" in html
    assert "２型糖尿病" in _page(client, desk).get_data(as_text=True)  # back once the service answers


def test_entries_with_unknown_codes_are_shown_marked_for_checking(client, session, orca, sharing):
    desk = arrange(session, integrations=connect(orca, sharing))
    sharing.seed_patient(MEMBER, consent_until=(date.today() + timedelta(days=30)).isoformat())
    # Another institution (clinic B's code) registers a Condition with an unknown profile and code system.
    resource = {"resourceType": "Condition", "meta": {"profile": ["http://example.org/StructureDefinition/X"]},
                "extension": [{"url": "http://jpfhir.jp/fhir/clins/Extension/StructureDefinition/"
                                      "JP_eCS_InstitutionNumber",
                               "valueIdentifier": {"system": "http://jpfhir.jp/fhir/core/IdSystem/"
                                                             "insurance-medical-institution-no",
                                                   "value": "1310156789"}}],
                "identifier": [{"system": "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier",
                                "value": "odd-1"}],
                "code": {"coding": [{"system": "http://example.org/disease", "code": "Z1"}], "text": "謎の病名"},
                "subject": {"identifier": {"system": "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID",
                                           "value": MEMBER}}}
    patient = {"resourceType": "Patient", "identifier": [
        {"system": "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID", "value": MEMBER}]}
    bundle = {"resourceType": "Bundle", "type": "collection",
              "meta": {"profile": ["http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS"]},
              "entry": [{"resource": patient}, {"resource": resource}]}
    answer = requests.post(f"{sharing.base_url('1310156789')}/Bundle", json=bundle, timeout=5,
                           headers={"Authorization": f"Bearer {sharing.token('1310156789')}"})
    assert answer.status_code == 422  # no MEDIS code: the service itself refuses it …
    resource["code"]["coding"].append({"system": "http://medis.or.jp/CodeSystem/master-disease-keyNumber",
                                       "code": "20061593"})
    answer = requests.post(f"{sharing.base_url('1310156789')}/Bundle", json=bundle, timeout=5,
                           headers={"Authorization": f"Bearer {sharing.token('1310156789')}"})
    assert answer.status_code == 201  # … but the unknown profile and system pass its checks
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _consent(client, desk)
    html = _page(client, desk).get_data(as_text=True)
    assert "謎の病名" in html and "要確認" in html and "未知のプロファイル" in html


def test_clerks_record_consent_but_do_not_see_national_data(client, session, orca, sharing):
    desk = arrange(session, integrations=connect(orca, sharing))
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    assert _page(client, desk).status_code == 403
    page = f"/patients/{desk['patient'].id}"
    assert "情報共有の同意を資格確認から取り込む" in client.get(page).get_data(as_text=True)
    response = client.post(f"/patients/{desk['patient'].id}/sharing/consent", {}, form_page=page)
    assert response.status_code == 302 and response.location.endswith(page)
    assert session.scalars(select(SharingConsent)).one().patient_id == desk["patient"].id
