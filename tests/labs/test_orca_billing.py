"""Billing a lab order in ORCA: the tests (診療種別区分 600) with their 判断料 and 採血料 reach the ORCA simulator
(medicalmodv2 over real HTTP) through the outbox under the day's reception; a test without a billing code is
reported on the order; cancelling the order tells the lab (ORC-1 CA) and deletes the 中途データ."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from app.labs.billing import DELETE, SEND
from app.labs.masters import DATA, load_shipped_subset
from app.labs.models import LabOrder
from app.outbox.models import DEAD, OutboxMessage
from app.patients.models import Patient
from app.reception.orca_sync import orca_client_for, sync_all_clinics, sync_patient
from tests.factories import make_clinic, make_user
from tests.labs.helpers import CLINIC, deliver, lab_settings, latest_order, place_order

PROCEDURES = Path(__file__).resolve().parents[1] / "samples" / "masters" / "procedures.csv"
AST, ALT, GGT, BUN, CRE, UA = "160022510", "160022610", "160020410", "160019010", "160019210", "160019310"
TP, ALB, TG, HDL, LDL, GLU = "160017410", "160018910", "160020910", "160023410", "160167250", "160019410"
HBA1C, CRP, CBC = "160010010", "160054710", "160008010"
HEMATOLOGY, BIOCHEM_1, IMMUNOLOGY, BLOOD_DRAW = "160061810", "160061910", "160062110", "160095710"


@pytest.fixture
def desk(app, session, orca, lab_center):
    """Clinic A linked to its ORCA and its lab, today's reception list synced, a doctor, the lab master."""
    integrations = {"orca": {"base_url": orca.base_url(CLINIC), "user": "ormaster-a", "password": "orca-demo-a"},
                    **lab_settings(lab_center)}
    clinic = make_clinic(session, institution_code=CLINIC, integrations=integrations)
    doctor = make_user(session, clinic, role="doctor", display_name="上野 誠")
    load_shipped_subset(session)
    session.commit()
    sync_all_clinics(app.extensions["db_sessionmaker"])
    session.expire_all()
    yamada = session.scalars(select(Patient).where(Patient.orca_patient_id == "00001")).one()
    return {"clinic": clinic, "doctor": doctor, "patient": yamada}


def _ordered(client, desk, session, patient=None, **picked) -> tuple[LabOrder, str]:
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    response = place_order(client, patient or desk["patient"], **picked)
    return latest_order(session), response.location


def _codes(entry: dict) -> list[str]:
    return [line["Medication_Code"] for line in entry["Medication_info"]]


