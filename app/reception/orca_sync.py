"""Keeping patients and the day's visits in step with ORCA (pulled over the ORCA API, never CLAIM)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, is_dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor, record_audit
from app.core.timeutil import JST, japan_today
from app.db import exclusive, scoped, utcnow
from app.integrations.errors import connection_answer
from app.integrations.orca import (
    OrcaApiError,
    OrcaAuthError,
    OrcaClient,
    OrcaError,
    OrcaProtocolError,
    OrcaUnavailable,
    client_from_settings,
)
from app.outbox.models import OutboxMessage
from app.outbox.services import DeliveryError, PermanentDeliveryError, register_handler
from app.patients import services as patients
from app.patients.models import Patient
from app.reception import services as reception
from app.reception.models import CANCELLED, PAID, Visit
from app.reception.orca_landing import landed_reception, waiting_visit
from app.reception.orca_push import PushNews, read_push_events

log = logging.getLogger(__name__)
#: The lock (app.db.exclusive) a clinic's ORCA pass holds: the lab import's is 7142.
SYNC_LOCK = 7143

ORCA_SYNC = Actor(user_id=None, login_id="orca-sync", clinic_id=None, role=None)
#: Demographics older than this are fetched again when the patient shows up in the reception list.
PATIENT_REFRESH = timedelta(hours=1)
#: Told of each patient read in full (patientgetv2) as listener(session, clinic, patient, ORCA's patient), in the
#: sync's transaction: the history consent of online eligibility is recorded so (app.onshi.consent).
PatientListener = Callable[[Session, Clinic, Patient, Any], None]
_PATIENT_LISTENERS: list[PatientListener] = []


def on_patient_read(listener: PatientListener) -> None:
    """Have `listener` told of every patient read in full from ORCA (once, however often registered)."""
    if listener not in _PATIENT_LISTENERS:
        _PATIENT_LISTENERS.append(listener)


def orca_client_for(clinic: Clinic, timeout: float = 5.0) -> OrcaClient | None:
    """The ORCA client of a clinic from its settings, or None when ORCA is not configured."""
    return client_from_settings(clinic.integration("orca"), timeout=timeout)


def test_orca_connection(clinic: Clinic) -> tuple[bool, str]:
    """Try the clinic's ORCA once (department list) and say in Japanese what happened."""
    departments, error = connection_answer(orca_client_for(clinic, timeout=5.0), lambda c: c.list_departments(),
                                           "ORCAのURLが設定されていません")
    if error:
        return False, error
    names = "、".join(d["name"] for d in departments) or "なし"
    return True, f"ORCAに接続できました（診療科: {names}）"


