"""ORCA's PUSH notifications (pusheventgetv2) in the sync pass, through the simulator over real HTTP: what ORCA
announces is synced in one pass, each notification once (by uuid: ids wrap), and an ORCA that cannot give them
leaves the periodic pull in charge without a banner and without stopping the poller."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import select

from app.core.models import AuditEntry
from app.core.timeutil import JST, japan_today
from app.integrations.orca import OrcaClient
from app.patients.models import Patient
from app.reception import orca_sync
from app.reception.models import SyncState, Visit
from app.reception.orca_push import FINGERPRINT_LENGTH, MAX_SEEN, PushCursor, fingerprint
from app.reception.orca_sync import FULL_PULL_EVERY, orca_client_for
from app.reception.poller import OrcaPoller
from tests.factories import make_clinic
from tests.reception.conftest import CODE

FULL_PULL = {"system01lstv2", "patientlst1v2", "acceptlstv2"}


@pytest.fixture
def spy(monkeypatch):
    """The ORCA APIs each pass calls, in order (the calls still go over HTTP), and what pusheventgetv2 answered."""
    calls: list[str] = []
    replies: list[list] = []
    send, fetch = OrcaClient._send, OrcaClient.fetch_push_events

    def spy_send(self, method, path, *args, **kwargs):
        calls.append(path.rsplit("/", 1)[-1])
        return send(self, method, path, *args, **kwargs)

    def spy_fetch(self, *args, **kwargs):
        events = fetch(self, *args, **kwargs)
        replies.append(events)
        return events

    monkeypatch.setattr(OrcaClient, "_send", spy_send)
    monkeypatch.setattr(OrcaClient, "fetch_push_events", spy_fetch)
    return SimpleNamespace(calls=calls, replies=replies)


def _pass(app, spy=None):
    """One poll pass, as the poller runs it (the spy records only this pass's calls)."""
    if spy is not None:
        spy.calls.clear()
    assert OrcaPoller(app.extensions["db_sessionmaker"], interval=0).run_once()


def _patient(session, orca_id: str) -> Patient:
    session.expire_all()
    return session.scalars(select(Patient).where(Patient.orca_patient_id == orca_id)).one()


def _visits_today(session) -> list[Visit]:
    session.expire_all()
    return list(session.scalars(select(Visit).where(Visit.visit_date == japan_today())))


def _state(session, kind: str) -> SyncState:
    session.expire_all()
    return session.scalars(select(SyncState).where(SyncState.kind == kind)).one()


def _clerk_changes_patient(orca, orca_id: str, changes: dict) -> None:
    """What a clerk does on ORCA's screen 12; ORCA sends patient_information."""
    requests.post(f"{orca.root}/_sim/clinic/{CODE}/patients/{orca_id}", json=changes, timeout=5).raise_for_status()


def _not_in_todays_list(session, count: int) -> list[str]:
    listed = {v.patient.orca_patient_id for v in _visits_today(session)}
    ids = session.scalars(select(Patient.orca_patient_id).order_by(Patient.orca_patient_id))
    return [i for i in ids if i not in listed][:count]


def test_a_patient_changed_in_orca_is_fetched_in_one_pass_from_its_notification(app, orca, orca_clinic, session,
                                                                                  spy):
    _pass(app)  # the first pass pulls everything
    hino = _patient(session, "00006")
    assert hino.name == "日野　ちよ" and hino.id not in {v.patient_id for v in _visits_today(session)}
    _clerk_changes_patient(orca, "00006", {"WholeName": "日野　千代"})
    _pass(app, spy)
    assert _patient(session, "00006").name == "日野　千代"
    # Only the notification explains it: the patient master was not pulled (its safety-net turn is minutes
    # away), nor the reception list (the patient is not in it) — the pass asked for PUSH, then for this patient.
    assert spy.calls == ["pusheventgetv2", "patientgetv2"]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.update_from_orca",
                                                     AuditEntry.patient_id == hino.id)
                            .order_by(AuditEntry.id.desc())).first()
    assert entry.summary["after"]["name"] == "日野　千代" and entry.actor_login == "orca-sync"


