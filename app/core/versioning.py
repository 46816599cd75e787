"""Versioned patient records: never updated in place. A correction adds a new version with the same
`lineage_id` and marks the old one superseded; a withdrawal (取消) adds a version with `retracted` set.
The current state of an item is its one version with `superseded_at` empty.

The columns (`PatientRecordVersion`, or `RecordVersion` for a clinic's own record) and the one way to write
versions (`record_first_version`, `record_new_version`: who, when, why, the audit entry, the reason checked the
same way everywhere) are used by the profile items, the diagnoses, the key images, the progress notes, the schema
drawings, the lab results entered in the clinic, and the 定型文 and 診療録テンプレート (a clinic's records, not a
patient's)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, bindparam, inspect, update
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from app.clinics.services import get_staff
from app.core.audit import Actor, record_audit, summarize_change
from app.core.errors import ValidationError
from app.core.jp import strip_control_chars
from app.db import PatientScoped, UTCDateTime, utcnow

#: Longest reason a correction or withdrawal may give (the column's size: a longer one is refused, never cut).
MAX_REASON = 200
REASON_REQUIRED = "修正・取消の理由を入力してください"
ALREADY_CHANGED = "この記録はすでに修正または取消されています。画面を開き直してください"
#: Columns a new version never copies from the one it replaces: they say which version it is and who made it.
_BOOKKEEPING = frozenset({"id", "lineage_id", "version", "recorded_at", "recorded_by_id", "recorded_by_name",
                          "superseded_at", "retracted", "change_reason"})


class RecordVersion:
    """Columns every versioned record has, a patient's or a clinic's own (定型文): its lineage and who recorded this
    version when and why."""

    #: The id of the item's first version: every version of one item shares it.
    lineage_id: Mapped[int | None] = mapped_column(Integer)
    #: 1 for the first entry, then 2, 3 … for each correction.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: When this version was recorded and by whom (the name as it was then, for the history).
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    recorded_by_name: Mapped[str] = mapped_column(String(100), default="")
    #: Set when a later version replaced this one: only versions without it are current.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: This version withdraws the item (入力誤り等で取消); it stays in the history.
    retracted: Mapped[bool] = mapped_column(default=False)
    #: Why a correction or withdrawal was made (required for both).
    change_reason: Mapped[str] = mapped_column(String(200), default="")


class PatientRecordVersion(RecordVersion, PatientScoped):
    """Columns every versioned patient record has: the patient, its lineage and who recorded this version when."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple:  # noqa: N805 — SQLAlchemy's declared_attr convention
        return version_indexes(cls.__tablename__)  # type: ignore[attr-defined]


def current_of(model: Any) -> list[Any]:
    """The conditions of a versioned model's current versions of one patient of one clinic, the clinic and the
    patient as the bound parameters `clinic_id` and `patient_id`: for statements built once and run per page."""
    return [model.clinic_id == bindparam("clinic_id"), model.patient_id == bindparam("patient_id"),
            model.superseded_at.is_(None), model.retracted.is_(False)]


def version_indexes(table_name: str) -> tuple[Index, Index]:
    """The indexes every versioned table has: its current versions per patient, and each item's lineage (for a
    model that declares table arguments of its own)."""
    return (Index(f"ix_{table_name}_current", "clinic_id", "patient_id", "superseded_at"),
            Index(f"ix_{table_name}_lineage", "lineage_id"))


def clean_reason(reason: str | None, *, required: bool = True, missing: str = REASON_REQUIRED) -> str:
    """The reason for a change as it is stored: invisible characters removed, whitespace runs (line breaks
    included) folded to one space. ValidationError on field `change_reason` when it is required and empty
    (`missing` is the message) or longer than MAX_REASON characters: it is never cut."""
    text = " ".join(strip_control_chars(reason or "", multiline=True).split())
    if required and not text:
        raise ValidationError(missing, field="change_reason")
    if len(text) > MAX_REASON:
        raise ValidationError(f"修正・取消の理由は{MAX_REASON}文字以内で入力してください（いま{len(text)}文字です）",
                              field="change_reason")
    return text


