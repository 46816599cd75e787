"""共有しない beyond diagnoses, over HTTP with the sharing simulator: on the profile's add form (allergies, 薬剤禁忌,
infections); on a lab result, a whole lab order (results still to come included) and a prescription — never
registered, or withdrawn at the service when already registered; and back to 共有する, which registers the item
through the outbox like any other. Doctors only, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.models import AuditEntry
from app.core.timeutil import japan_today
from app.labs.importer import import_message
from app.labs.masters import load_shipped_subset
from app.labs.models import LabOrder, LabResult
from app.outbox import worker as outbox
from app.patients.profile_models import Allergy
from app.sharing.models import REGISTERED, WITHDRAWN, SharingRegistration, SharingWithholding
from app.sharing.registration import record_confirmed
from tests.helpers import HTMLClient
from tests.labs.helpers import lab_settings
from tests.sharing.records import MEMBER, arrange, connect
from tests.sharing.test_lab_registration import _message, _order


def _deliver(app) -> None:
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)


def _held(sharing, kind: str | None = None) -> list[dict]:
    patient = sharing.registered()["patients"].get(MEMBER) or {"resources": []}
    return [r for r in patient["resources"] if kind is None or r["resourceType"] == kind]


@pytest.fixture
def desk(client, session, sharing):
    found = arrange(session, integrations=connect(sharing=sharing) | lab_settings(), records=False)
    load_shipped_subset(session)
    session.commit()
    client.login(found["doctor"].login_id, found["doctor"].totp_secret)
    return found


def _allergy(client, patient, **extra):
    page = f"/patients/{patient.id}/profile/allergies/new"
    return client.post(f"/patients/{patient.id}/profile/allergies",
                       {"category": "food", "substance": "そば", "reaction": "蕁麻疹", "severity": "mild", **extra},
                       form_page=page)


def test_marked_on_the_profile_add_form_it_is_never_registered(app, client, session, sharing, desk):
    patient = desk["patient"]
    form = client.get(f"/patients/{patient.id}/profile/infections/new").get_data(as_text=True)
    assert 'id="withhold-on-add"' in form  # infections and 薬剤禁忌 too, not only allergies
    assert 'id="withhold-on-add"' in client.get(f"/patients/{patient.id}/profile/contraindications/new").get_data(
        as_text=True)
    assert 'id="withhold-on-add"' not in client.get(f"/patients/{patient.id}/profile/past-history/new").get_data(
        as_text=True)
    response = _allergy(client, patient, withhold="1", withhold_reason="患者の希望")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    _deliver(app)
    assert _held(sharing) == [] and session.scalars(select(SharingRegistration)).all() == []
    item = session.scalars(select(Allergy)).one()
    assert session.scalars(select(SharingWithholding)).one().lineage_id == item.lineage_id
    assert "共有しない" in client.get(f"/patients/{patient.id}/profile").get_data(as_text=True)
    # Without a reason nothing is saved, with the message beside the field.
    refused = _allergy(client, patient, substance="えび", withhold="1", withhold_reason="")
    assert refused.status_code == 422 and "共有しない理由を入力してください" in refused.get_data(as_text=True)
    assert len(session.scalars(select(Allergy)).all()) == 1


def test_set_back_to_shared_it_is_registered_through_the_outbox(app, client, session, sharing, desk):
    patient = desk["patient"]
    _allergy(client, patient, withhold="1", withhold_reason="患者の希望")
    item = session.scalars(select(Allergy)).one()
    page = f"/patients/{patient.id}/sharing"
    html = client.get(page).get_data(as_text=True)
    assert "共有するに戻す" in html
    response = client.post(f"{page}/own/patient_allergy/{item.id}/share", {})
    assert response.status_code == 302
    assert session.scalars(select(SharingWithholding)).all() == []
    _deliver(app)
    assert [r["code"]["text"] for r in _held(sharing)] == ["そば"]
    session.expire_all()
    assert session.scalars(select(SharingRegistration)).one().status == REGISTERED
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "sharing.share_again")).one()
    assert audit.summary["before"]["reason"] == "患者の希望" and audit.patient_id == patient.id
    # Twice is refused with a message, not an error page.
    again = client.post(f"{page}/own/patient_allergy/{item.id}/share", {})
    assert again.status_code == 302 and "「共有しない」になっていません" in client.get(page).get_data(as_text=True)


@pytest.mark.parametrize("role", ["nurse", "clerk"])
def test_only_doctors_set_it_back_or_mark_on_the_add_form(app, client, session, desk, role):
    patient = desk["patient"]
    _allergy(client, patient, withhold="1", withhold_reason="患者の希望")
    item = session.scalars(select(Allergy)).one()
    other = HTMLClient(app.test_client())
    other.login(desk[role].login_id, desk[role].totp_secret)
    url = f"/patients/{patient.id}/sharing/own/patient_allergy/{item.id}/share"
    assert other.post(url, {}, form_page="/reception").status_code == 403
    assert len(session.scalars(select(SharingWithholding)).all()) == 1
    if role == "nurse":  # a nurse records allergies, but 共有しない is the doctor's decision
        form = other.get(f"/patients/{patient.id}/profile/allergies/new").get_data(as_text=True)
        assert 'id="withhold-on-add"' not in form
        assert _allergy(other, patient, substance="えび", withhold="1", withhold_reason="x").status_code == 403


def _import(session, desk, number: str, value: str) -> None:
    report = import_message(session, desk["clinic"].id, _message(desk["patient"], number,
                                                                 japan_today() - timedelta(days=3), value),
                            source="file")
    assert report.ok, report.error


def test_a_registered_lab_result_is_withdrawn_and_comes_back_when_shared_again(app, client, session, sharing, desk):
    _order(session, desk, "0000001018", 3)
    _import(session, desk, "0000001018", "128")
    _deliver(app)
    assert len(_held(sharing, "Observation")) == 1
    result = session.scalars(select(LabResult)).one()
    page = f"/patients/{desk['patient'].id}/sharing"
    client.get(page)
    assert client.post(f"{page}/own/lab_result/{result.id}/withhold", {"reason": "患者の希望"}).status_code == 302
    _deliver(app)
    assert _held(sharing, "Observation") == [] and sharing.registered()["withdrawals"] == 1
    assert "共有しない" in client.get(page).get_data(as_text=True)
    client.post(f"{page}/own/lab_result/{result.id}/share", {})
    _deliver(app)
    assert [o["valueQuantity"]["value"] for o in _held(sharing, "Observation")] == [128]


def test_a_whole_lab_order_is_withheld_with_the_results_still_to_come(app, client, session, sharing, desk):
    _order(session, desk, "0000001018", 3)
    order = session.scalars(select(LabOrder)).one()
    page = f"/patients/{desk['patient'].id}/labs/orders/{order.id}"
    html = client.get(page).get_data(as_text=True)
    assert 'id="sharing-mark"' in html and "この検査の結果は電子カルテ情報共有サービスに登録します" in html
    response = client.post(f"/patients/{desk['patient'].id}/sharing/own/lab_order/{order.id}/withhold",
                           {"reason": "患者の希望", "next": page})
    assert response.status_code == 302 and response.location.endswith(page)
    _import(session, desk, "0000001018", "128")  # the result arrives after the order was marked
    _deliver(app)
    assert _held(sharing) == [] and session.scalars(select(SharingRegistration)).all() == []
    shown = client.get(page).get_data(as_text=True)
    assert "共有しない" in shown and "患者の希望" in shown and "共有するに戻す" in shown
    assert "（検査オーダーごと）" in client.get(f"/patients/{desk['patient'].id}/sharing").get_data(as_text=True)
    listed = client.get(f"/patients/{desk['patient'].id}/labs").get_data(as_text=True)
    assert '<span class="badge badge-withheld">共有しない</span>' in listed
    # Back to 共有する: the result that came meanwhile is registered.
    client.post(f"/patients/{desk['patient'].id}/sharing/own/lab_order/{order.id}/share", {"next": page})
    _deliver(app)
    assert [o["valueQuantity"]["value"] for o in _held(sharing, "Observation")] == [128]


def test_a_prescription_is_withdrawn_and_shown_as_withheld(app, client, session, sharing):
    desk = arrange(session, integrations=connect(sharing=sharing))
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    rx = desk["prescription"]
    record_confirmed(session, rx)
    session.commit()
    _deliver(app)
    assert len(_held(sharing, "MedicationRequest")) == 2
    page = f"/patients/{desk['patient'].id}/prescriptions/{rx.id}"
    client.get(page)
    response = client.post(f"/patients/{desk['patient'].id}/sharing/own/prescription/{rx.id}/withhold",
                           {"reason": "患者の希望", "next": page})
    assert response.status_code == 302
    _deliver(app)
    assert _held(sharing, "MedicationRequest") == []
    session.expire_all()
    assert {r.status for r in session.scalars(select(SharingRegistration))} == {WITHDRAWN}
    html = client.get(page).get_data(as_text=True)
    assert 'id="sharing-mark"' in html and "共有しない" in html
    listed = client.get(f"/patients/{desk['patient'].id}/prescriptions").get_data(as_text=True)
    assert '<span class="badge badge-withheld">共有しない</span>' in listed
    # Another clinic's prescription id is not found.
    assert client.post(f"/patients/{desk['patient'].id}/sharing/own/prescription/{rx.id + 999}/withhold",
                       {"reason": "x"}).status_code == 404