def _jsonable(value: Any) -> Any:
    if is_dataclass(value):
        value = asdict(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def patient_data_from_orca(orca_patient: Any) -> dict[str, Any]:
    """Our patient fields from ORCA's patient (the client has validated it)."""
    return {
        "orca_patient_id": orca_patient.patient_id,
        "name": orca_patient.name,
        "kana": orca_patient.kana,
        "sex": orca_patient.sex,
        "birth_date": orca_patient.birth_date,
        "postal_code": orca_patient.postal_code,
        "address": orca_patient.address,
        "phone": orca_patient.phone,
        "occupation": orca_patient.occupation,
        "prescription_issue_choice": orca_patient.prescription_issue_select,
        "insurances": [_insurance_dict(i) for i in orca_patient.insurances],
        "public_expenses": [_jsonable(p) for p in orca_patient.public_expenses],
    }


def _insurance_dict(insurance: Any) -> dict[str, Any]:
    data = _jsonable(insurance)
    data.setdefault("burden_percent", getattr(insurance, "burden_ratio", None))
    return data


def sync_patient(session: Session, clinic: Clinic, client: OrcaClient, orca_patient_id: str) -> Patient:
    """Fetch one patient from ORCA and store it (ORCA is the source of demographics and insurance)."""
    orca_patient = client.get_patient(orca_patient_id)
    patient = patients.upsert_patient(session, clinic.id, ORCA_SYNC, patient_data_from_orca(orca_patient))
    for listener in _PATIENT_LISTENERS:
        listener(session, clinic, patient, orca_patient)
    return patient


def sync_patient_master(session: Session, clinic: Clinic, client: OrcaClient) -> int:
    """Pull patients created or changed in ORCA since the last pull (all of them the first time)."""
    state = reception.sync_state(session, clinic.id, "orca.patients")
    since = date.fromisoformat(state.cursor) if state.cursor else date(1900, 1, 1)
    today = japan_today()
    changed_ids = _changed_patient_ids(client, since, today)
    count = 0
    for start in range(0, len(changed_ids), 100):  # patientlst2v2 takes 100 numbers at a time
        for orca_patient in client.get_patients(changed_ids[start:start + 100]):
            # The list API carries no 負担割合, no 職業 and no eligibility result: the patient is marked for a
            # detail refresh when opened, and what we know is kept until then.
            data = patient_data_from_orca(orca_patient)
            del data["occupation"], data["prescription_issue_choice"]
            patients.upsert_patient(session, clinic.id, ORCA_SYNC, data, complete=False)
            count += 1
    # Keep the day itself as the next start: ORCA's list is by date, so today's later changes come again.
    state.cursor = today.isoformat()
    state.last_success_at = utcnow()
    return count


def _changed_patient_ids(client: OrcaClient, start: date, end: date) -> list[str]:
    """Numbers changed in a period; ORCA refuses 1,000 or more at once (code 10), so the period is halved."""
    try:
        return client.list_patients_changed(start, end)
    except OrcaApiError as exc:
        if exc.code != "10" or start >= end:
            raise
    middle = start + (end - start) / 2
    return _changed_patient_ids(client, start, middle) + _changed_patient_ids(client, middle + timedelta(days=1),
                                                                               end)


def refresh_patient_if_stale(session: Session, clinic: Clinic, patient: Patient, timeout: float = 3.0) -> str | None:
    """On opening a patient: fetch ORCA's details when ours are old, waiting at most `timeout` seconds a request; a
    failure (a slow ORCA included) is a warning, not an error."""
    if patient.orca_synced_at is not None and patient.orca_synced_at > utcnow() - PATIENT_REFRESH:
        return None
    client = orca_client_for(clinic, timeout=timeout)
    if client is None:
        return None
    try:
        sync_patient(session, clinic, client, patient.orca_patient_id)
    except OrcaError as exc:
        session.rollback()
        return f"ORCAから最新の患者情報を取得できませんでした（{exc.message_ja}）。前回同期した情報を表示しています"
    session.commit()
    return None


def reception_insurance_summary(item: Any, patient: Patient) -> str:
    """The visit's 保険組合せ in one line ("協会けんぽ 本人 3割").

    ORCA's 受付一覧 names the combination but carries no 負担割合; the patient's insurance (synced just
    before) does, so the rate is taken from the insurance with the same 保険者番号.
    """
    combo = item.insurance
    if combo is None:
        return item.insurance_summary or ""
    if combo.burden_percent is None and combo.insurance is not None:
        for insurance in patient.insurances or []:
            if (insurance.get("insurer_number") == combo.insurance.insurer_number
                    and insurance.get("burden_percent") is not None):
                combo = replace(combo, burden_percent=int(insurance["burden_percent"]))
                break
    return combo.summary()


def sync_receptions(session: Session, clinic: Clinic, client: OrcaClient, day: date) -> int:
    """Pull a day's reception list from ORCA into visits; returns how many visits changed.

    ORCA has no 診察中 state: those are Kamikarte's own. ORCA tells us 会計済 (Account_Time) and, by a
    reception disappearing from its list, 取消.
    """
    receptions = client.list_receptions(day)
    changed = 0
    seen: set[str] = set()
    for item in receptions:
        seen.add(item.reception_id)
        patient = patients.find_by_orca_id(session, clinic.id, item.patient_id)
        if patient is None or patient.orca_synced_at is None or patient.orca_synced_at < utcnow() - PATIENT_REFRESH:
            patient = sync_patient(session, clinic, client, item.patient_id)
        visit = session.scalar(scoped(Visit, clinic.id).where(Visit.visit_date == day,
                                                              Visit.orca_acceptance_id == item.reception_id))
        accepted_at = item.accepted_at if item.accepted_at.tzinfo else item.accepted_at.replace(tzinfo=JST)
        values = {
            "patient_id": patient.id, "accepted_at": accepted_at.astimezone(UTC),
            "department_code": item.department_code or "", "department_name": item.department_name or "",
            "physician_code": item.physician_code or "", "physician_name": item.physician_name or "",
            "insurance_summary": reception_insurance_summary(item, patient)[:120],
            # 保険組合せ of the 受付: what billing sent to ORCA for this visit is charged to.
            "insurance_combination": (getattr(item, "insurance_combination", "") or "")[:10],
        }
        if visit is None:  # ours, sent from here, when its reply was lost on the way back
            visit = waiting_visit(session, clinic.id, day, patient.id, values["department_code"], accepted_at)
            if visit is not None:
                visit.orca_acceptance_id = item.reception_id
                visit.revision += 1
                changed += 1
        if visit is None:
            visit = Visit(clinic_id=clinic.id, visit_date=day, orca_acceptance_id=item.reception_id, source="orca",
                          **values)
            session.add(visit)
            session.flush()
            reception.tell_visit_event(session, visit, reception.VISIT_CREATED)
            changed += 1
            continue
        if any(getattr(visit, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(visit, key, value)
            visit.revision += 1
            changed += 1
        if getattr(item, "is_paid", False) and visit.status not in (PAID, CANCELLED):
            reception.change_status(session, visit, PAID, ORCA_SYNC)
            changed += 1
    for visit in session.scalars(scoped(Visit, clinic.id).where(Visit.visit_date == day,
                                                                Visit.orca_acceptance_id.is_not(None),
                                                                Visit.status != CANCELLED)):
        if visit.orca_acceptance_id not in seen:
            reception.change_status(session, visit, CANCELLED, ORCA_SYNC)
            changed += 1
    return changed


def refresh_staff_lists(clinic: Clinic, client: OrcaClient) -> None:
    """Keep ORCA's departments and doctors on the clinic (reception forms offer them; ORCA checks them)."""
    orca = clinic.integration("orca")
    physicians = client.list_physicians()
    departments = client.list_departments()
    if orca.get("physicians") != physicians or orca.get("departments") != departments:
        orca.update({"physicians": physicians, "departments": departments})
        clinic.set_integration("orca", orca)


#: With PUSH working, the full pull (staff lists, patient master, today's list) is only a safety net, run this
#: often; without PUSH it runs on every pass, as before.
FULL_PULL_EVERY = timedelta(minutes=5)


def sync_announced_patients(session: Session, clinic: Clinic, client: OrcaClient, patient_ids: list[str]) -> int:
    """Fetch the patients a patient_information notification named; returns how many were stored.

    One patient ORCA cannot give (gone again: code 10; a broken record) is logged and left to the periodic
    pull, which reports it; ORCA itself failing (down, refused) fails the pass.
    """
    stored = 0
    for patient_id in patient_ids:
        try:
            sync_patient(session, clinic, client, patient_id)
        except (OrcaApiError, OrcaProtocolError) as exc:
            log.warning("clinic %s: announced patient %s not fetched: %s", clinic.id, patient_id, exc.message_ja)
            continue
        stored += 1
    return stored


def _full_pull_due(session: Session, clinic_id: int) -> bool:
    last = reception.sync_state(session, clinic_id, "orca.patients").last_success_at
    return last is None or last <= utcnow() - FULL_PULL_EVERY


def _read_push(session: Session, clinic: Clinic, client: OrcaClient) -> PushNews:
    """The PUSH part of a pass, committed on its own: what it brought stays even when a pull below fails."""
    try:
        news = read_push_events(session, clinic.id, client)
        sync_announced_patients(session, clinic, client, news.patient_ids)
    except (OrcaUnavailable, OrcaAuthError):
        raise  # ORCA itself is unwell: the pass fails and says so
    except Exception:  # noqa: BLE001 — PUSH only speeds things up: whatever breaks it, the pull still runs
        log.exception("clinic %s: PUSH notifications not used in this pass", clinic.id)
        session.rollback()
        return PushNews(available=False)
    session.commit()
    return news


def sync_clinic(session: Session, clinic: Clinic, day: date | None = None) -> None:
    """One pass for one clinic; on failure the list keeps the last synced data and the error is shown.

    PUSH first: a patient ORCA announced is fetched at once, a day whose 受付 or 会計 changed is pulled once.
    The full pull runs when PUSH cannot be used, every FULL_PULL_EVERY otherwise, and whenever `day` is given.
    With PUSH working and nothing announced, a pass is one pusheventgetv2 call.
    """
    client = orca_client_for(clinic)
    state = reception.sync_state(session, clinic.id, "orca.reception")
    state.last_attempt_at = utcnow()
    if client is None:
        state.last_error = "ORCAの接続先が設定されていません"
        session.commit()
        return
    try:
        news = _read_push(session, clinic, client)
        days = set(news.days)
        if day is not None or not news.available or _full_pull_due(session, clinic.id):
            refresh_staff_lists(clinic, client)
            sync_patient_master(session, clinic, client)
            days.add(day or japan_today())
        for each in sorted(days):
            sync_receptions(session, clinic, client, each)
    except OrcaError as exc:
        session.rollback()
        state = reception.sync_state(session, clinic.id, "orca.reception")
        state.last_attempt_at = utcnow()
        state.last_error = exc.message_ja[:500]
        log.warning("ORCA sync of clinic %s failed: %s", clinic.id, exc)
    else:
        state = reception.sync_state(session, clinic.id, "orca.reception")
        state.last_success_at = utcnow()
        state.last_error = None
    session.commit()


def sync_all_clinics(session_factory: Callable[[], Session], day: date | None = None) -> None:
    """One pass over every clinic that has ORCA configured (the poller's and the demo start's).

    A clinic whose pass breaks unexpectedly is logged and skipped: the other clinics are still synced.
    """
    with session_factory() as session:
        clinic_ids = list(session.scalars(select(Clinic.id)))
    for clinic_id in clinic_ids:
        # One pass of a clinic at a time across every process (pollers of several servers, the demo start's):
        # two passes at once would both create the same visits and states and both record the same changes.
        with session_factory() as session, exclusive(session, SYNC_LOCK, clinic_id):
            clinic = session.get(Clinic, clinic_id)
            if clinic is None or not clinic.integration("orca").get("base_url"):
                continue
            try:
                sync_clinic(session, clinic, day)
            except Exception:  # noqa: BLE001 — one clinic's bug or database error must not starve the others
                log.exception("ORCA sync of clinic %s broke", clinic_id)
                session.rollback()


def deliver_reception(session: Session, message: OutboxMessage) -> dict[str, Any] | None:
    """Outbox delivery of a reception registered in Kamikarte: register it in ORCA, keep ORCA's number."""
    clinic = session.get(Clinic, message.clinic_id)
    client = orca_client_for(clinic) if clinic else None
    if client is None:
        raise DeliveryError("ORCAの接続先が設定されていません")
    payload = message.payload
    visit = session.get(Visit, payload["visit_id"])
    visit = visit if visit is not None and visit.clinic_id == message.clinic_id else None
    if visit is not None and visit.orca_acceptance_id:  # the poller found it in ORCA after a lost reply
        return {"acceptance_id": visit.orca_acceptance_id, "found_in_orca": True}
    try:
        landed = landed_reception(session, client, visit, payload["patient_id"]) \
            if visit is not None and message.attempts else None
        reception_id = landed or client.register_reception(
            payload["patient_id"], payload["department_code"], payload["physician_code"],
            datetime.fromisoformat(payload["accepted_at"]).astimezone(JST)).reception_id
    except OrcaError as exc:
        if getattr(exc, "retryable", True):
            raise DeliveryError(exc.message_ja) from exc
        raise PermanentDeliveryError(exc.message_ja) from exc
    if visit is not None:
        visit.orca_acceptance_id = reception_id
        visit.revision += 1
        record_audit(session, ORCA_SYNC, "visit.orca_registered", clinic_id=visit.clinic_id, entity_type="visit",
                     entity_id=visit.id, patient_id=visit.patient_id,
                     summary={"after": {"orca_acceptance_id": reception_id}})
    return {"acceptance_id": reception_id, **({"found_in_orca": True} if landed else {})}


register_handler("orca.reception", deliver_reception)
