"""In-house tests (院内検査): a nurse records 尿定性, rapid tests, CRP and blood glucose; they stand in the result
table and trend beside the lab company's results marked 院内, are copied into the note like them, are registered
with the 電子カルテ情報共有サービス when they carry a JLAC10 code, and values the test cannot read are refused."""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.models import AuditEntry
from app.core.timeutil import japan_today
from app.labs.in_house import ITEMS
from app.labs.models import LabResult
from app.outbox import worker as outbox
from app.sharing.models import REGISTERED, SharingRegistration
from tests.sharing.records import MEMBER, arrange, connect

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "in-house"
URINE = {"IH-U-TP": "1+", "IH-U-GLU": "−", "IH-U-BLD": "±", "IH-U-KET": "−", "IH-U-PH": "6.0", "IH-U-SG": "1.015"}


def _page(patient) -> str:
    return f"/patients/{patient.id}/labs/in-house"


def _results(session, patient) -> list[LabResult]:
    session.expire_all()
    return list(session.scalars(select(LabResult).where(LabResult.patient_id == patient.id)
                                .order_by(LabResult.lab_code)))


def test_codes_come_from_the_published_sets_or_are_left_empty_with_a_note():
    with (SAMPLES / "jp_clins_core_lab_rows.csv").open(encoding="utf-8") as rows:
        published = {row["jlac10"] for row in csv.DictReader(rows)}
    published |= set(re.findall(r"#(\w{17})", (SAMPLES / "echeckup_code_lines.fsh.txt").read_text(encoding="utf-8")))
    assert {item.jlac10 for item in ITEMS if item.jlac10} == published
    assert all(item.note for item in ITEMS if not item.jlac10)


def test_nurse_records_urine_and_glucose_and_they_show_as_in_house(client, session):
    desk = arrange(session, records=False)
    patient = desk["patient"]
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    assert "尿蛋白（定性）" in client.get(_page(patient)).get_data(as_text=True)
    response = client.post(_page(patient), {**URINE, "IH-BG": "１３２", "IH-FLU-A": "陰性", "IH-FLU-B": ""},
                           form_page=_page(patient))
    assert response.status_code == 302
    kept = {r.lab_code: r for r in _results(session, patient)}
    assert set(kept) == {*URINE, "IH-BG", "IH-FLU-A"}
    assert kept["IH-U-TP"].value == "1+" and kept["IH-U-TP"].flag == "A" and kept["IH-U-TP"].is_in_house
    assert kept["IH-BG"].numeric_value == 132 and kept["IH-BG"].jlac10 == "3D010000002126201"
    assert kept["IH-FLU-A"].jlac10 == "" and kept["IH-U-GLU"].value == "−"
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "lab.in_house_result")).all()
    table = client.get(f"/patients/{patient.id}/labs").get_data(as_text=True)
    assert "院内検査の結果を記録しました（8項目）" in table
    assert table.count('badge-in-house" title=') == 8 and "尿蛋白（定性）" in table


@pytest.mark.parametrize(("code", "value", "message"), [
    ("IH-U-TP", "5+", "尿蛋白（定性）は「−・±・1+・2+・3+」のいずれかで入力してください"),
    ("IH-BG", "5000", "血糖は10〜600mg/dLの範囲で入力してください"),
    ("IH-BG", "NaN", "血糖は数値で入力してください"),
    ("IH-CRP", "-1", "CRPは0〜40mg/dLの範囲で入力してください"),
    ("IH-COV-AG", "弱陽性", "SARS-CoV-2抗原（迅速）は「陰性・陽性」のいずれかで入力してください"),
])
def test_values_the_test_cannot_read_are_refused_and_nothing_is_kept(client, session, code, value, message):
    desk = arrange(session, records=False)
    patient = desk["patient"]
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    response = client.post(_page(patient), {"IH-U-GLU": "2+", code: value}, form_page=_page(patient))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _results(session, patient) == []  # all or none: the good 尿糖 was not kept either


def test_a_future_day_and_an_empty_form_are_refused(client, session):
    desk = arrange(session, records=False)
    patient = desk["patient"]
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    later = (japan_today() + timedelta(days=3)).isoformat()
    html = client.post(_page(patient), {"measured_on": later, "IH-BG": "100"}, form_page=_page(patient)
                       ).get_data(as_text=True)
    assert "検査日が未来の日付になっています" in html
    html = client.post(_page(patient), {}, form_page=_page(patient)).get_data(as_text=True)
    assert "結果を1項目以上入力してください" in html
    assert _results(session, patient) == []


def test_clerks_cannot_record(client, session):
    desk = arrange(session, records=False)
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    assert client.get(_page(desk["patient"])).status_code == 403


def test_glucose_has_a_trend_and_is_copied_into_the_note(client, session):
    desk = arrange(session, records=False)
    desk["clinic"].is_full_chart_mode = True
    session.commit()
    patient = desk["patient"]
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    for days_ago, value in ((14, "180"), (0, "126")):
        day = (japan_today() - timedelta(days=days_ago)).isoformat()
        urine = {} if days_ago else {"IH-U-TP": "2+"}
        assert client.post(_page(patient), {"measured_on": day, "IH-BG": value, **urine},
                           form_page=_page(patient)).status_code == 302
    chart = client.get(f"/patients/{patient.id}/labs?trend=IH-BG").get_data(as_text=True)
    assert "推移: 血糖（mg/dL）" in chart and chart.count("<circle") == 2
    today = japan_today()
    response = client.post(f"/patients/{patient.id}/notes/today/lab-results", {"days": [today.isoformat()]},
                           form_page=f"/patients/{patient.id}/labs")
    assert response.status_code == 302
    note = client.get(response.location).get_data(as_text=True)
    assert f"【検査結果 {today:%Y/%m/%d} 採取】" in note
    assert "尿蛋白（定性）［院内］ 2+ A" in note and "血糖［院内］ 126 mg/dL" in note


def test_coded_results_are_registered_with_the_sharing_service(app, client, session, sharing):
    desk = arrange(session, integrations=connect(sharing=sharing), records=False)
    sharing.seed_patient(MEMBER, consent_until=(japan_today() + timedelta(days=30)).isoformat())
    patient = desk["patient"]
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    client.post(_page(patient), {"IH-U-TP": "1+", "IH-BG": "132", "IH-GAS": "陽性"}, form_page=_page(patient))
    registrations = session.scalars(select(SharingRegistration)).all()
    assert sorted(r.kind for r in registrations) == ["lab_result", "lab_result"]  # 溶連菌 has no code: kept here
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    session.expire_all()
    assert {session.get(SharingRegistration, r.id).status for r in registrations} == {REGISTERED}
    held = [r for r in sharing.registered()["patients"][MEMBER]["resources"] if r["resourceType"] == "Observation"]
    codes = {c["code"] for r in held for c in r["code"]["coding"]}
    assert {"1A990000000190153", "3D010000002126201"} <= codes
    glucose = next(r for r in held if any(c["code"] == "3D010000002126201" for c in r["code"]["coding"]))
    assert glucose["valueQuantity"]["value"] == 132