def test_every_shipped_billing_code_is_a_row_of_the_procedure_master():
    source = {row["code"]: row for row in csv.DictReader(PROCEDURES.open(encoding="utf-8"))}
    with (DATA / "lab_procedures.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            assert {k: source[row["code"]][k] for k in row} == row  # copied, not typed
    with (DATA / "lab_items.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["receipt_code"]:
                assert source[row["receipt_code"]]["chapter"] == "D", row["lab_code"]


def test_an_order_bills_its_tests_and_fees_under_the_days_reception(app, client, desk, session, orca):
    order, page = _ordered(client, desk, session, sets=["S001", "S004"], items=["K0161"])
    assert order.orca_billing_status == "sending"
    html = client.get(page).get_data(as_text=True)
    assert "ORCAへ送信待ち" in html
    assert "請求コード未設定: 総コレステロール(T-CHO)" in html  # reported, never silently dropped
    deliver(app)
    order = latest_order(session)
    assert order.status == "accepted" and order.orca_billing_status == "sent" and order.orca_medical_uid
    [kept] = orca.medical(CLINIC)
    assert kept["Medical_Uid"] == order.orca_medical_uid and kept["Patient_ID"] == "00001"
    assert kept["Perform_Date"] == order.ordered_on.isoformat()
    tests, fees = kept["Medical_Information"]
    assert (tests["Medical_Class"], fees["Medical_Class"]) == ("600", "600")
    # Each coded test once (the four 血算 items are one 末梢血液一般検査), in the order of the specimens.
    assert sorted(_codes(tests)) == sorted([AST, ALT, GGT, TG, HDL, LDL, CRE, UA, CRP, GLU, HBA1C, CBC])
    assert _codes(fees) == [HEMATOLOGY, BIOCHEM_1, IMMUNOLOGY, BLOOD_DRAW]
    assert "ORCAへ送信済（会計待ち）" in client.get(page).get_data(as_text=True)


def test_a_second_order_of_the_month_does_not_bill_the_same_fees_again(app, client, desk, session, orca):
    _ordered(client, desk, session, sets=["S002"])
    _, page = _ordered(client, desk, session, items=["K0152", "K0121"])
    deliver(app)
    [kept] = orca.medical(CLINIC)  # both orders ride in the visit's one 中途データ
    session.expire_all()
    first, second = session.scalars(select(LabOrder).order_by(LabOrder.id)).all()
    assert first.orca_medical_uid == second.orca_medical_uid == kept["Medical_Uid"]
    _, tests, first_fees, fees = kept["Medical_Information"]
    assert sorted(_codes(tests)) == sorted([HBA1C, BUN])
    assert _codes(fees) == [HEMATOLOGY]  # 生化学的検査（１）判断料 and today's 採血料 went with the first order
    assert HEMATOLOGY not in _codes(first_fees)
    assert "生化学的検査（１）判断料、Ｂ－Ｖは同月・同日の他の依頼で請求" in client.get(page).get_data(as_text=True)


def test_cancelling_tells_the_lab_and_deletes_the_orca_data(app, client, desk, session, orca, lab_center):
    order, page = _ordered(client, desk, session, sets=["S002"])
    deliver(app)
    assert len(orca.medical(CLINIC)) == 1 and lab_center.orders()
    client.post(f"{page}/cancel", {"reason": "患者の希望で中止"}, form_page=page)
    deliver(app)
    order = latest_order(session)
    assert order.status == "cancelled" and order.cancel_reason == "患者の希望で中止"
    assert order.orca_billing_status == "deleted" and orca.medical(CLINIC) == []
    assert lab_center.orders() == {} and lab_center.cancelled() == [f"{CLINIC}:{order.order_number}"]
    html = client.get(page).get_data(as_text=True)
    assert "ORCAの中途データを削除済" in html and "取消" in html and "依頼を取り消す" not in html


def test_cancelled_before_anything_went_out_nothing_is_sent(app, client, desk, session, orca, lab_center):
    order, page = _ordered(client, desk, session, sets=["S002"])
    client.post(f"{page}/cancel", {"reason": "重複依頼"}, form_page=page)
    deliver(app)
    deliver(app)
    order = latest_order(session)
    assert order.status == "cancelled" and order.orca_billing_status == "deleted"
    assert orca.medical(CLINIC) == [] and lab_center.orders() == {} and lab_center.cancelled() == []


def test_an_order_with_results_cannot_be_cancelled(app, client, desk, session, lab_center):
    order, page = _ordered(client, desk, session, sets=["S002"])
    deliver(app)
    lab_center.release(order.order_number)
    from app.labs.poller import poll_results

    poll_results(app.extensions["db_sessionmaker"], desk["clinic"].id)
    response = client.post(f"{page}/cancel", {"reason": "やっぱり中止"}, form_page=page)
    assert response.status_code == 302
    assert latest_order(session).status == "complete"
    assert "結果が届いている依頼" in client.get(page).get_data(as_text=True)


def test_a_cancel_without_a_reason_is_refused(client, desk, session):
    order, page = _ordered(client, desk, session, sets=["S002"])
    client.post(f"{page}/cancel", {"reason": " "}, form_page=page)
    assert latest_order(session).status == "queued"


def test_an_order_without_billing_codes_is_not_sent_and_says_why(app, client, desk, session, orca):
    order, page = _ordered(client, desk, session, items=["K0301", "K0302"])
    assert order.orca_billing_status == ""
    assert session.scalar(select(OutboxMessage.id).where(OutboxMessage.kind == SEND)) is None
    html = client.get(page).get_data(as_text=True)
    assert "ORCA未送信" in html and "請求コード未設定: 尿蛋白、尿糖" in html


def test_without_a_reception_that_day_it_waits_and_says_why(app, client, desk, session, orca):
    hino = sync_patient(session, desk["clinic"], orca_client_for(desk["clinic"]), "00006")  # not in today's list
    session.commit()
    order, page = _ordered(client, desk, session, hino, sets=["S002"])
    deliver(app)
    assert latest_order(session).orca_billing_status == "sending"
    assert "の受付（診療科・医師）がないため、ORCAへ送れません" in client.get(page).get_data(as_text=True)
    assert orca.medical(CLINIC) == []


def test_data_the_clerk_opened_cannot_be_deleted_and_the_page_says_so(app, client, desk, session, orca):
    order, page = _ordered(client, desk, session, sets=["S002"])
    deliver(app)
    orca.open_medical(CLINIC, latest_order(session).orca_medical_uid)
    client.post(f"{page}/cancel", {"reason": "依頼の誤り"}, form_page=page)
    deliver(app)
    order = latest_order(session)
    assert order.orca_billing_status == "delete_failed"
    assert "ORCAの「21 診療行為」で取り消してください" in order.orca_billing_error
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.kind == DELETE)).one().status == DEAD
    assert "ORCAの中途データを削除できませんでした" in client.get(page).get_data(as_text=True)


def test_orca_down_keeps_the_billing_and_sends_it_later(app, client, desk, session, orca):
    order, page = _ordered(client, desk, session, sets=["S002"])
    orca.set_fault("down")
    deliver(app)
    assert latest_order(session).orca_billing_status == "sending"
    assert "HTTP 503" in client.get(page).get_data(as_text=True)
    orca.clear_faults()
    deliver(app)
    assert latest_order(session).orca_billing_status == "sent" and len(orca.medical(CLINIC)) == 1


HEADER = ("lab_code,jlac10,jlac11,name,short_name,kana,specimen,specimen_code,container,unit,unit_ascii,value_type,"
          "ref_male,ref_female")


def test_a_lab_file_may_carry_billing_codes_and_one_without_them_keeps_the_mapped_ones(app, session, tmp_path):
    from app.labs.masters import LabMasterError, import_item_file, parse_item_file
    from app.labs.models import LabItem

    row = "K0111,3B035000002327201,,AST(GOT),AST,アスト,血清,023,生化学,U/L,U/L,NM,13-30,13-30"
    with pytest.raises(LabMasterError, match="2行目: 診療行為コード「M001」が9桁の数字ではありません"):
        parse_item_file(f"{HEADER},receipt_code\n{row},M001\n".encode())
    load_shipped_subset(session)
    path = tmp_path / "menu.csv"
    path.write_text(f"{HEADER}\n{row}\n", encoding="utf-8")
    import_item_file(session, path)
    assert session.get(LabItem, "K0111").receipt_code == AST  # the lab's file has no column: kept
    path.write_text(f"{HEADER},receipt_code\n{row},160022610\n", encoding="utf-8")
    import_item_file(session, path)
    assert session.get(LabItem, "K0111").receipt_code == ALT