def _patient_of(item: RecordVersion) -> int | None:
    """The patient a version is about (None for a clinic's own record), for its audit entry."""
    return item.patient_id if isinstance(item, PatientScoped) else None


def _stamp(session: Session, item: RecordVersion, actor: Actor) -> None:
    """Who recorded this version and when (the staff name as it is now, for the history)."""
    staff = get_staff(session, item.clinic_id, actor.user_id) if actor.user_id else None
    item.recorded_by_id = actor.user_id
    item.recorded_by_name = staff.display_name if staff else (actor.login_id or "")
    item.recorded_at = utcnow()


def _summary(snapshot: Callable[[Any], dict[str, Any]] | None, before: Any, after: Any, reason: str,
             extra: dict[str, Any] | None) -> dict[str, Any]:
    summary = summarize_change(snapshot(before) if before is not None else {}, snapshot(after)) if snapshot else {}
    summary |= (extra or {}) | {"version": after.version}
    return summary | ({"reason": reason} if reason else {})


def _start_lineage(session: Session, item: Any) -> None:
    """Store `item`, a first version: its lineage is its own id."""
    session.add(item)
    session.flush()
    item.lineage_id = item.lineage_id or item.id
    session.flush()


def _supersede(session: Session, old: Any) -> None:
    """Mark the current version `old` replaced. Superseding is the one write a stored version ever gets, and it is
    conditional: of two people changing the same version at once, the second waits for the first's row lock, then
    finds it replaced — ValidationError (ALREADY_CHANGED) and nothing written."""
    model = type(old)
    now = utcnow()
    replaced = session.execute(update(model).where(model.id == old.id, model.superseded_at.is_(None))
                               .values(superseded_at=now).execution_options(synchronize_session=False))
    if replaced.rowcount != 1:
        raise ValidationError(ALREADY_CHANGED, field="_form")
    set_committed_value(old, "superseded_at", now)


def record_first_version(session: Session, actor: Actor, item: RecordVersion, *, action: str,
                         snapshot: Callable[[Any], dict[str, Any]] | None = None,
                         extra: dict[str, Any] | None = None) -> RecordVersion:
    """Store `item` (built with its clinic, patient if any, and fields) as version 1 of a new lineage: who and when
    stamped, and an audit entry `action` whose summary is the `snapshot` of the new item plus `extra`."""
    item.version = 1
    _stamp(session, item, actor)
    _start_lineage(session, item)
    record_audit(session, actor, action, clinic_id=item.clinic_id, entity_type=item.__tablename__, entity_id=item.id,
                 patient_id=_patient_of(item), summary=_summary(snapshot, None, item, "", extra))
    return item


def record_new_version(session: Session, actor: Actor, old: RecordVersion, values: dict[str, Any], *,
                       action: str, reason: str | None, retract: bool = False, reason_required: bool = True,
                       missing_reason: str = REASON_REQUIRED, snapshot: Callable[[Any], dict[str, Any]] | None = None,
                       extra: dict[str, Any] | None = None) -> RecordVersion:
    """Replace the current version `old` by a new one: every field copied, `values` applied, `retract` set for a
    withdrawal; `old` marked superseded; who, when and why recorded; an audit entry `action` (the changed fields
    by `snapshot`, plus `extra`, the version and the reason). ValidationError when `old` is no longer current
    or the reason is refused (see clean_reason)."""
    if old.superseded_at is not None or old.retracted:
        raise ValidationError(ALREADY_CHANGED, field="_form")
    reason = clean_reason(reason, required=reason_required, missing=missing_reason)
    model = type(old)
    _supersede(session, old)
    fields = {attr.key: copy.deepcopy(getattr(old, attr.key)) for attr in inspect(model).column_attrs
              if attr.key not in _BOOKKEEPING}  # a copy: JSON lists must not be shared between two versions
    new = model(**(fields | values), lineage_id=old.lineage_id or old.id, version=old.version + 1,
                retracted=retract, change_reason=reason)
    _stamp(session, new, actor)
    session.add(new)
    session.flush()
    record_audit(session, actor, action, clinic_id=new.clinic_id, entity_type=new.__tablename__, entity_id=new.id,
                 patient_id=_patient_of(new), summary=_summary(snapshot, old, new, reason, extra))
    return new
