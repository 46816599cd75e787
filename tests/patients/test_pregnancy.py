"""妊娠・授乳 on the profile through real HTTP: recorded by doctors and nurses (not clerks) for a female patient of
an age it can be, with dates that make sense; versioned and audited; shown in red in the safety banner while it
lasts; and on the prescription check page a caution for every drug (read the package insert) — never a drug
passed or stopped from invented data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.core.models import AuditEntry
from app.core.timeutil import japan_today
from app.patients.profile_models import Pregnancy
from app.prescriptions.check_master import load_demo_edition
from app.prescriptions.drug_master import load_shipped_subset
from tests.factories import make_clinic, make_patient, make_user
from tests.prescriptions.test_prescriptions import AFTER_MEALS_3, LOXONIN, MUCOSTA, _acks, _form

TODAY = japan_today()


@pytest.fixture
def ward(session):
    clinic = make_clinic(session)
    people = {role: make_user(session, clinic, role=role, display_name=f"{role} 花子")
              for role in ("doctor", "nurse", "clerk")}
    woman = make_patient(session, clinic, orca_patient_id="00002", name="髙橋　美咲", kana="タカハシ　ミサキ",
                         birth_date=date(1994, 6, 1), sex="F")
    man = make_patient(session, clinic, orca_patient_id="00003", name="佐藤　健", kana="サトウ　ケン",
                       birth_date=date(1990, 1, 1), sex="M")
    girl = make_patient(session, clinic, orca_patient_id="00004", name="渡邉　さくら", kana="ワタナベ　サクラ",
                        birth_date=date(TODAY.year - 7, 1, 1), sex="F")
    load_shipped_subset(session)
    load_demo_edition(session)
    session.commit()
    return {"clinic": clinic, **people, "woman": woman, "man": man, "girl": girl}


def _record(client, patient, page: str = "", **values):
    page = page or f"/patients/{patient.id}/profile/pregnancy/new"
    return client.post(f"/patients/{patient.id}/profile/pregnancy", values, form_page=page)


def _banner(client, patient) -> str:
    html = client.get(f"/patients/{patient.id}/prescriptions").get_data(as_text=True)
    start = html.index('<details class="safety-banner')
    return html[start:html.index("</details>", start)]


def test_a_nurse_records_a_pregnancy_and_the_banner_shows_it_in_red(client, ward, session):
    client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
    woman = ward["woman"]
    due = TODAY + timedelta(days=150)
    response = _record(client, woman, status="pregnant", since=(TODAY - timedelta(days=60)).isoformat(),
                       due_on=due.isoformat(), notes="")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    banner = _banner(client, woman)
    assert 'class="safety-banner has-warning"' in banner
    assert "妊娠・授乳</b>：妊娠中" in banner and f"分娩予定日 {due.isoformat()}" in banner
    profile = client.get(f"/patients/{woman.id}/profile").get_data(as_text=True)
    assert 'id="pregnancy"' in profile and "妊娠中" in profile
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "profile.pregnancy.create")).one()
    assert audit.patient_id == woman.id


def test_it_ends_as_a_new_version_and_leaves_the_banner(client, ward, session):
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    woman = ward["woman"]
    _record(client, woman, status="lactating", since=(TODAY - timedelta(days=100)).isoformat())
    assert "妊娠・授乳</b>：授乳中" in _banner(client, woman)
    item = session.scalars(select(Pregnancy)).one()
    page = f"/patients/{woman.id}/profile/pregnancy/{item.id}/edit"
    response = client.post(page, {"status": "lactating", "since": item.since.isoformat(),
                                  "ended_on": TODAY.isoformat(), "change_reason": "授乳終了"}, form_page=page)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert "妊娠・授乳</b>" not in _banner(client, woman)
    session.expire_all()
    versions = session.scalars(select(Pregnancy).order_by(Pregnancy.version)).all()
    assert [(v.version, v.superseded_at is None, v.ended_on) for v in versions] == [
        (1, False, None), (2, True, TODAY)]
    assert versions[1].change_reason == "授乳終了"


@pytest.mark.parametrize(("who", "values", "message"), [
    ("man", {"status": "possible", "since": TODAY.isoformat()}, "妊娠・授乳は女性の患者にのみ登録できます"),
    ("girl", {"status": "possible", "since": TODAY.isoformat()}, "開始日の年齢（7歳）では妊娠・授乳を登録できません"),
    ("woman", {"status": "pregnant", "since": TODAY.isoformat()}, "妊娠中は分娩予定日を入力してください"),
    ("woman", {"status": "pregnant", "since": TODAY.isoformat(),
               "due_on": (TODAY + timedelta(days=400)).isoformat()},
     "分娩予定日が開始日から301日（43週）を超えています"),
    ("woman", {"status": "pregnant", "since": (TODAY - timedelta(days=280)).isoformat(),
               "due_on": (TODAY - timedelta(days=40)).isoformat()}, "分娩予定日を4週以上過ぎています"),
    ("woman", {"status": "pregnant", "since": (TODAY - timedelta(days=10)).isoformat(),
               "due_on": (TODAY - timedelta(days=20)).isoformat()}, "分娩予定日が開始日（確認日）以前です"),
    ("woman", {"status": "possible", "since": (TODAY + timedelta(days=3)).isoformat()}, "未来の日付になっています"),
    ("woman", {"status": "possible", "since": "2026-02-30"}, "開始日（確認日）"),
    ("woman", {"status": "lactating", "since": TODAY.isoformat(),
               "ended_on": (TODAY - timedelta(days=5)).isoformat()}, "終了日が開始日より前です"),
    ("woman", {"status": "twins", "since": TODAY.isoformat()}, "状態の選択肢にない値です"),
])
def test_nonsense_is_refused_with_a_japanese_message(client, ward, session, who, values, message):
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    response = _record(client, ward[who], **values)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert session.scalar(select(Pregnancy.id)) is None


def test_a_clerk_may_not_record_it_and_a_man_has_no_such_section(client, ward):
    client.login(ward["clerk"].login_id, ward["clerk"].totp_secret)
    profile = f"/patients/{ward['woman'].id}/profile"
    response = _record(client, ward["woman"], profile, status="possible", since=TODAY.isoformat())
    assert response.status_code == 403
    assert 'id="pregnancy"' not in client.get(f"/patients/{ward['man'].id}/profile").get_data(as_text=True)


def test_the_check_page_cautions_for_every_drug_while_pregnant(client, ward, session):
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    woman = ward["woman"]
    rps = [("1", AFTER_MEALS_3, "", "7", [(LOXONIN, "3", False, False), (MUCOSTA, "3", False, False)])]
    page = f"/patients/{woman.id}/prescriptions/new"
    before = client.post(page, _form(rps, action="check"), form_page=page).get_data(as_text=True)
    assert "添付文書で確認してください" not in before
    due = TODAY + timedelta(days=100)
    _record(client, woman, status="pregnant", since=(TODAY - timedelta(days=120)).isoformat(), due_on=due.isoformat())
    html = client.post(page, _form(rps, action="check"), form_page=page).get_data(as_text=True)
    for name in ("ロキソニン錠６０ｍｇ", "ムコスタ錠１００ｍｇ"):
        assert (f"妊娠中（分娩予定日 {due.isoformat()}）：{name} — 妊婦への投与は添付文書で確認してください"
                "（妊娠・授乳の禁忌マスタはありません）") in html
    assert html.count("出典: 患者プロフィール（妊娠・授乳）") == 2
    # The cautions are findings like any other: issuing needs them acknowledged.
    refused = client.post(page, _form(rps, action="issue") | {"ack": [a for a in _acks(html)][:-1]},
                          form_page=page)
    assert refused.status_code == 422 and "確認が必要な項目" in refused.get_data(as_text=True)
