"""Other institutions' entries taken into our record: a doctor adopts an allergy, 薬剤禁忌 or diagnosis another
institution registered at the 電子カルテ情報共有サービス — through the same profile and diagnosis services as a
typed entry, with the source institution and date kept — or dismisses it with a reason. Both are audited; a
decided entry leaves the safety banner (an adopted one is shown as ours from then on)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.services import get_staff
from app.core.audit import Actor, record_audit
from app.core.timeutil import japan_today
from app.db import scoped, utcnow
from app.diagnoses.models import Disease
from app.diagnoses.services import DiagnosisError, DiagnosisInput, add_diagnosis
from app.patients import profile
from app.patients.profile_forms import KINDS, parse_form
from app.prescriptions.models import Drug
from app.sharing.fhir import systems as S
from app.sharing.models import ADOPTED, DISMISSED, NationalEntryCopy, NationalEntryDecision
from app.sharing.services import consent_problem, current_consent

#: What can be adopted, and the profile kind it becomes (a diagnosis goes to app.diagnoses).
ADOPTABLE = {"condition": None, "drug_allergy": "allergies", "other_allergy": "allergies",
             "contraindication": "contraindications"}


class AdoptionError(ValueError):
    """An entry that cannot be adopted or dismissed; str() is the Japanese message for the doctor."""


def get_entry(session: Session, clinic_id: int, patient_id: int, entry_id: int) -> NationalEntryCopy | None:
    """One stored entry of another institution (None for another clinic's or another patient's)."""
    return session.scalar(scoped(NationalEntryCopy, clinic_id).where(NationalEntryCopy.id == entry_id,
                                                                     NationalEntryCopy.patient_id == patient_id))


def decisions_by_key(session: Session, clinic_id: int, patient_id: int) -> dict[str, NationalEntryDecision]:
    """The decisions taken about a patient's entries from other institutions, by entry key."""
    rows = session.scalars(scoped(NationalEntryDecision, clinic_id).where(
        NationalEntryDecision.patient_id == patient_id))
    return {row.entry_key: row for row in rows}


def source_note(entry: NationalEntryCopy) -> str:
    """Where an adopted entry came from, in words kept with the record."""
    institution = entry.institution_name or "他院"
    code = f"（医療機関コード {entry.institution_code}）" if entry.institution_code else ""
    day = f"{entry.day} 記録" if entry.day else "日付不明"
    return f"電子カルテ情報共有サービスの他院情報から取り込み：{institution}{code}、{day}"


def _check(session: Session, clinic_id: int, entry: NationalEntryCopy) -> None:
    if session.scalar(scoped(NationalEntryDecision, clinic_id).where(
            NationalEntryDecision.patient_id == entry.patient_id,
            NationalEntryDecision.entry_key == entry.entry_key)) is not None:
        raise AdoptionError("この他院情報はすでに取り込み済みか、取り込まないと決められています")
    problem = consent_problem(current_consent(session, clinic_id, entry.patient_id))
    if problem:
        raise AdoptionError(problem)


def _decide(session: Session, actor: Actor, entry: NationalEntryCopy, decision: str, reason: str,
            record: Any = None) -> NationalEntryDecision:
    staff = get_staff(session, entry.clinic_id, actor.user_id) if actor.user_id else None
    row = NationalEntryDecision(
        clinic_id=entry.clinic_id, patient_id=entry.patient_id, entry_key=entry.entry_key, kind=entry.kind,
        title=entry.title, institution_code=entry.institution_code, institution_name=entry.institution_name,
        entry_day=entry.day, decision=decision, reason=reason,
        subject_type=record.__tablename__ if record is not None else None,
        subject_id=record.id if record is not None else None, decided_at=utcnow(), decided_by_id=actor.user_id,
        decided_by_name=staff.display_name if staff else (actor.login_id or ""))
    session.add(row)
    session.flush()
    summary = {"entry": {"kind": entry.kind, "title": entry.title, "institution_code": entry.institution_code,
                         "institution_name": entry.institution_name, "day": entry.day, "key": entry.entry_key}}
    summary["after"] = {"decision": decision, "reason": reason, "subject_type": row.subject_type,
                        "subject_id": row.subject_id}
    record_audit(session, actor, f"sharing.entry.{'adopt' if decision == ADOPTED else 'dismiss'}",
                 clinic_id=entry.clinic_id, entity_type="sharing_entry_decision", entity_id=row.id,
                 patient_id=entry.patient_id, summary=summary)
    return row


