"""共有しない: a doctor keeps one of our records from the 電子カルテ情報共有サービス — e.g. a diagnosis not yet told
to the patient (未告知), or at the patient's wish — when it is recorded or later: a diagnosis, an allergy, a
薬剤禁忌, an infection, a lab result, a whole lab order (its results, those still to come too) or a prescription.
The mark follows the item through its corrections (it is kept by lineage). A withheld item is not registered; one
the service already holds is withdrawn there (取消), and one still waiting in the outbox is not sent.

A doctor may set a withheld item back to 共有する: the mark goes (audited, with the reason it had) and the item is
registered through the outbox as any confirmed record."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.clinics.services import get_staff
from app.core.audit import Actor, record_audit
from app.core.timeutil import japan_today
from app.db import scoped, utcnow
from app.labs.models import LabOrder, LabResult
from app.outbox.models import OutboxMessage
from app.sharing import sources
from app.sharing.models import QUEUED, REGISTERED, RETRYING, WITHDRAWN, SharingRegistration, SharingWithholding
from app.sharing.registration import (
    SUBJECTS,
    WITHHELD_REASON,
    WITHHOLDABLE,
    is_withheld,
    lineage_of,
    live_registration,
    record_confirmed,
    replace_registered,
)

#: Models of what can be withheld that are not themselves 6 information (a lab order stands for its results).
GROUPS: dict[str, Any] = {"lab_order": LabOrder}


class WithholdingError(ValueError):
    """A record that cannot be marked; str() is the Japanese message."""


def get_withholdable(session: Session, clinic_id: int, patient_id: int, subject_type: str, item_id: int) -> Any:
    """One of a patient's records that can be withheld — the current version of a diagnosis, allergy, 薬剤禁忌,
    infection or lab result; a prescription; a lab order — or None (another clinic's, another patient's,
    superseded, or not a kind that can be withheld)."""
    if subject_type not in WITHHOLDABLE:
        return None
    model = GROUPS.get(subject_type) or SUBJECTS[subject_type]
    query = scoped(model, clinic_id).where(model.id == item_id, model.patient_id == patient_id)
    if hasattr(model, "superseded_at"):  # a versioned record: its current version only
        query = query.where(model.superseded_at.is_(None), model.retracted.is_(False))
    return session.scalar(query)


def _members(session: Session, record: Any) -> list[Any]:
    """The 6-information records a mark is about: a lab order's current results, else the record itself."""
    if not isinstance(record, LabOrder):
        return [record]
    return list(session.scalars(scoped(LabResult, record.clinic_id).where(
        LabResult.order_id == record.id, LabResult.patient_id == record.patient_id,
        LabResult.superseded_at.is_(None), LabResult.retracted.is_(False))))


def withheld_lineages(session: Session, clinic_id: int, patient_id: int) -> set[tuple[str, int]]:
    """(table, lineage id) of a patient's records marked 共有しない."""
    rows = session.scalars(_WITHHELD, {"clinic_id": clinic_id, "patient_id": patient_id})
    return {(row.subject_type, row.lineage_id) for row in rows}


#: Built once: the profile screen reads the marks on every view.
_WITHHELD = select(SharingWithholding).where(SharingWithholding.clinic_id == bindparam("clinic_id"),
                                             SharingWithholding.patient_id == bindparam("patient_id"))


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
    if is_withheld(session, record) if record.__tablename__ in SUBJECTS else mark_of(session, record) is not None:
        raise WithholdingError("この記録はすでに「共有しない」になっています")
    staff = get_staff(session, record.clinic_id, actor.user_id) if actor.user_id else None
    row = SharingWithholding(clinic_id=record.clinic_id, patient_id=record.patient_id,
                             subject_type=record.__tablename__, lineage_id=lineage_of(record),
                             reason=reason, recorded_at=utcnow(), recorded_by_id=actor.user_id,
                             recorded_by_name=staff.display_name if staff else (actor.login_id or ""))
    session.add(row)
    session.flush()
    withdrawals = [w.id for w in (_take_back(session, m) for m in _members(session, record)) if w is not None]
    record_audit(session, actor, "sharing.withhold", clinic_id=record.clinic_id, entity_type=record.__tablename__,
                 entity_id=record.id, patient_id=record.patient_id,
                 summary={"after": {"reason": reason, "lineage_id": row.lineage_id,
                                    "withdrawal": withdrawals[0] if len(withdrawals) == 1 else (withdrawals or None)}})
    return row


def _take_back(session: Session, record: Any) -> SharingRegistration | None:
    """Withdraw a record the service holds (the 取消 queued), or keep a waiting registration from going out."""
    live = live_registration(session, record.__tablename__, record.id)
    if live is not None and live.status == REGISTERED:
        return replace_registered(session, record, record, withdraw=True)
    if live is not None and live.status in (QUEUED, RETRYING):
        # Not at the service yet: its delivery sees the mark and sends nothing (a change only takes the old
        # version back).
        _mark_unsent(session, live)
    return None


def mark_of(session: Session, record: Any) -> SharingWithholding | None:
    """The record's own 共有しない mark, if any (who, when, why: shown on its screen)."""
    return session.scalar(scoped(SharingWithholding, record.clinic_id).where(
        SharingWithholding.subject_type == record.__tablename__, SharingWithholding.lineage_id == lineage_of(record)))


def _shareable(record: Any) -> bool:
    """Whether a record is one the service takes (a lab result: final or corrected, JLAC10-coded, of the last
    year — as the import registers them)."""
    if not isinstance(record, LabResult):
        return True
    return (bool(record.jlac10) and record.result_status in ("F", "C")
            and record.collected_on >= japan_today() - sources.LAB_WINDOW)


def share_again(session: Session, actor: Actor, record: Any) -> list[SharingRegistration]:
    """Set a record marked 共有しない back to 共有する (audited with the reason the mark had, in the caller's
    transaction): it is then registered through the outbox as any confirmed record (a lab order: each of its
    results the service takes and that is not withheld on its own). The registrations queued (none when the
    clinic is not connected)."""
    mark = mark_of(session, record)
    if mark is None and is_withheld(session, record):
        raise WithholdingError("検査オーダー全体が「共有しない」になっています。"
                               "オーダーの画面で「共有する」に戻してください")
    if mark is None:
        raise WithholdingError("この記録は「共有しない」になっていません")
    session.delete(mark)
    session.flush()
    queued = [r for r in (record_confirmed(session, m) for m in _members(session, record) if _shareable(m))
              if r is not None]
    record_audit(session, actor, "sharing.share_again", clinic_id=record.clinic_id,
                 entity_type=record.__tablename__, entity_id=record.id, patient_id=record.patient_id,
                 summary={"before": {"reason": mark.reason, "lineage_id": mark.lineage_id,
                                     "recorded_by": mark.recorded_by_name},
                          "after": {"registrations": [r.id for r in queued]}})
    return queued


def _mark_unsent(session: Session, registration: SharingRegistration) -> None:
    """Show at once that a waiting registration will not go out (its delivery then skips it); one that also takes
    an old version back keeps its state until that is done."""
    message = session.get(OutboxMessage, registration.outbox_message_id) if registration.outbox_message_id else None
    if message is None or not message.payload.get("replaces"):
        registration.status = WITHDRAWN
    registration.reason = WITHHELD_REASON
