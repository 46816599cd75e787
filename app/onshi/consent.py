"""The card-reader consent to online eligibility's own histories (薬剤・診療・特定健診・手術情報): recorded per kind
whenever ORCA's patientgetv2 brings the eligibility result (the 2024 items), and read as "may we look now?".
The consent lasts about 24 hours (AvailableTime); expired or missing, the patient confirms again at the reader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor, record_audit
from app.core.timeutil import format_japan_datetime
from app.db import utcnow
from app.integrations.orca import OrcaError
from app.onshi.models import FLAG_LABELS, KINDS, HistoryConsent
from app.patients.models import Patient
from app.reception import orca_sync

ORCA_READ = Actor(user_id=None, login_id="orca-sync", clinic_id=None, role=None)
AGAIN = "受付で顔認証付きカードリーダーにマイナ保険証をかざし、もう一度同意を確認してもらってください。"


@dataclass(frozen=True)
class ConsentState:
    """One kind's consent as the patient page shows it."""

    kind: str
    label: str
    valid: bool
    text: str
    available_until: datetime | None = None


def latest_consents(session: Session, clinic_id: int, patient_id: int) -> dict[str, HistoryConsent]:
    """The latest recorded consent of each kind."""
    rows = session.scalars(_LATEST_CONSENTS, {"clinic_id": clinic_id, "patient_id": patient_id})
    latest: dict[str, HistoryConsent] = {}
    for row in rows:
        latest.setdefault(row.kind, row)
    return latest


#: Built once: the patient page shows the consent block on every view.
_LATEST_CONSENTS = (select(HistoryConsent).where(HistoryConsent.clinic_id == bindparam("clinic_id"),
                                                 HistoryConsent.patient_id == bindparam("patient_id"))
                    .order_by(HistoryConsent.recorded_at.desc(), HistoryConsent.id.desc()).limit(40))


def is_valid(consent: HistoryConsent | None, now: datetime | None = None) -> bool:
    """Whether the history of this kind may be asked for now."""
    now = now or utcnow()
    return bool(consent and consent.flag == "1" and consent.available_until and consent.available_until > now)


def consent_states(session: Session, clinic_id: int, patient_id: int,
                   now: datetime | None = None) -> list[ConsentState]:
    """Each kind (薬剤, 診療, 特定健診, 手術): agreed and until when, or why not and what to do."""
    now = now or utcnow()
    latest = latest_consents(session, clinic_id, patient_id)
    states = []
    for kind, label in KINDS.items():
        row = latest.get(kind)
        if row is None:
            states.append(ConsentState(kind, label, False, "資格確認の結果に記録がありません。" + AGAIN))
        elif is_valid(row, now):
            given = f"（{format_japan_datetime(row.given_at)} 同意）" if row.given_at else ""
            states.append(ConsentState(kind, label, True, f"{format_japan_datetime(row.available_until)} まで閲覧可"
                                       + given, row.available_until))
        elif row.flag == "1" or row.flag == "2":
            until = format_japan_datetime(row.available_until) if row.available_until else "不明"
            states.append(ConsentState(kind, label, False, f"同意の有効期限（{until}）が過ぎています。" + AGAIN,
                                       row.available_until))
        else:
            states.append(ConsentState(kind, label, False, f"{FLAG_LABELS.get(row.flag, row.flag)}。"
                                       "閲覧するには" + AGAIN))
    return states


def record_from_orca(session: Session, clinic: Clinic, patient: Patient, orca_patient: object) -> None:
    """Record the 2024 consent items ORCA's patient carries (a row per kind only when it changed; audited)."""
    found = getattr(orca_patient, "history_consents", None)
    if found is None:
        return
    latest = latest_consents(session, clinic.id, patient.id)
    for item in found:
        known = latest.get(item.kind)
        if known and (known.flag, known.given_at, known.available_until) == (item.flag, item.given_at,
                                                                              item.available_until):
            continue
        row = HistoryConsent(clinic_id=clinic.id, patient_id=patient.id, kind=item.kind, flag=item.flag,
                             given_at=item.given_at, available_until=item.available_until)
        session.add(row)
        session.flush()
        until = item.available_until.isoformat() if item.available_until else None
        record_audit(session, ORCA_READ, "onshi.consent", clinic_id=clinic.id, entity_type="onshi_consent",
                     entity_id=row.id, patient_id=patient.id,
                     summary={"after": {"kind": item.kind, "flag": item.flag, "available_until": until}})


def refresh_from_orca(session: Session, clinic: Clinic, patient: Patient) -> str:
    """Read the patient's eligibility result from ORCA now (the consent is recorded on the way); a message."""
    client = orca_sync.orca_client_for(clinic)
    if client is None:
        return "ORCAが設定されていないため資格確認結果を読めません"
    try:
        orca_sync.sync_patient(session, clinic, client, patient.orca_patient_id)
    except OrcaError as exc:
        session.rollback()
        return f"資格確認結果を読めませんでした: {exc.message_ja}"
    return "資格確認結果を読み直しました"


orca_sync.on_patient_read(record_from_orca)