def _adopt_diagnosis(session: Session, actor: Actor, patient: Any, entry: NationalEntryCopy) -> Any:
    key = entry.codes.get(S.DISEASE_KEY)
    disease = session.scalar(select(Disease).where(Disease.medis_key == key).limit(1)) if key else None
    if disease is None:
        raise AdoptionError(f"「{entry.title}」は傷病名マスターのコードで特定できないため取り込めません。"
                            "傷病名の画面でマスターから選んで登録してください")
    started = entry.day if entry.day and entry.day <= japan_today().isoformat() else japan_today().isoformat()
    try:
        return add_diagnosis(session, entry.clinic_id, actor, patient.id,
                             DiagnosisInput(disease_code=disease.code, started_on=started, outcome="continuing"),
                             birth_date=patient.birth_date)
    except DiagnosisError as exc:
        raise AdoptionError("、".join(exc.errors.values())) from exc


def _adopt_profile_item(session: Session, actor: Actor, entry: NationalEntryCopy) -> Any:
    kind = KINDS[ADOPTABLE[entry.kind]]
    yj = entry.codes.get(S.YJ, "")
    drug = session.scalar(select(Drug).where(Drug.yj_code == yj).limit(1)) if yj else None
    if entry.kind != "other_allergy" and drug is None:
        raise AdoptionError(f"「{entry.title}」は医薬品マスターのコードで特定できないため取り込めません。"
                            "プロフィールの画面で薬剤を選んで登録してください")
    form = {"drug_scope": "product", "substance": entry.title}
    if entry.kind == "contraindication":
        form["reason"] = (entry.detail.removeprefix("薬剤禁忌: ") or "他院で薬剤禁忌として登録")[:200]
    else:
        form |= {"category": "drug" if entry.kind == "drug_allergy" else entry.codes.get("category", "other"),
                 "reaction": entry.detail[:200], "severity": "unknown", "notes": source_note(entry)}
    values, errors = parse_form(kind, form, now=utcnow())
    try:
        if errors:
            raise profile.ProfileError(errors)
        profile.resolve_drug(session, kind, values, drug.receipt_code if drug else "")
        return profile.add_item(session, entry.clinic_id, actor, kind, entry.patient_id, values)
    except profile.ProfileError as exc:
        raise AdoptionError("、".join(exc.errors.values())) from exc


def adopt_entry(session: Session, actor: Actor, patient: Any, entry: NationalEntryCopy) -> NationalEntryDecision:
    """Take another institution's allergy, 薬剤禁忌 or diagnosis into our record (audited, in the caller's
    transaction); the decision keeps the source institution and date and names the record made."""
    if entry.kind not in ADOPTABLE:
        raise AdoptionError("この種類の他院情報は取り込めません（アレルギー・薬剤禁忌・傷病名のみ）")
    _check(session, entry.clinic_id, entry)
    if entry.kind == "condition":
        record = _adopt_diagnosis(session, actor, patient, entry)
    else:
        record = _adopt_profile_item(session, actor, entry)
    return _decide(session, actor, entry, ADOPTED, source_note(entry), record)


def dismiss_entry(session: Session, actor: Actor, entry: NationalEntryCopy, reason: str) -> NationalEntryDecision:
    """Decide not to take another institution's entry into our record, with the reason (audited); it leaves the
    safety banner."""
    reason = (reason or "").strip()
    if not reason:
        raise AdoptionError("取り込まない理由を入力してください")
    if len(reason) > 200:
        raise AdoptionError("理由は200文字以内で入力してください")
    _check(session, entry.clinic_id, entry)
    return _decide(session, actor, entry, DISMISSED, reason)
