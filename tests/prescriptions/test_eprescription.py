"""電子処方箋 end to end through the order form, the outbox and the service simulator behind the 資格確認端末
simulator (real HTTP): the service's duplicate check before issuing (a hit needs a 投与理由), the three ways to
issue, the 引換番号 on the paper form and in its symbol, the signed electronic one and its 控え, refusals (each
code the simulator knows, a signature it refuses) shown with nothing issued, a lost reply retried through the
outbox to exactly one prescription, cancel, state and dispensing result."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text

from app.integrations.eprescription.signing import TestSigner
from app.integrations.orca.parsing import read_patient
from app.outbox import worker as outbox
from app.outbox.models import OutboxMessage
from app.prescriptions import eprescription as eprescription_domain
from app.prescriptions.drug_master import load_shipped_subset
from app.prescriptions.models import Prescription
from tests.factories import make_clinic, make_patient, make_user
from tests.prescriptions.remote_fake import GOOD_CODE, start_remote_signer
from tests.prescriptions.test_prescriptions import (
    AFTER_MEALS_3,
    AMLODIPINE,
    LOXONIN,
    MUCOSTA,
    _acks,
    _form,
    _issue,
    _reasons,
)
from tests.printing.pdf_tools import decode_symbols, page_images, pdf_text

CLINIC = "1310123458"
CARD = ["01130012", "75131378", "7812312", "00"]


@pytest.fixture
def desk(app, session, eprescription):
    eprescription.trust(TestSigner(app.instance_path).ca_pem)
    clinic = make_clinic(session, institution_code=CLINIC, integrations={
        "eprescription": {"signer": "test"},
        "national_gateway": {"url": eprescription.base_url(CLINIC), "token": eprescription.token(CLINIC)}})
    doctor = make_user(session, clinic, role="doctor", display_name="医師 一郎")
    patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ", birth_date=date(1958, 3, 2),
                           insurances=[{"name": "協会けんぽ", "insurer_number": CARD[0], "symbol": CARD[1],
                                        "number": CARD[2], "branch": CARD[3], "relation": "本人",
                                        "burden_percent": 30}])
    load_shipped_subset(session)
    session.commit()
    return {"clinic": clinic, "doctor": doctor, "patient": patient}


RPS = [("1", AFTER_MEALS_3, "", "14", [(LOXONIN, "3", True, False), (MUCOSTA, "3", False, True)]),
       ("2", "", "疼痛時", "5", [(AMLODIPINE, "1", False, False)])]


def _deliver(app) -> None:
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)


def _rx(session) -> Prescription:
    session.expire_all()
    return session.scalars(select(Prescription).order_by(Prescription.id.desc())).first()


def test_paper_with_exchange_number_prints_it_and_carries_record_82(app, client, desk, session, eprescription,
                                                                     tmp_path):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    page = client.get(f"/patients/{patient.id}/prescriptions/new").get_data(as_text=True)
    assert "紙の処方箋（引換番号あり）" in page and "カードリーダーで同意" in page
    _, issued = _issue(client, patient, RPS, mode="paper_exchange", consent="card", refill_count="2")
    assert issued.status_code == 302
    rx = _rx(session)  # registered while issuing: the 引換番号 is there to print
    assert (rx.mode, rx.consent, rx.refill_count) == ("paper_exchange", "card", 2)
    assert rx.eprescription_status == "registered" and len(rx.exchange_number) == 6
    held = eprescription.prescriptions()[rx.eprescription_id]
    assert held["issue_type"] == "2" and "64,2" in held["csv"]  # refill uses in the CSV
    html = client.get(issued.location).get_data(as_text=True)
    assert f"引換番号 {rx.exchange_number}" in html and "カードリーダーで同意" in html
    pdf = client.get(f"/patients/{patient.id}/prescriptions/{rx.id}/print.pdf").data
    assert "電子処方箋対応" in pdf_text(pdf, tmp_path)
    symbols = b"".join(decode_symbols(image) for image in page_images(pdf, tmp_path))
    assert f"\r\n82,1,{rx.exchange_number}\r\n".encode() in symbols


def test_electronic_is_signed_and_prints_the_services_copy(app, client, desk, session, eprescription, tmp_path):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    _, issued = _issue(client, patient, RPS, mode="electronic", consent="oral")
    rx = _rx(session)
    assert rx.eprescription_status == "registered", rx.eprescription_error
    assert eprescription.prescriptions()[rx.eprescription_id]["issue_type"] == "1"  # signed, verified
    copy = client.get(f"/patients/{patient.id}/prescriptions/{rx.id}/print.pdf")
    assert copy.mimetype == "application/pdf"
    text = pdf_text(copy.data, tmp_path)
    assert "処方内容（控え）" in text and rx.exchange_number in text


def test_the_services_duplicate_check_needs_a_reason_and_is_kept(app, client, desk, session, eprescription):
    eprescription.add_history(patient=CARD, date=date.today().strftime("%Y%m%d"), code="2171022F1ZZZ",
                              name="アムロジピン錠５ｍｇ「他院」", institution="神田内科医院", pharmacy="神田薬局")
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    url = f"/patients/{patient.id}/prescriptions/new"
    rps = [("1", "1011000400000000", "", "28", [(AMLODIPINE, "1", True, False)])]
    checked = client.post(url, _form(rps, action="check", mode="paper_exchange", consent="card"), form_page=url)
    html = checked.get_data(as_text=True)
    assert "【重複投薬】" in html and "アムロジピン錠５ｍｇ「他院」" in html and "神田内科医院" in html
    assert "神田薬局" in html and "電子処方箋管理サービス" in html
    checked, issued = _issue(client, patient, rps, mode="paper_exchange", consent="card")
    assert issued.status_code == 302
    kept = [c for c in _rx(session).acknowledged_checks if c["check"] == "service_duplicate"]
    assert kept and kept[0]["ack_reason"] and "神田内科医院" in kept[0]["message"]


def test_service_down_makes_the_check_unchecked_and_registration_waits(app, client, desk, session, eprescription):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    eprescription.set_fault("down", times=3)  # 事前準備 of the check page and of issuing, the registration
    checked, _ = _issue(client, desk["patient"], RPS, mode="paper_exchange")
    assert "重複投薬等チェックができません" in checked.get_data(as_text=True)
    assert _rx(session).eprescription_status == "sending"
    eprescription.set_fault("down", times=1)
    _deliver(app)
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "eprescription.register")).one()
    assert message.status == "pending" and "HTTP 503" in message.last_error
    _deliver(app)
    assert _rx(session).eprescription_status == "registered"


def test_lost_reply_retried_through_the_outbox_ends_with_one_prescription(app, client, desk, session,
                                                                         eprescription):
    desk["clinic"].integrations = {**desk["clinic"].integrations, "national_gateway": {
        **desk["clinic"].integrations["national_gateway"], "timeout_seconds": 0.3}}
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    checked = client.post(f"/patients/{desk['patient'].id}/prescriptions/new",
                          _form(RPS, action="check", mode="paper_exchange"),
                          form_page=f"/patients/{desk['patient'].id}/prescriptions/new")
    eprescription.set_fault("lost_reply", code="EPSsiPIR01")  # the service registers, the reply never comes
    data = _form(RPS, action="issue", mode="paper_exchange") | _reasons(checked.get_data(as_text=True))
    data["ack"] = _acks(checked.get_data(as_text=True))
    assert client.post(checked.request.path, data, form_page=checked.request.path).status_code == 302
    assert _rx(session).eprescription_status == "sending" and len(eprescription.prescriptions()) == 1
    _deliver(app)  # the same request id again: the service answers with the first registration
    rx = _rx(session)
    assert rx.eprescription_status == "registered" and list(eprescription.prescriptions()) == [rx.eprescription_id]


@pytest.mark.parametrize("spoil, code", [
    (lambda csv: csv.replace("\n", "\r\n"), "EPSB0052E 改行コードはLFで記録してください。"),
    (lambda csv: csv.replace("SJ1\n", "", 1), "SIMC0002E 処方箋CSVの1行目が SJ1 ではありません。"),
    (lambda csv: "".join(line + "\n" for line in csv.splitlines() if not line.startswith("5,")),
     "SIMC0003E 医師レコード（5）がありません。"),
])
def test_a_csv_the_service_refuses_is_shown_and_nothing_is_issued(client, desk, session, eprescription,
                                                                   monkeypatch, spoil, code):
    made = eprescription_domain.service_csv
    monkeypatch.setattr(eprescription_domain, "service_csv", lambda *args: spoil(made(*args)))
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _, issued = _issue(client, desk["patient"], RPS, mode="paper_exchange")
    html = issued.get_data(as_text=True)
    assert issued.status_code == 422 and "発行していません" in html and code in html
    assert session.scalar(select(Prescription.id)) is None and eprescription.prescriptions() == {}
    assert session.scalar(select(OutboxMessage.id)) is None


def test_a_signature_the_service_refuses_is_shown_and_nothing_is_issued(client, desk, session, eprescription,
                                                                        monkeypatch, tmp_path):
    stranger = TestSigner(tmp_path / "not-trusted")
    monkeypatch.setattr(eprescription_domain, "signer_for", lambda *args: stranger)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _, issued = _issue(client, desk["patient"], RPS, mode="electronic")
    html = issued.get_data(as_text=True)
    assert issued.status_code == 422 and "SIMV0003E 電子署名の検証に失敗しました" in html
    assert session.scalar(select(Prescription.id)) is None and eprescription.prescriptions() == {}


def test_a_refusal_after_a_lost_reply_is_kept_with_its_reason(app, client, desk, session, eprescription):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    eprescription.set_fault("down", times=3)
    _issue(client, desk["patient"], RPS, mode="paper_exchange")
    message = session.scalars(select(OutboxMessage)).one()
    message.payload = {**message.payload, "info": "***"}  # as if the queued document had been spoiled
    session.commit()
    _deliver(app)
    rx = _rx(session)
    assert rx.eprescription_status == "rejected" and "SIMX0003E" in rx.eprescription_error
    assert session.get(OutboxMessage, message.id).status == "dead"
    html = client.get(f"/patients/{desk['patient'].id}/prescriptions/{rx.id}").get_data(as_text=True)
    assert "SIMX0003E" in html and "受付拒否" in html


def test_cancel_state_and_dispensing_result(app, client, desk, session, eprescription):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    _issue(client, patient, RPS, mode="paper_exchange")
    rx = _rx(session)
    show = f"/patients/{patient.id}/prescriptions/{rx.id}"
    eprescription.pharmacy(rx.exchange_number, "dispensed", name="神田薬局")
    client.post(f"{show}/service-state", {}, form_page=show)
    html = client.get(show).get_data(as_text=True)
    assert "調剤済（神田薬局）" in html and "【般】ロキソプロフェンＮａ錠６０ｍｇ" in html
    listing = client.get(f"/patients/{patient.id}/prescriptions").get_data(as_text=True)
    assert f"引換番号 {rx.exchange_number}" in listing and "調剤済" in listing
    # Dispensed: the service refuses the cancellation; the reason is shown.
    client.post(f"{show}/cancel", {"reason": "処方内容の誤り", "then": ""}, form_page=show)
    _deliver(app)
    assert _rx(session).eprescription_status == "cancel_failed"
    # A fresh one is cancelled at the service.
    _issue(client, patient, RPS, mode="paper_exchange")
    second = _rx(session)
    show = f"/patients/{patient.id}/prescriptions/{second.id}"
    client.post(f"{show}/cancel", {"reason": "処方内容の誤り", "then": ""}, form_page=show)
    _deliver(app)
    assert _rx(session).eprescription_status == "cancelled"
    assert eprescription.prescriptions()[second.eprescription_id]["status"] == "cancelled"


def test_without_a_connection_registering_is_refused(client, session, desk):
    desk["clinic"].integrations = {}
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    page = f"/patients/{patient.id}/prescriptions/new"
    response = client.post(page, _form(RPS, action="issue", mode="electronic"), form_page=page)
    assert response.status_code == 422 and "接続が設定されていない" in response.get_data(as_text=True)


def test_the_patients_choice_at_the_card_reader_is_the_default(client, desk, session):
    record = {"Patient_ID": "00010", "WholeName": "港　花子", "WholeName_inKana": "ミナト　ハナコ",
              "BirthDate": "1980-04-01", "Sex": "2",
              "ResultOfQualificationConfirmation": {"PrescriptionIssueSelect": "2"}}
    assert read_patient(record).prescription_issue_select == "2"  # as ORCA passes the eligibility result
    assert read_patient({**record, "ResultOfQualificationConfirmation": {}}).prescription_issue_select == ""
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{desk['patient'].id}/prescriptions/new"
    for choice, mode in (("1", "electronic"), ("2", "paper_exchange"), ("", "paper")):
        desk["patient"].prescription_issue_choice = choice
        session.commit()
        assert f'name="mode" value="{mode}" checked' in client.get(page).get_data(as_text=True)
    desk["clinic"].integrations = {}
    desk["patient"].prescription_issue_choice = "1"
    session.commit()
    assert 'name="mode" value="paper"' in client.get(page).get_data(as_text=True)  # not connected: no choice


def test_remote_signing_once_a_day_then_electronic_prescriptions_are_signed(client, desk, session, eprescription,
                                                                             app):
    running, counts = start_remote_signer(TestSigner(app.instance_path))
    try:
        desk["clinic"].integrations = {**desk["clinic"].integrations, "eprescription": {
            **desk["clinic"].integrations["eprescription"], "signer": "remote", "remote_url": running.url}}
        session.commit()
        client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
        page = f"/patients/{desk['patient'].id}/prescriptions/new"
        assert "本日の認証をする" in client.get(page).get_data(as_text=True)
        _, refused = _issue(client, desk["patient"], RPS, mode="electronic")
        assert refused.status_code == 422 and "本日の認証がまだ" in refused.get_data(as_text=True)
        login = f"/prescriptions/remote-signing?next={page}"
        wrong = client.post(login, {"hpki_id": "D123", "one_time_code": "000000"}, form_page=login)
        assert "認証" in wrong.get_data(as_text=True) and wrong.status_code == 200
        done = client.post(login, {"hpki_id": "D123", "one_time_code": GOOD_CODE}, form_page=login)
        assert done.status_code == 302 and done.location.endswith(page)
        assert "本日は認証済みです" in client.get(page).get_data(as_text=True)
        for _ in range(2):  # signs all day without asking again
            _, issued = _issue(client, desk["patient"], RPS, mode="electronic")
            assert issued.status_code == 302
        assert counts["auth"] == 2 and len(eprescription.prescriptions()) == 2
        token = session.execute(text("SELECT token FROM remote_signing_session")).scalar_one()
        assert token.startswith("enc:v1:")  # sealed at rest
    finally:
        running.stop()
