"""The billing screens over HTTP: the doctor's picker (applies first, greyed with reasons, search), choosing and
removing, the visit summary with ORCA's trial calculation from the simulator (points and the patient's share,
differences shown), ORCA errors and silence as messages with what to do, roles and the other clinic."""

from __future__ import annotations

from sqlalchemy import select

from app.billing.models import VisitBill, VisitFee
from app.core.timeutil import japan_today
from app.outbox import services as outbox
from app.patients.models import Patient
from tests.billing.helpers import BASEDOW, add_diagnosis, earlier_visit, make_visit
from tests.factories import make_clinic, make_user

TOKUTEI, GAIRAI_KANRI = "113001810", "112011010"


def test_doctor_picks_fees_and_the_summary_shows_orcas_calculation(app, client, session, desk, orca):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    assert f'href="/billing/visits/{desk["visit"].id}">会計へ' in client.get("/reception").get_data(as_text=True)
    page = f"/billing/visits/{desk['visit'].id}/fees"
    html = client.get(page).get_data(as_text=True)
    assert "特定疾患: バセドウ病" in html and "医科診療行為マスターに未収載" in html
    assert html.index("特定疾患療養管理料") < html.index("生活習慣病管理料（Ⅰ）")  # what applies first
    found = client.get(page + "?q=ﾄｸﾃｲ&format=json").get_json()
    assert {o["code"] for o in found} >= {TOKUTEI, "113034010"} and GAIRAI_KANRI not in {o["code"] for o in found}
    assert client.post(page, {"code": TOKUTEI, "quantity": "1"}, form_page=page).status_code == 302
    refused = client.post(page, {"code": "999999999", "quantity": "1"}, form_page=page)
    assert "マスターにありません" in client.get(refused.location).get_data(as_text=True)
    client.post(page, {"code": GAIRAI_KANRI, "quantity": "1"}, form_page=page)
    summary = client.get(f"/billing/visits/{desk['visit'].id}").get_data(as_text=True)
    # 再診/初診 75 or 291 + 225 + 52: the simulator computes from the same master; 3割 of 10 円 a point.
    assert "113001810" in summary and "ORCAへ送信待ち" in summary and "orca-points" in summary
    assert "一致しています" in summary
    rate = desk["visit"].insurance_summary  # the share is by the visit's 保険組合せ's 負担割合 ("… 3割")
    assert "割" in rate and f"円（{rate}）" in summary
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    assert "ORCAへ送信済（会計待ち）" in client.get(f"/billing/visits/{desk['visit'].id}").get_data(as_text=True)
    fee = session.scalars(select(VisitFee).where(VisitFee.code == GAIRAI_KANRI)).one()
    client.post(f"{page}/{fee.id}/remove", {}, form_page=page)
    session.expire_all()
    assert session.get(VisitFee, fee.id).removed_at is not None


def test_orca_errors_and_silence_are_messages_with_what_to_do(client, desk, orca):
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    url = f"/billing/visits/{desk['visit'].id}"
    orca.set_fault("error_code", api="acsimulatev2", code="50", message="コード：113001810　テスト")
    html = client.get(url).get_data(as_text=True)
    assert "コード 50" in html and "表示されたコードの料金を外すか直して" in html
    orca.set_fault("down", api="acsimulatev2")
    html = client.get(url).get_data(as_text=True)
    assert "orca-error" in html and "しばらくしてから再表示" in html
    orca.clear_faults()


def test_roles_and_the_other_clinic(client, session, desk):
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    page = f"/billing/visits/{desk['visit'].id}/fees"
    assert client.get(page).status_code == 403
    assert client.post(page, {"code": TOKUTEI}, form_page=f"/billing/visits/{desk['visit'].id}").status_code == 403
    other = make_clinic(session)
    stranger = make_user(session, other, role="doctor")
    session.commit()
    client.logout()
    client.login(stranger.login_id, stranger.totp_secret)
    assert client.get(page).status_code == 404
    assert client.get(f"/billing/visits/{desk['visit'].id}").status_code == 404


def test_the_doctor_marks_a_visit_online_and_a_post_without_its_token_is_refused(client, session, desk):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/billing/visits/{desk['visit'].id}/fees"
    assert client.post(f"/billing/visits/{desk['visit'].id}/online", {"online": "y"}, form_page=page).status_code == 302
    session.expire_all()
    assert session.scalars(select(VisitBill).where(VisitBill.visit_id == desk["visit"].id)).one().online is True
    refused = client.post(f"/billing/visits/{desk['visit'].id}/online", {"online": "", "csrf_token": "forged"})
    assert refused.status_code == 400
    session.expire_all()
    assert session.scalars(select(VisitBill).where(VisitBill.visit_id == desk["visit"].id)).one().online is True


def test_a_visit_billed_to_a_public_expense_shows_its_part_of_the_share(client, session, desk):
    """日野 ちよ (後期高齢 1割 and 更生医療) billed to her 保険組合せ with the 公費: the summary names ORCA's
    公費一部負担金 beside the patient's share."""
    patient = session.scalars(select(Patient).where(Patient.orca_patient_id == "00006")).one()
    add_diagnosis(session, patient, *BASEDOW)
    earlier_visit(session, desk["clinic"], patient, japan_today())
    # ORCA makes the insurance alone 0001 and the insurance with the 公費 0002.
    visit = make_visit(session, desk["clinic"], patient, insurance_combination="0002",
                       insurance_summary="後期高齢 1割＋更生")
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/billing/visits/{visit.id}/fees"
    assert client.post(page, {"code": "113001810", "quantity": "1"}, form_page=page).status_code == 302
    summary = client.get(f"/billing/visits/{visit.id}").get_data(as_text=True)
    assert "<dt>公費一部負担金</dt>" in summary, summary[summary.find("orca-money") - 200:][:800]
    plain = client.get(f"/billing/visits/{desk['visit'].id}").get_data(as_text=True)
    assert "公費一部負担金" not in plain
