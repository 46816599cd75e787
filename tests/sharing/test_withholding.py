"""共有しない over HTTP with the sharing simulator: a diagnosis marked when it is recorded is never registered; one
marked later is withdrawn at the service (取消) if it was registered, or not sent if it was still waiting; the mark
follows the item through a correction; the screens show 共有しない; doctors only, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.models import AuditEntry
from app.diagnoses.models import Diagnosis
from app.outbox import worker as outbox
from app.sharing.models import REGISTERED, WITHDRAWN, SharingRegistration, SharingWithholding
from tests.helpers import HTMLClient
from tests.sharing.records import MEMBER, arrange, connect


def _deliver(app) -> None:
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)


def _held(sharing) -> list[str]:
    patient = sharing.registered()["patients"].get(MEMBER) or {"resources": []}
    return [r.get("code", {}).get("text", "") for r in patient["resources"]]


def _add(client, patient, **extra):
    page = f"/patients/{patient.id}/diagnoses"
    client.get(page)
    return client.post(page, {"disease_code": "2500015", "started_on": "2026-04-01", "outcome": "continuing",
                              **extra})


@pytest.fixture
def desk(client, session, sharing):
    found = arrange(session, integrations=connect(sharing=sharing), records=False)
    client.login(found["doctor"].login_id, found["doctor"].totp_secret)
    return found


def test_marked_when_recorded_it_is_never_registered(app, client, session, sharing, desk):
    response = _add(client, desk["patient"], withhold="1", withhold_reason="未告知の病名")
    assert response.status_code == 302
    _deliver(app)
    assert _held(sharing) == [] and sharing.registered()["registrations"] == 0
    item = session.scalars(select(Diagnosis)).one()
    assert session.scalars(select(SharingWithholding)).one().lineage_id == item.lineage_id
    assert "共有しない" in client.get(f"/patients/{desk['patient'].id}/diagnoses").get_data(as_text=True)
    assert "共有しない" in client.get(f"/patients/{desk['patient'].id}/sharing").get_data(as_text=True)
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "sharing.withhold")).one()
    assert audit.summary["after"]["reason"] == "未告知の病名"


def test_a_mark_without_reason_saves_nothing(client, session, desk):
    response = _add(client, desk["patient"], withhold="1", withhold_reason="")
    assert response.status_code == 422 and "共有しない理由を入力してください" in response.get_data(as_text=True)
    assert session.scalars(select(Diagnosis)).all() == []


def test_marked_later_a_registered_diagnosis_is_withdrawn_at_the_service(app, client, session, sharing, desk):
    _add(client, desk["patient"])
    _deliver(app)
    assert _held(sharing) == ["２型糖尿病"]
    item = session.scalars(select(Diagnosis)).one()
    page = f"/patients/{desk['patient'].id}/sharing"
    client.get(page)
    response = client.post(f"{page}/own/patient_diagnosis/{item.id}/withhold", {"reason": "患者の希望"})
    assert response.status_code == 302
    _deliver(app)
    assert _held(sharing) == [] and sharing.registered()["withdrawals"]
    session.expire_all()
    assert {r.status for r in session.scalars(select(SharingRegistration))} == {WITHDRAWN}
    assert "共有しない" in client.get(page).get_data(as_text=True)
    # A correction later stays off the service too: the mark follows the item.
    client.get(f"/patients/{desk['patient'].id}/diagnoses/{item.id}/edit")
    corrected = client.post(f"/patients/{desk['patient'].id}/diagnoses/{item.id}/edit",
                            {"disease_code": "2500015", "started_on": "2026-03-01", "outcome": "continuing",
                             "change_reason": "開始日の訂正"})
    assert corrected.status_code == 302, corrected.get_data(as_text=True)[:300]
    _deliver(app)
    assert _held(sharing) == [] and sharing.registered()["registrations"] == 1


def test_marked_before_delivery_nothing_is_sent(app, client, session, sharing, desk):
    _add(client, desk["patient"])
    item = session.scalars(select(Diagnosis)).one()
    page = f"/patients/{desk['patient'].id}/sharing"
    client.get(page)
    client.post(f"{page}/own/patient_diagnosis/{item.id}/withhold", {"reason": "未告知の病名"})
    _deliver(app)
    assert sharing.registered()["registrations"] == 0 and _held(sharing) == []
    session.expire_all()
    assert session.scalars(select(SharingRegistration)).one().status == WITHDRAWN


def test_a_registered_item_stays_registered_until_marked(app, client, session, sharing, desk):
    _add(client, desk["patient"])
    _deliver(app)
    session.expire_all()
    assert session.scalars(select(SharingRegistration)).one().status == REGISTERED


@pytest.mark.parametrize("role", ["nurse", "clerk"])
def test_only_doctors_mark(app, session, desk, role):
    _add_as = HTMLClient(app.test_client())
    _add_as.login(desk[role].login_id, desk[role].totp_secret)
    item = Diagnosis(clinic_id=desk["clinic"].id, patient_id=desk["patient"].id, disease_code="2500015",
                     display_name="２型糖尿病", started_on=desk["patient"].birth_date, version=1)
    session.add(item)
    session.commit()
    url = f"/patients/{desk['patient'].id}/sharing/own/patient_diagnosis/{item.id}/withhold"
    assert _add_as.post(url, {"reason": "患者の希望"}, form_page="/reception").status_code == 403
    assert session.scalars(select(SharingWithholding)).all() == []