def test_receptions_and_payments_in_orca_appear_after_one_pass_with_one_pull_of_the_day(app, orca, orca_clinic,
                                                                                       session, spy):
    clinic, _clerk = orca_clinic
    _pass(app)
    before = len(_visits_today(session))
    first_id, second_id = _not_in_todays_list(session, 2)
    client = orca_client_for(clinic)
    now = datetime.now(JST)
    first = client.register_reception(first_id, "01", "10001", now)
    second = client.register_reception(second_id, "01", "10002", now)
    _pass(app, spy)
    visits = {v.orca_acceptance_id: v for v in _visits_today(session)}
    assert len(visits) == before + 2
    assert visits[first.reception_id].patient.orca_patient_id == first_id
    assert visits[second.reception_id].patient.orca_patient_id == second_id
    # Two notifications, one pull of the day's list; no full pull.
    assert spy.calls.count("acceptlstv2") == 1 and not {"patientlst1v2", "system01lstv2"} & set(spy.calls)
    orca.account(CODE, japan_today(), first.reception_id)  # 会計 in ORCA: patient_account
    _pass(app, spy)
    assert spy.calls.count("acceptlstv2") == 1
    session.expire_all()
    assert {v.orca_acceptance_id: v.status for v in _visits_today(session)}[first.reception_id] == "paid"


def test_each_notification_is_handled_once_though_asked_again_and_though_ids_wrap(app, orca, orca_clinic,
                                                                                   session, spy):
    _pass(app)
    _clerk_changes_patient(orca, "00006", {"WholeName": "日野　千代"})
    _pass(app, spy)
    assert spy.calls == ["pusheventgetv2", "patientgetv2"]
    [change] = [e for e in spy.replies[-1] if e.event == "patient_information"]
    # The next ask starts in the same minute (the API's resolution): the same notification comes back, skipped.
    _pass(app, spy)
    assert change.uuid in {e.uuid for e in spy.replies[-1]}
    assert spy.calls == ["pusheventgetv2"]
    # ORCA's ids wrap after 65535, so a new notification may carry an id already seen: only the uuid tells.
    requests.post(f"{orca.root}/_sim/clinic/{CODE}/push/last_id", json={"id": change.event_id - 1},
                  timeout=5).raise_for_status()
    _clerk_changes_patient(orca, "00008", {"WholeName": "試験　花子"})
    _pass(app, spy)
    same_id = [e for e in spy.replies[-1] if e.event_id == change.event_id]
    assert len({e.uuid for e in same_id}) == 2
    assert spy.calls == ["pusheventgetv2", "patientgetv2"]  # the new one only
    assert _patient(session, "00008").name == "試験　花子"


def test_nothing_announced_costs_one_call_and_the_full_pull_still_runs_as_a_safety_net(app, orca, orca_clinic,
                                                                                       session, spy):
    _pass(app)
    synced = _state(session, "orca.reception").last_success_at
    _pass(app, spy)
    assert spy.calls == ["pusheventgetv2"]
    assert _state(session, "orca.reception").last_success_at > synced  # the list says when it last synced
    patients = _state(session, "orca.patients")
    patients.last_success_at -= FULL_PULL_EVERY
    session.commit()
    _pass(app, spy)
    assert FULL_PULL <= set(spy.calls)


def test_a_burst_of_notifications_is_handled_and_its_cursor_fits_the_column(app, orca, orca_clinic, session, spy):
    _pass(app)
    ids = _not_in_todays_list(session, MAX_SEEN + 3)
    for orca_id in ids:
        _clerk_changes_patient(orca, orca_id, {"WholeName": "試験　一郎"})
    _pass(app, spy)
    assert spy.calls.count("patientgetv2") == len(ids)
    assert {_patient(session, i).name for i in ids} == {"試験　一郎"}
    push = _state(session, "orca.push")
    assert push.last_error is None and len(push.cursor) <= 100  # PostgreSQL: varchar(100)
    assert len(PushCursor.parse(push.cursor).seen) == MAX_SEEN


