"""The patient profile through real HTTP: vitals with warnings and refusals, every kind of item, drug allergies
coded from the drug master, corrections that keep the old version, withdrawals, roles, audit, access log."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.core.models import AccessLogEntry, AuditEntry
from app.core.timeutil import japan_today
from app.patients.profile_models import Allergy, BloodType, Contraindication, PastHistory, VitalSign
from app.prescriptions.drug_master import load_shipped_subset, search_drugs
from tests.factories import make_clinic, make_patient, make_user


@pytest.fixture
def ward(session):
    clinic = make_clinic(session)
    nurse = make_user(session, clinic, role="nurse", display_name="看護 花子")
    doctor = make_user(session, clinic, role="doctor", display_name="医師 一郎")
    clerk = make_user(session, clinic, role="clerk")
    patient = make_patient(session, clinic, orca_patient_id="00001", name="山田　太郎", kana="ヤマダ　タロウ",
                           birth_date=date(1958, 3, 2), sex="M")
    load_shipped_subset(session)
    session.commit()
    return {"clinic": clinic, "nurse": nurse, "doctor": doctor, "clerk": clerk, "patient": patient}


def _now_local() -> str:
    from app.core.timeutil import JST
    from app.db import utcnow

    return utcnow().astimezone(JST).strftime("%Y-%m-%dT%H:%M")


def _vitals(client, patient, **values):
    page = f"/patients/{patient.id}/vitals"
    data = {"measured_at": _now_local(), **{k: str(v) for k, v in values.items()}}
    return client.post(page, data, form_page=page)


def test_nurse_enters_vitals_and_the_profile_shows_them_with_bmi(client, ward, session):
    client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
    response = _vitals(client, ward["patient"], height_cm="170", weight_kg="65", systolic="128", diastolic="78",
                       pulse="72", temperature_c="36.5", spo2="98")
    assert response.status_code == 302
    html = client.get(f"/patients/{ward['patient'].id}/profile").get_data(as_text=True)
    assert "BMI 22.5" in html and "128/78" in html and "看護 花子" in html
    # The intake form shows the last values, so the nurse can copy the height.
    intake = client.get(f"/patients/{ward['patient'].id}/vitals").get_data(as_text=True)
    assert 'data-copy-last="height_cm" data-value="170"' in intake
    assert 'inputmode="numeric"' in intake and 'inputmode="decimal"' in intake


def test_bmi_uses_the_last_height_when_only_weight_is_measured(client, ward):
    client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
    _vitals(client, ward["patient"], height_cm="160")
    _vitals(client, ward["patient"], weight_kg="64")
    html = client.get(f"/patients/{ward['patient'].id}/profile").get_data(as_text=True)
    assert "BMI 25.0" in html


@pytest.mark.parametrize(("values", "message"), [
    ({"weight_kg": "0"}, "体重 0kg はありえない値です"),
    ({"weight_kg": "900"}, "体重 900kg はありえない値です"),
    ({"temperature_c": "60"}, "体温 60℃ はありえない値です"),
    ({"systolic": "80", "diastolic": "120"}, "拡張期（120）が収縮期（80）以上です"),
    ({"systolic": "120"}, "血圧は収縮期と拡張期の両方を入力してください"),
    ({"pulse": "abc"}, "脈拍は整数で入力してください"),
    ({}, "測定値を1つ以上入力してください"),
])
def test_impossible_vitals_are_refused_and_nothing_is_saved(client, ward, session, values, message):
    client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
    response = _vitals(client, ward["patient"], **values)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert session.scalar(select(VitalSign.id)) is None


def test_vitals_in_the_future_are_refused(client, ward, session):
    client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
    page = f"/patients/{ward['patient'].id}/vitals"
    tomorrow = (japan_today() + timedelta(days=1)).isoformat() + "T09:00"
    response = client.post(page, {"measured_at": tomorrow, "pulse": "70"}, form_page=page)
    assert response.status_code == 422 and "測定日時が未来になっています" in response.get_data(as_text=True)


def test_borderline_blood_pressure_is_accepted_with_a_visible_warning(client, ward, session):
    client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
    response = _vitals(client, ward["patient"], systolic="220", diastolic="130")
    assert response.status_code == 302
    html = client.get(response.location).get_data(as_text=True)
    assert "確認してください: 血圧（収縮期） 220mmHg は高値です" in html
    assert "血圧（拡張期） 130mmHg は高値です" in html  # and it stays beside the value in the list
    assert session.scalar(select(VitalSign.systolic)) == 220


def test_drug_allergy_is_coded_from_the_drug_master_at_the_chosen_scope(client, ward, session):
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    patient = ward["patient"]
    page = f"/patients/{patient.id}/profile/allergies/new"
    hit = next(h for h in search_drugs(session, "ろきそにん") if h.name.startswith("ロキソニン錠"))
    response = client.post(f"/patients/{patient.id}/profile/allergies",
                           {"category": "drug", "drug_scope": "ingredient", "drug_code": hit.receipt_code,
                            "substance": hit.name, "reaction": "蕁麻疹", "severity": "moderate",
                            "onset_on": "R5.4.1"}, form_page=page)
    assert response.status_code == 302
    allergy = session.scalars(select(Allergy)).one()
    assert allergy.drug_receipt_code == hit.receipt_code
    assert allergy.drug_match_code == hit.yj_code[:7]  # every product of the same ingredient
    assert allergy.substance.startswith("ロキソプロフェン") and allergy.onset_on == date(2023, 4, 1)
    html = client.get(f"/patients/{patient.id}/profile").get_data(as_text=True)
    assert "蕁麻疹" in html and "中等度" in html and "alert-card" in html


def test_a_typed_drug_name_with_several_products_asks_to_choose(client, ward, session):
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    patient = ward["patient"]
    page = f"/patients/{patient.id}/profile/allergies/new"
    response = client.post(f"/patients/{patient.id}/profile/allergies",
                           {"category": "drug", "drug_scope": "product", "substance": "ロキソ", "severity": "mild"},
                           form_page=page)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "候補から薬剤を1つ選んでください" in html
    assert len(re.findall(r'name="drug_code" value="\d{9}"', html)) >= 2
    assert session.scalar(select(Allergy.id)) is None


def test_unknown_drug_code_and_unknown_drug_name_are_refused(client, ward, session):
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    patient = ward["patient"]
    page = f"/patients/{patient.id}/profile/contraindications/new"
    response = client.post(f"/patients/{patient.id}/profile/contraindications",
                           {"drug_scope": "product", "drug_code": "999999999", "reason": "腎機能低下"},
                           form_page=page)
    assert response.status_code == 422 and "医薬品マスターにありません" in response.get_data(as_text=True)
    response = client.post(f"/patients/{patient.id}/profile/contraindications",
                           {"drug_scope": "product", "substance": "ありえないくすりめい", "reason": "腎機能低下"},
                           form_page=page)
    assert response.status_code == 422 and "該当する薬剤がありません" in response.get_data(as_text=True)
    assert session.scalar(select(Contraindication.id)) is None


def test_food_allergy_needs_no_drug(client, ward, session):
    client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
    patient = ward["patient"]
    page = f"/patients/{patient.id}/profile/allergies/new"
    response = client.post(f"/patients/{patient.id}/profile/allergies",
                           {"category": "food", "drug_scope": "product", "substance": "そば",
                            "reaction": "アナフィラキシー", "severity": "anaphylaxis"}, form_page=page)
    assert response.status_code == 302
    allergy = session.scalars(select(Allergy)).one()
    assert allergy.category == "food" and allergy.drug_receipt_code is None and allergy.drug_scope is None


@pytest.mark.parametrize(("slug", "data", "shown"), [
    ("blood-type", {"abo": "A", "rh": "+", "confirmed_by": "当院検査", "confirmed_on": "2020-04-01"}, "A型"),
    ("past-history", {"disease": "虫垂炎（手術）", "period": "1980年"}, "虫垂炎（手術）"),
    ("infections", {"kind": "hbs_ag", "result": "negative", "tested_on": "H30.6.1"}, "HBs抗原"),
    ("vaccinations", {"vaccine": "インフルエンザHAワクチン", "administered_on": "2025-10-20", "dose_number": "1",
                      "lot_number": "HA123", "site": "左上腕"}, "インフルエンザHAワクチン"),
    ("disability", {"kind": "physical", "grade": "4級", "certificate_number": "第12345号"}, "身体障害者手帳"),
    ("care-level", {"level": "support2", "valid_from": "2025-04-01", "valid_to": "2027-03-31"}, "要支援2"),
])
def test_each_kind_of_item_is_entered_and_shown(client, ward, slug, data, shown):
    client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
    patient = ward["patient"]
    page = f"/patients/{patient.id}/profile/{slug}/new"
    assert client.get(page).status_code == 200
    response = client.post(f"/patients/{patient.id}/profile/{slug}", data, form_page=page)
    assert response.status_code == 302, response.get_data(as_text=True)
    html = client.get(f"/patients/{patient.id}/profile").get_data(as_text=True)
    section = html[html.index(f'id="{slug}"'):]
    assert shown in section[:3000]


@pytest.mark.parametrize(("slug", "data", "message"), [
    ("vaccinations", {"vaccine": "BCG", "administered_on": (date.today() + timedelta(days=30)).isoformat()},
     "接種日が未来の日付になっています"),
    ("care-level", {"level": "care1", "valid_from": "2026-04-01", "valid_to": "2025-03-31"},
     "有効期間の終了日が開始日より前です"),
    ("infections", {"kind": "other", "result": "positive", "tested_on": "2024-01-01"}, "検査名を入力してください"),
    ("infections", {"kind": "hbs_ag", "result": "maybe", "tested_on": "2024-01-01"}, "結果の選択肢にない値です"),
    ("blood-type", {"abo": "A", "rh": "+", "confirmed_by": "当院", "confirmed_on": "平成31年5月1日"}, "平成の期間外"),
])
def test_bad_input_gets_a_japanese_message_and_nothing_is_saved(client, ward, session, slug, data, message):
    client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
    patient = ward["patient"]
    page = f"/patients/{patient.id}/profile/{slug}/new"
    response = client.post(f"/patients/{patient.id}/profile/{slug}", data, form_page=page)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.action.like("profile.%"))) is None


def test_a_correction_keeps_the_old_version_visible_with_who_and_when(client, ward, session):
    patient = ward["patient"]
    client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
    page = f"/patients/{patient.id}/profile/blood-type/new"
    client.post(f"/patients/{patient.id}/profile/blood-type",
                {"abo": "A", "rh": "+", "confirmed_by": "本人申告", "confirmed_on": "2024-01-10"}, form_page=page)
    first = session.scalars(select(BloodType)).one()
    client.logout()
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    edit = f"/patients/{patient.id}/profile/blood-type/{first.id}/edit"
    # A correction needs a reason.
    response = client.post(edit, {"abo": "AB", "rh": "+", "confirmed_by": "当院検査", "confirmed_on": "2024-02-01"},
                           form_page=edit)
    assert response.status_code == 422 and "修正・取消の理由を入力してください" in response.get_data(as_text=True)
    response = client.post(edit, {"abo": "AB", "rh": "+", "confirmed_by": "当院検査", "confirmed_on": "2024-02-01",
                                  "change_reason": "当院で検査し確定"}, form_page=edit)
    assert response.status_code == 302
    session.expire_all()
    versions = session.scalars(select(BloodType).order_by(BloodType.version)).all()
    assert [(v.abo, v.version, v.superseded_at is not None) for v in versions] == [("A", 1, True), ("AB", 2, False)]
    assert versions[0].lineage_id == versions[1].lineage_id == first.id
    html = client.get(f"/patients/{patient.id}/profile/blood-type/{first.id}/history").get_data(as_text=True)
    assert "看護 花子" in html and "医師 一郎" in html and "修正前" in html and "当院で検査し確定" in html
    assert "本人申告" in html  # the old value stays readable
    # The superseded version cannot be corrected again (someone else's stale screen).
    response = client.post(edit, {"abo": "O", "rh": "+", "confirmed_by": "x", "confirmed_on": "2024-02-01",
                                  "change_reason": "x"}, form_page=f"/patients/{patient.id}/profile")
    assert response.status_code == 404
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "profile.blood-type.correct")).one()
    assert audit.summary["before"]["abo"] == "A" and audit.summary["after"]["abo"] == "AB"
    assert audit.patient_id == patient.id


def test_a_second_blood_type_entry_corrects_the_first(client, ward, session):
    patient = ward["patient"]
    client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
    page = f"/patients/{patient.id}/profile/blood-type/new"
    client.post(f"/patients/{patient.id}/profile/blood-type",
                {"abo": "O", "rh": "+", "confirmed_by": "献血カード", "confirmed_on": "2024-01-10"}, form_page=page)
    assert client.get(page).status_code == 302  # the "new" form leads to the correction form
    current = session.scalars(select(BloodType).where(BloodType.superseded_at.is_(None))).all()
    assert len(current) == 1


def test_withdrawn_item_leaves_the_list_and_stays_in_history(client, ward, session):
    patient = ward["patient"]
    client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
    page = f"/patients/{patient.id}/profile/past-history/new"
    client.post(f"/patients/{patient.id}/profile/past-history", {"disease": "胃潰瘍", "period": "2010年"},
                form_page=page)
    item = session.scalars(select(PastHistory)).one()
    edit = f"/patients/{patient.id}/profile/past-history/{item.id}/edit"
    response = client.post(f"/patients/{patient.id}/profile/past-history/{item.id}/retract", {"reason": "別患者の記録"},
                           form_page=edit)
    assert response.status_code == 302
    html = client.get(f"/patients/{patient.id}/profile").get_data(as_text=True)
    section = html[html.index('id="past-history"'):]
    assert "胃潰瘍" not in section[:1500]
    history = client.get(f"/patients/{patient.id}/profile/past-history/{item.id}/history").get_data(as_text=True)
    assert "胃潰瘍" in history and "取消" in history and "別患者の記録" in history


def test_clerks_read_but_do_not_write_the_profile(client, ward, session):
    patient = ward["patient"]
    client.login(ward["clerk"].login_id, ward["clerk"].totp_secret)
    assert client.get(f"/patients/{patient.id}/profile").status_code == 200
    assert client.get(f"/patients/{patient.id}/profile/allergies/new").status_code == 403
    response = client.post(f"/patients/{patient.id}/vitals", {"measured_at": _now_local(), "pulse": "70"},
                           form_page=f"/patients/{patient.id}/profile")
    assert response.status_code == 403
    assert session.scalar(select(VitalSign.id)) is None


def test_every_look_at_the_profile_is_in_the_access_log(client, ward, session):
    patient = ward["patient"]
    client.login(ward["clerk"].login_id, ward["clerk"].totp_secret)
    client.get(f"/patients/{patient.id}/profile")
    client.get(f"/patients/{patient.id}/vitals")
    resources = session.scalars(select(AccessLogEntry.resource).where(AccessLogEntry.patient_id == patient.id)).all()
    assert "patient.profile" in resources and "patient.vitals" in resources


def test_another_clinics_profile_is_not_found(client, ward, session):
    other = make_clinic(session, institution_code="1310156789", name="みなと内科・小児科")
    other_nurse = make_user(session, other, role="nurse")
    session.commit()
    client.login(other_nurse.login_id, other_nurse.totp_secret)
    patient = ward["patient"]
    assert client.get(f"/patients/{patient.id}/profile").status_code == 404
    response = client.post(f"/patients/{patient.id}/vitals", {"measured_at": _now_local(), "pulse": "70"},
                           form_page="/reception")
    assert response.status_code == 404


def test_drug_search_as_you_type_answers_json_in_any_kana(client, ward):
    client.login(ward["clerk"].login_id, ward["clerk"].totp_secret)
    for typed in ("ろきそにん", "ロキソニン", "ﾛｷｿﾆﾝ", "ロキソプロフェン"):
        items = client.get("/masters/drugs", query_string={"q": typed}).get_json()["items"]
        assert any(i["name"].startswith("ロキソニン") for i in items), typed
    assert client.get("/masters/drugs", query_string={"q": "%_" * 300}).get_json()["items"] == []


def _items_of_every_kind(session, clinic, patient, n: int) -> None:
    """`n` current items of every kind of the profile (a 妊娠・授乳 kind is single: one), each a first version."""
    from app.db import utcnow
    from app.patients.profile_models import CareLevel, Disability, Infection, Pregnancy, Vaccination

    day = date(2024, 5, 1)
    items = [Pregnancy(status="lactating", since=day)]
    for i in range(n):
        items += [VitalSign(measured_at=utcnow() - timedelta(days=i), systolic=120 + i, diastolic=70),
                  BloodType(abo="A", rh="+"), Allergy(category="food", substance=f"そば{i}"),
                  Contraindication(substance=f"薬{i}", reason="発疹"), PastHistory(disease=f"虫垂炎{i}"),
                  Infection(kind="hbs_ag", result="positive", tested_on=day),
                  Vaccination(vaccine=f"ワクチン{i}", administered_on=day),
                  Disability(kind="physical", grade="4級"), CareLevel(level="support2", valid_from=day)]
    for item in items:
        item.clinic_id, item.patient_id = clinic.id, patient.id
    session.add_all(items)
    session.flush()
    for item in items:
        item.lineage_id = item.id
    session.commit()


def test_the_profile_runs_a_bounded_number_of_queries(app, client, ward, session):
    """One query for the kinds the patient has, one for each of those, the vitals once: never one per item, and the
    same for one item of each kind as for three."""
    from tests.helpers import counted_statements

    counts = []
    for n in (1, 3):
        patient = make_patient(session, ward["clinic"], sex="F", birth_date=date(1990, 1, 1))
        session.commit()
        _items_of_every_kind(session, ward["clinic"], patient, n)
        if not counts:
            client.login(ward["nurse"].login_id, ward["nurse"].totp_secret)
        with counted_statements(app.extensions["db_engine"]) as statements:
            html = client.get(f"/patients/{patient.id}/profile").get_data(as_text=True)
        assert f"ワクチン{n - 1}" in html and "授乳中" in html
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    # Login session, patient, access log, the kinds present, nine kinds besides the vitals, the vitals, diagnoses,
    # 共有しない marks, the safety banner (2).
    assert counts[1] <= 18, counts
    empty = make_patient(session, ward["clinic"], sex="M")
    session.commit()
    with counted_statements(app.extensions["db_engine"]) as statements:
        assert client.get(f"/patients/{empty.id}/profile").status_code == 200
    assert len(statements) <= 10, statements  # nothing recorded: no query of any kind's items
