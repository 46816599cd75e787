"""The whole visit goes to the ORCA simulator as its one 中途データ (medicalmodv2 over real HTTP, through the outbox):
the doctor's fee and prescription, chosen and issued through HTTP, arrive as one data with 処方箋料 and its 加算;
cancelling the prescription replaces that data (never a second copy); a prescription issued after 会計済 is refused
and says so; 初診/再診 follows ORCA's own 初診算定日; the 受付一覧 offers 会計へ only to roles that may open it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.billing import first_visit, rx_lines
from app.billing.models import FirstVisitAnswer, VisitBill
from app.billing.rx_lines import GENERIC_ALL, GENERIC_SOME, RX_FEE, SPECIFIC_RX
from app.billing.summary import SummaryLine, VisitSummary, compare
from app.integrations.orca import OrcaBillSimulation
from app.outbox import services as outbox
from app.prescriptions.billing import queue_billing
from app.prescriptions.drug_master import load_shipped_subset as load_drugs
from app.prescriptions.models import Prescription, PrescriptionLine, PrescriptionRp
from app.reception.models import PAID, Visit
from tests.billing.helpers import CODE, make_visit
from tests.factories import make_user
from tests.prescriptions.test_prescriptions import AFTER_MEALS_3, LOXONIN, MUCOSTA, _issue

TOKUTEI = "113001810"
#: 28 days of 内服, every drug by 一般名: 一般名処方加算１ and, with the main 特定疾患 (バセドウ病),
#: 特定疾患処方管理加算.
RPS = [("1", AFTER_MEALS_3, "", "28", [(LOXONIN, "3", True, False)])]


def _deliver(app):
    for _ in range(2):  # a record's send, then the visit's own if one was queued meanwhile
        outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)


def _entries(orca):
    [kept] = orca.medical(CODE)
    return kept, [(e["Medical_Class"], [m["Medication_Code"] for m in e["Medication_info"]])
                  for e in kept["Medical_Information"]]


def _rx(session) -> Prescription:
    session.expire_all()
    return session.scalars(select(Prescription).order_by(Prescription.id.desc())).first()


def test_the_visit_goes_as_one_data_and_a_cancel_replaces_it(app, client, session, desk, orca):
    load_drugs(session)
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/billing/visits/{desk['visit'].id}/fees"
    assert client.post(page, {"code": TOKUTEI, "quantity": "1"}, form_page=page).status_code == 302
    _, issued = _issue(client, desk["patient"], RPS)
    assert issued.status_code == 302
    _deliver(app)
    kept, entries = _entries(orca)
    assert entries == [("130", [TOKUTEI]), ("212", [LOXONIN]), ("250", [RX_FEE, GENERIC_ALL, SPECIFIC_RX])]
    assert kept["Medical_Information"][1]["Medical_Class_Number"] == "28"
    bill = session.scalars(select(VisitBill).where(VisitBill.visit_id == desk["visit"].id)).one()
    rx = _rx(session)
    assert rx.orca_billing_status == bill.orca_billing_status == "sent"
    assert rx.orca_medical_uid == bill.orca_medical_uid == kept["Medical_Uid"]
    assert "ORCAへ送信済（会計待ち）" in client.get(issued.location).get_data(as_text=True)
    summary = client.get(f"/billing/visits/{desk['visit'].id}").get_data(as_text=True)
    assert RX_FEE in summary and SPECIFIC_RX in summary and LOXONIN in summary
    assert "再診（ORCAの初診算定日" in summary and "一致しています" in summary  # 75+225+60+10+56 both sides

    client.post(f"{issued.location}/cancel", {"reason": "用量の誤り", "then": ""}, form_page=issued.location)
    _deliver(app)
    replaced, entries = _entries(orca)  # still one data: replaced (class 03) without the prescription
    assert entries == [("130", [TOKUTEI])]
    assert _rx(session).orca_billing_status == "deleted"
    bill = session.scalars(select(VisitBill).where(VisitBill.visit_id == desk["visit"].id)).one()
    assert bill.orca_medical_uid == replaced["Medical_Uid"] != kept["Medical_Uid"]


def test_a_prescription_after_the_visit_was_paid_is_refused(app, client, session, desk, orca):
    load_drugs(session)
    session.get(Visit, desk["visit"].id).status = PAID
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _, issued = _issue(client, desk["patient"], RPS)
    _deliver(app)
    rx = _rx(session)
    assert rx.orca_billing_status == "rejected" and "会計済" in rx.orca_billing_error
    assert orca.medical(CODE) == []
    assert "会計済みのため送れません" in client.get(issued.location).get_data(as_text=True)


def test_first_or_revisit_follows_orcas_first_calculation_date(client, session, desk, orca):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    summary, picker = f"/billing/visits/{desk['visit'].id}", f"/billing/visits/{desk['visit'].id}/fees"
    orca.set_fault("down", api="medicalmodv23")  # never answered yet: nothing to show
    assert "ORCAの初診算定日を確認できません" in client.get(summary).get_data(as_text=True)
    orca.clear_faults()
    orca.set_first_calculation(CODE, "00001", None)  # ORCA holds no 初診算定日: today is a 初診
    html = client.get(summary).get_data(as_text=True)
    assert "初診（ORCAに初診算定日がありません）" in html and "111000110" in html and "112007410" not in html
    tokutei = next(o for o in client.get(picker + "?format=json").get_json() if o["code"] == TOKUTEI)
    assert not tokutei["applies"] and "初診の日" in tokutei["reason"]
    _bump(session, desk["visit"])  # the reception changed (as a sync does): ORCA is asked again
    orca.set_first_calculation(CODE, "00001", desk["visit"].visit_date - timedelta(days=400))
    html = client.get(summary).get_data(as_text=True)
    assert "再診（ORCAの初診算定日" in html and "112007410" in html and "111000110" not in html
    assert next(o for o in client.get(picker + "?format=json").get_json() if o["code"] == TOKUTEI)["applies"]


def _bump(session, visit):
    session.get(Visit, visit.id).revision += 1
    session.commit()


def test_orcas_first_calculation_date_is_kept_for_the_visit_and_the_day(client, session, desk, orca, monkeypatch):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    summary, picker = f"/billing/visits/{desk['visit'].id}", f"/billing/visits/{desk['visit'].id}/fees"
    earlier = desk["visit"].visit_date - timedelta(days=400)
    orca.set_first_calculation(CODE, "00001", earlier)
    assert "再診（ORCAの初診算定日" in client.get(picker).get_data(as_text=True)
    [kept] = session.scalars(select(FirstVisitAnswer)).all()
    assert (kept.visit_id, kept.first_calculation_date) == (desk["visit"].id, earlier)
    # The same visit on the same day: the kept answer, ORCA is not asked (its fault would show otherwise).
    orca.set_fault("down", api="medicalmodv23")
    html = client.get(summary).get_data(as_text=True)
    assert "再診（ORCAの初診算定日" in html and "ORCAに確認できない" not in html
    # The visit changed and ORCA is down: the last answer, with when ORCA gave it.
    _bump(session, desk["visit"])
    html = client.get(picker).get_data(as_text=True)
    assert "再診（ORCAの初診算定日" in html and "時点のORCAの答えです" in html
    assert next(o for o in client.get(picker + "?format=json").get_json() if o["code"] == TOKUTEI)["applies"]
    orca.clear_faults()
    orca.set_first_calculation(CODE, "00001", None)
    assert "初診（ORCAに初診算定日がありません）" in client.get(summary).get_data(as_text=True)
    # Another day: asked again even though the visit did not change.
    orca.set_first_calculation(CODE, "00001", earlier)
    assert "初診（ORCAに初診算定日がありません）" in client.get(summary).get_data(as_text=True)
    monkeypatch.setattr(first_visit, "japan_today", lambda: desk["visit"].visit_date + timedelta(days=1))
    assert "再診（ORCAの初診算定日" in client.get(summary).get_data(as_text=True)
    session.expire_all()
    assert session.scalars(select(func.count()).select_from(FirstVisitAnswer)).one() == 1


def test_the_reception_list_offers_the_summary_only_to_roles_that_may_open_it(client, session, desk):
    admin = make_user(session, desk["clinic"], role="admin")
    session.commit()
    link = f'href="/billing/visits/{desk["visit"].id}">会計へ'
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    assert link in client.get("/reception").get_data(as_text=True)
    client.logout()
    client.login(admin.login_id, admin.totp_secret)
    assert link not in client.get("/reception").get_data(as_text=True)
    assert client.get(f"/billing/visits/{desk['visit'].id}").status_code == 403


def test_full_chart_mode_writes_the_fees_into_the_notes_p(client, session, desk):
    desk["clinic"].is_full_chart_mode = True
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/billing/visits/{desk['visit'].id}/fees"
    client.post(page, {"code": TOKUTEI, "quantity": "1"}, form_page=page)
    day = desk["visit"].visit_date.isoformat()
    editor = client.get(f"/patients/{desk['patient'].id}/notes/{day}/edit?visit_id={desk['visit'].id}")
    html = editor.get_data(as_text=True)
    assert editor.status_code == 200
    plan = html[html.index('name="plan"'):]
    assert "【算定】特定疾患療養管理料" in plan[:plan.index("</textarea>")]  # a new note's P starts with it
    assert 'id="transfer-fees"' in html and 'data-transfer="fees" data-part="plan"' in html  # 自動転記 offers it


def test_a_difference_from_orcas_calculation_is_listed_never_hidden():
    summary = VisitSummary(lines=[
        SummaryLine("初・再診", "120", "112007410", "再診料", "1", Decimal(75), "ORCAが算定", by_orca=True),
        SummaryLine("処方", "212", LOXONIN, "ロキソニン錠", "3×28", None, "ORCAへ送信済（会計待ち）"),
        SummaryLine("処方", "250", RX_FEE, "処方箋料", "1", Decimal(60), "ORCAへ送信済（会計待ち）")],
        simulation=OrcaBillSimulation(195, 590, 590, 0, (("初・再診料", 75), ("投薬", 120))))
    compare(summary)
    assert summary.differences == ["投薬: かみかるて 60点 ／ ORCA 120点（差 +60点）",
                                   "合計点数: かみかるて 135点 ／ ORCA 195点（差 +60点）"]


def _long_rx(session, desk, day, status="sent", drug=(LOXONIN, "ロキソニン錠６０ｍｇ", True),
             days=28) -> Prescription:
    rx = Prescription(clinic_id=desk["clinic"].id, patient_id=desk["patient"].id, doctor_name="医師", issued_on=day,
                      valid_until=day, orca_billing_status=status)
    rx.rps.append(PrescriptionRp(number=1, form=1, usage_text="１日３回毎食後", quantity=days, lines=[
        PrescriptionLine(seq=1, drug_receipt_code=drug[0], drug_name=drug[1], dose=3, unit="錠",
                         by_generic_name=drug[2])]))
    session.add(rx)
    session.flush()
    return rx


def test_specific_disease_prescription_fee_once_a_month(session, desk):
    visit = make_visit(session, desk["clinic"], desk["patient"], day=date(2026, 11, 20))
    today = _long_rx(session, desk, visit.visit_date, "sending")
    codes = [line.code for dose in rx_lines.doses(session, [today], visit) for line in dose.lines]
    assert SPECIFIC_RX in codes  # a main 特定疾患 and 28 days of 内服
    _long_rx(session, desk, date(2026, 11, 5))  # already carried on an earlier day of the month
    codes = [line.code for dose in rx_lines.doses(session, [today], visit) for line in dose.lines]
    assert SPECIFIC_RX not in codes and RX_FEE in codes and GENERIC_ALL in codes


def test_two_prescriptions_of_one_visit_bill_one_prescription_fee(app, client, session, desk, orca):
    """告示 F400 注1: 処方箋料 is counted per 交付, and the sheets of one consultation are one 交付 (orca.md §4a)."""
    day = desk["visit"].visit_date
    for rx in (_long_rx(session, desk, day, ""), _long_rx(session, desk, day, "", (MUCOSTA, "ムコスタ錠", False), 14)):
        queue_billing(session, desk["clinic"], rx)
    session.commit()
    _deliver(app)
    _, entries = _entries(orca)
    # Both sheets' drugs; one 処方箋料 with one 加算: 加算２, as only some drugs of the 交付 are by 一般名.
    assert entries == [("212", [LOXONIN]), ("212", [MUCOSTA]), ("250", [RX_FEE, GENERIC_SOME, SPECIFIC_RX])]
    session.expire_all()
    assert [rx.orca_billing_status for rx in session.scalars(select(Prescription).order_by(Prescription.id))] \
        == ["sent", "sent"]
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    summary = client.get(f"/billing/visits/{desk['visit'].id}").get_data(as_text=True)
    assert summary.count(f">{RX_FEE}</td>") == 1 and "一致しています" in summary  # ORCA's total agrees
