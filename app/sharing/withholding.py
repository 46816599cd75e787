"""共有しない: a doctor keeps one of our records from the 電子カルテ情報共有サービス — e.g. a diagnosis not yet told
to the patient (未告知), or at the patient's wish — when it is recorded or later. The mark follows the item
through its corrections (it is kept by lineage). A withheld item is not registered; one the service already
holds is withdrawn there (取消), and one still waiting in the outbox is not sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.clinics.services import get_staff
from app.core.audit import Actor, record_audit
from app.db import scoped, utcnow
from app.outbox.models import OutboxMessage
from app.sharing.models import QUEUED, REGISTERED, RETRYING, WITHDRAWN, SharingRegistration, SharingWithholding
from app.sharing.registration import (
    SUBJECTS,
    WITHHELD_REASON,
    WITHHOLDABLE,
    is_withheld,
    live_registration,
    replace_registered,
)


class WithholdingError(ValueError):
    """A record that cannot be marked; str() is the Japanese message."""


def get_withholdable(session: Session, clinic_id: int, patient_id: int, subject_type: str, item_id: int) -> Any:
    """One current version of a patient's diagnosis, allergy, 薬剤禁忌 or infection (None when it is another
    clinic's, another patient's, superseded, or not a kind that can be withheld)."""
    if subject_type not in WITHHOLDABLE:
        return None
    model = SUBJECTS[subject_type]
    return session.scalar(scoped(model, clinic_id).where(model.id == item_id, model.patient_id == patient_id,
                                                         model.superseded_at.is_(None), model.retracted.is_(False)))


def withheld_lineages(session: Session, clinic_id: int, patient_id: int) -> set[tuple[str, int]]:
    """(table, lineage id) of a patient's records marked 共有しない."""
    rows = session.scalars(scoped(SharingWithholding, clinic_id).where(SharingWithholding.patient_id == patient_id))
    return {(row.subject_type, row.lineage_id) for row in rows}


def withhold_record(session: Session, actor: Actor, record: Any, reason: str) -> SharingWithholding:
    """Mark a record 共有しない (audited, in the caller's transaction) and take it back from the service: a
    registration still waiting is not sent; a registered one is withdrawn (取消) through the outbox."""
    reason = (reason or "").strip()
    if not reason:
        raise WithholdingError("共有しない理由を入力してください（例: 未告知の病名、患者の希望）")
    if len(reason) > 200:
        raise WithholdingError("理由は200文字以内で入力してください")
    if record.__tablename__ not in WITHHOLDABLE:
        raise WithholdingError("この記録は共有しないにできません")
    if is_withheld(session, record):
        raise WithholdingError("この記録はすでに「共有しない」になっています")
    staff = get_staff(session, record.clinic_id, actor.user_id) if actor.user_id else None
    row = SharingWithholding(clinic_id=record.clinic_id, patient_id=record.patient_id,
                             subject_type=record.__tablename__, lineage_id=record.lineage_id or record.id,
                             reason=reason, recorded_at=utcnow(), recorded_by_id=actor.user_id,
                             recorded_by_name=staff.display_name if staff else (actor.login_id or ""))
    session.add(row)
    session.flush()
    live = live_registration(session, record.__tablename__, record.id)
    withdrawal = None
    if live is not None and live.status == REGISTERED:
        withdrawal = replace_registered(session, record, record, withdraw=True)
    elif live is not None and live.status in (QUEUED, RETRYING):
        # Not at the service yet: its delivery sees the mark and sends nothing (a change only takes the old
        # version back).
        _mark_unsent(session, live)
    record_audit(session, actor, "sharing.withhold", clinic_id=record.clinic_id, entity_type=record.__tablename__,
                 entity_id=record.id, patient_id=record.patient_id,
                 summary={"after": {"reason": reason, "lineage_id": row.lineage_id,
                                    "withdrawal": withdrawal.id if withdrawal is not None else None}})
    return row


def _mark_unsent(session: Session, registration: SharingRegistration) -> None:
    """Show at once that a waiting registration will not go out (its delivery then skips it); one that also takes
    an old version back keeps its state until that is done."""
    message = session.get(OutboxMessage, registration.outbox_message_id) if registration.outbox_message_id else None
    if message is None or not message.payload.get("replaces"):
        registration.status = WITHDRAWN
    registration.reason = WITHHELD_REASON
