"""A visit's fees reach the ORCA simulator (medicalmodv2 over real HTTP) through the outbox: the first send is
class 01, a change replaces the same data (class 03, never a second copy), removing every fee deletes it, a lost
reply is not sent twice, and a visit ORCA has closed (会計済) is refused with its reason."""

from __future__ import annotations

from sqlalchemy import select

from app.billing import fees
from app.billing.models import VisitBill
from app.outbox import services as outbox
from app.reception.models import PAID, Visit
from tests.billing.helpers import CODE

TOKUTEI, GAIRAI_KANRI = "113001810", "112011010"


def _deliver(app):
    return outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)


def _choose(session, desk, code):
    fee = fees.choose_fee(session, desk["clinic"], desk["actor"], session.get(Visit, desk["visit"].id), code)
    session.commit()
    return fee


def _bill(session, desk) -> VisitBill:
    session.expire_all()
    return session.scalars(select(VisitBill).where(VisitBill.visit_id == desk["visit"].id)).one()


def _codes(orca):
    return [[m["Medication_Code"] for e in kept["Medical_Information"] for m in e["Medication_info"]]
            for kept in orca.medical(CODE)]


def test_first_send_then_a_change_replaces_and_removing_all_deletes(app, session, desk, orca):
    _choose(session, desk, TOKUTEI)
    _choose(session, desk, GAIRAI_KANRI)  # before delivery: one message sends both
    _deliver(app)
    bill = _bill(session, desk)
    assert bill.orca_billing_status == "sent" and bill.sent_revision == bill.revision == 2
    assert _codes(orca) == [[TOKUTEI, GAIRAI_KANRI]]
    [kept] = orca.medical(CODE)
    assert [e["Medical_Class"] for e in kept["Medical_Information"]] == ["130", "120"]
    first_uid = bill.orca_medical_uid
    fee = next(f for f in fees.chosen_fees(session, desk["visit"]) if f.code == GAIRAI_KANRI)
    fees.remove_fee(session, desk["clinic"], desk["actor"], session.get(Visit, desk["visit"].id), fee.id)
    session.commit()
    _deliver(app)
    bill = _bill(session, desk)
    assert _codes(orca) == [[TOKUTEI]]  # replaced, not a second copy
    assert bill.orca_medical_uid != first_uid and bill.sent_revision == 3
    [fee] = fees.chosen_fees(session, desk["visit"])
    fees.remove_fee(session, desk["clinic"], desk["actor"], session.get(Visit, desk["visit"].id), fee.id)
    session.commit()
    _deliver(app)
    assert orca.medical(CODE) == [] and _bill(session, desk).orca_billing_status == "deleted"
    _choose(session, desk, TOKUTEI)
    _deliver(app)
    assert _codes(orca) == [[TOKUTEI]] and _bill(session, desk).orca_billing_status == "sent"


def test_a_lost_reply_is_not_sent_twice(app, session, desk, orca):
    _choose(session, desk, TOKUTEI)
    orca.set_fault("lost_reply", api="medicalmodv2", times=1)
    _deliver(app)
    orca.clear_faults()
    _deliver(app)
    assert _codes(orca) == [[TOKUTEI]] and _bill(session, desk).orca_billing_status == "sent"


def test_a_clerk_opened_data_is_refused_with_orcas_reason(app, session, desk, orca):
    _choose(session, desk, TOKUTEI)
    _deliver(app)
    orca.open_medical(CODE, _bill(session, desk).orca_medical_uid)
    _choose(session, desk, GAIRAI_KANRI)
    _deliver(app)
    bill = _bill(session, desk)
    assert bill.orca_billing_status == "rejected" and "21 診療行為" in bill.orca_billing_error
    assert _codes(orca) == [[TOKUTEI]]


def test_a_paid_visit_is_refused(app, session, desk, orca):
    _choose(session, desk, TOKUTEI)
    session.get(Visit, desk["visit"].id).status = PAID
    session.commit()
    _deliver(app)
    bill = _bill(session, desk)
    assert bill.orca_billing_status == "rejected" and "会計済" in bill.orca_billing_error
    assert orca.medical(CODE) == []


def test_a_refused_send_is_corrected_and_resent_from_the_summary(app, client, session, desk, orca):
    _choose(session, desk, TOKUTEI)
    orca.set_fault("error_code", api="medicalmodv2", code="13", message="診療科が存在しません")
    _deliver(app)
    orca.clear_faults()
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    page = f"/billing/visits/{desk['visit'].id}"
    html = client.get(page).get_data(as_text=True)
    assert "ORCAが受け付けませんでした" in html and "診療科が存在しません" in html
    assert client.post(f"{page}/resend", {}, form_page=page).status_code == 302
    _deliver(app)
    assert _bill(session, desk).orca_billing_status == "sent" and _codes(orca) == [[TOKUTEI]]
    assert "再送が必要な送信はありません" in client.get(
        client.post(f"{page}/resend", {}, form_page=page).location).get_data(as_text=True)