@pytest.mark.parametrize("failure,backs_off", [
    ({"mode": "error_code", "code": "0099", "message": "ユーザＩＤが未登録です。"}, True),
    ({"mode": "malformed", "kind": "syntax"}, True),
    ({"mode": "down"}, False),  # ORCA unwell: asked again on the next pass
])
def test_push_api_failing_leaves_the_periodic_pull_in_charge(app, orca, orca_clinic, session, spy, failure,
                                                              backs_off):
    orca.set_fault(api="pusheventgetv2", **failure)
    _pass(app, spy)
    assert len(_visits_today(session)) == 25  # today's list arrived anyway
    assert _state(session, "orca.reception").last_error is None  # no banner: the pull worked
    assert "PUSH通知一括取得が使えません" in _state(session, "orca.push").last_error
    _pass(app, spy)
    assert ("pusheventgetv2" not in spy.calls) is backs_off
    assert "acceptlstv2" in spy.calls  # without PUSH, every pass pulls


def test_an_orca_without_the_push_api_is_not_asked_again_for_a_while(app, session, spy):
    """A classic on-premises ORCA has no pusheventgetv2 ("現在はクラウド版のみ提供"): HTTP 404."""
    from simulators.orca.data import DEFAULT_CLINICS
    from simulators.orca.testing import start_orca_simulator

    on_premises = start_orca_simulator(clinics=[replace(DEFAULT_CLINICS[0], api_prefix="")])
    try:
        make_clinic(session, institution_code=CODE, integrations={"orca": {
            "base_url": on_premises.base_url(CODE), "user": "ormaster-a", "password": "orca-demo-a"}})
        session.commit()
        _pass(app, spy)
        assert spy.calls[0] == "pusheventgetv2" and len(_visits_today(session)) == 25
        assert "HTTP 404" in _state(session, "orca.push").last_error
        assert _state(session, "orca.reception").last_error is None
        _pass(app, spy)
        assert "pusheventgetv2" not in spy.calls and "acceptlstv2" in spy.calls
        # After the back-off it is asked again (an ORCA may be upgraded).
        push = _state(session, "orca.push")
        push.cursor = PushCursor(off_until=datetime.now(JST) - timedelta(seconds=1)).dump()
        session.commit()
        _pass(app, spy)
        assert spy.calls[0] == "pusheventgetv2"
    finally:
        on_premises.stop()


def test_a_bug_in_the_push_step_neither_stops_the_pull_nor_the_poller(app, orca, orca_clinic, session, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in the PUSH step")

    monkeypatch.setattr(orca_sync, "read_push_events", broken)
    poller = OrcaPoller(app.extensions["db_sessionmaker"], interval=0.01)
    poller.start_thread()
    try:
        deadline = time.monotonic() + 30
        while poller.passes < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        poller.stop(wait=10)
    assert poller.passes >= 3  # the loop went on, pass after pass
    assert len(_visits_today(session)) == 25
    assert _state(session, "orca.reception").last_error is None


def test_the_cursor_reads_back_and_unreadable_ones_start_afresh():
    start = datetime(2026, 11, 25, 15, 4, tzinfo=JST)
    full = PushCursor(start=start, seen=tuple(fingerprint(f"uuid-{i}") for i in range(MAX_SEEN)))
    assert len(full.dump()) <= 100 and PushCursor.parse(full.dump()) == full
    off = PushCursor(off_until=datetime(2026, 11, 25, 6, 40, tzinfo=JST))
    assert PushCursor.parse(off.dump()) == off
    assert PushCursor.parse("2026-13-45 99:99|abc") == PushCursor() == PushCursor.parse(None)
    assert len(fingerprint("2df2ef80-8978-4817-b929-c07e4ba39e6f")) == FINGERPRINT_LENGTH


def test_the_simulator_takes_the_published_time_format_only(orca):
    """start_time / end_time are "YYYY-MM-DD HH:MM" or a date (§6a); seconds are not in the published format."""
    url = f"{orca.base_url(CODE)}/api01rv2/pusheventgetv2"
    auth = ("ormaster-a", "orca-demo-a")

    def ask(**req):
        return requests.post(url, json={"pusheventgetv2req": req}, auth=auth, timeout=5).json()

    today = japan_today().isoformat()
    assert isinstance(ask(start_time=today), list)
    assert isinstance(ask(start_time=f"{today} 00:00"), list)
    assert ask(start_time=f"{today} 00:00:00")["error"]["code"] == "0004"
    assert ask(end_time=f"{today} 9:00")["error"]["code"] == "0006"

