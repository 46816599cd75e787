"""Referral letters: draft one with the record pulled in (自動引用), edit it while a draft, confirm it, print it,
mark it sent, share it as a FHIR document through the outbox; documents other institutions sent us."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.clinics.services import get_staff
from app.core.audit import SYSTEM, Actor, record_audit
from app.core.jp import strip_control_chars
from app.core.paging import PER_PAGE, Page
from app.core.timeutil import JST, japan_today
from app.db import scoped, utcnow
from app.diagnoses.models import Disease
from app.diagnoses.services import current_diagnoses
from app.documents.addressing import (
    DestinationError,
    chosen_destination,
    fill_from,
    institution_code_error,
    strip_honorific,
)
from app.documents.checkup import is_checkup_report
from app.documents.discharge import is_discharge_summary
from app.documents.fhir import document_id, referral_document
from app.documents.models import DRAFT, FINAL, HONORIFICS, ReferralLetter
from app.integrations.sharing_service import SharingError
from app.outbox.models import OutboxMessage
from app.outbox.services import DeliveryError, PermanentDeliveryError, enqueue, message_subject, register_handler
from app.patients.models import Patient
from app.patients.profile_models import Allergy, Contraindication, PastHistory
from app.prescriptions.services import current_medicines
from app.sharing import sources
from app.sharing.fhir.mapping import MappingError, member_id
from app.sharing.fhir.validation import FhirValidationError
from app.sharing.services import client_for, settings_of

SHARE = "sharing.document"
#: The letter's editable text fields with their labels and length limits (様式11's items and ours).
FIELDS = {"to_institution": ("紹介先医療機関", 200), "to_institution_code": ("紹介先の医療機関コード", 10),
          "to_department": ("診療科", 100), "to_doctor": ("医師名", 100), "purpose": ("紹介目的", 4000),
          "diagnoses": ("傷病名", 4000), "history": ("既往歴及び家族歴", 4000),
          "course": ("症状経過", 8000), "lab_results": ("検査結果", 8000), "treatment": ("治療経過", 8000),
          "medicines": ("現在の処方", 4000), "allergies": ("アレルギー・薬剤禁忌", 4000), "images": ("添付画像", 2000),
          "remarks": ("備考", 4000)}


class LetterError(ValueError):
    """A letter that cannot be saved or changed; `errors` maps field names to Japanese messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _current(session: Session, model: Any, clinic_id: int, patient_id: int) -> list[Any]:
    return list(session.scalars(scoped(model, clinic_id).where(
        model.patient_id == patient_id, model.superseded_at.is_(None), model.retracted.is_(False))
        .order_by(model.recorded_at)))


def quoted_from_record(session: Session, clinic_id: int, patient_id: int) -> dict[str, str]:
    """自動引用: the parts of a letter the record already holds, as editable text."""
    diagnoses = current_diagnoses(session, clinic_id, patient_id)
    history = _current(session, PastHistory, clinic_id, patient_id)
    allergies = _current(session, Allergy, clinic_id, patient_id)
    contraindications = _current(session, Contraindication, clinic_id, patient_id)
    labs = sources.lab_results_for(session, clinic_id, patient_id)
    images = sources.key_images_for(session, clinic_id, patient_id)
    return {
        "diagnoses": "\n".join(f"{d.display_name}（{d.started_on:%Y-%m-%d}〜、{d.outcome_label}）" for d in diagnoses),
        "history": "\n".join(f"{h.disease}（{h.period}）" if h.period else h.disease for h in history),
        "medicines": "\n".join(f"{m.name}（{m.issued_on:%Y-%m-%d} 処方、{m.until:%Y-%m-%d} まで）"
                               for m in current_medicines(session, clinic_id, patient_id)),
        "lab_results": "\n".join(f"{r.effective:%Y-%m-%d} {r.name} "
                                 f"{f'{r.value:g}' if isinstance(r.value, float) else r.value} {r.unit}".strip()
                                 for r in _latest_per_test(labs)),
        "allergies": "\n".join([f"{a.substance}：{a.reaction or '症状不明'}" for a in allergies]
                               + [f"【禁忌】{c.substance}：{c.reason}" for c in contraindications]),
        "images": "\n".join(f"{i.study_date} {i.title}" for i in images),
    }


#: A letter quotes the latest value of this many tests at most (the whole year's table would run to pages).
QUOTED_TESTS = 20


def _latest_per_test(results: list[Any]) -> list[Any]:
    """The newest result of each test (results come newest first), in that order."""
    latest: dict[str, Any] = {}
    for result in results:
        latest.setdefault(result.local_code, result)
    return list(latest.values())[:QUOTED_TESTS]


def read_key_image_ids(session: Session, clinic_id: int, patient_id: int, form: Any) -> list[int]:
    """The key images ticked on the letter form; an id that is not one of this patient's current key images is
    refused (LetterError), so a letter can never print another patient's image."""
    wanted = [int(v) for v in form.getlist("key_image") if str(v).isdigit()]
    if len(wanted) != len(form.getlist("key_image")):
        raise LetterError({"key_image": "添付画像の指定が正しくありません"})
    available = {k.id for k in sources.key_images_for(session, clinic_id, patient_id)}
    if any(i not in available for i in wanted):
        raise LetterError({"key_image": "この患者のキー画像ではない画像は添付できません"})
    return list(dict.fromkeys(wanted))


def read_form(form: Any) -> dict[str, Any]:
    """The posted letter fields, trimmed and without invisible characters (line breaks kept), the doctor's name
    without the honorific typed after it (the one printed is `honorific`), and the honorific chosen."""
    values: dict[str, Any] = {name: strip_control_chars(form.get(name) or "", multiline=True).strip()
                              for name in FIELDS}
    values["honorific"] = (form.get("honorific") or HONORIFICS[0]).strip()
    return _normalized(values)


def _normalized(values: dict[str, Any]) -> dict[str, Any]:
    """The doctor's name without an honorific typed after it: the letter prints exactly the one it chose."""
    return {**values, "to_doctor": strip_honorific(values["to_doctor"])} if "to_doctor" in values else values


def with_destination(session: Session, clinic_id: int, values: dict[str, Any], raw_id: str | None,
                     letter: ReferralLetter | None = None) -> dict[str, Any]:
    """The letter's values with the address book entry picked on the form (its id, and its 紹介先 where the form
    left those fields empty); an entry that is not this clinic's is refused (LetterError)."""
    try:
        entry = chosen_destination(session, clinic_id, raw_id, letter.destination_id if letter else None)
    except DestinationError as exc:
        raise LetterError(exc.errors) from exc
    return {**fill_from(entry, values), "destination_id": entry.id if entry else None}


def _check(values: dict[str, Any]) -> None:
    errors = {name: f"{label}は{limit}文字以内で入力してください"
              for name, (label, limit) in FIELDS.items() if len(values.get(name, "")) > limit}
    if not values.get("to_institution"):
        errors["to_institution"] = "紹介先医療機関を入力してください"
    if not values.get("purpose"):
        errors["purpose"] = "紹介目的を入力してください"
    if problem := institution_code_error(values.get("to_institution_code", "")):
        errors["to_institution_code"] = problem
    if values.get("honorific", HONORIFICS[0]) not in HONORIFICS:
        errors["honorific"] = "敬称は「先生」「御侍史」「御机下」から選んでください"
    if errors:
        raise LetterError(errors)


def create_letter(session: Session, clinic_id: int, actor: Actor, patient_id: int,
                  values: dict[str, Any], key_image_ids: list[int] | None = None) -> ReferralLetter:
    """Save a new draft letter (with the key images to attach, already checked by read_key_image_ids)."""
    values = _normalized(values)
    _check(values)
    staff = get_staff(session, clinic_id, actor.user_id) if actor.user_id else None
    letter = ReferralLetter(clinic_id=clinic_id, patient_id=patient_id, author_id=actor.user_id,
                            author_name=staff.display_name if staff else (actor.login_id or ""),
                            written_on=japan_today(), status=DRAFT, key_image_ids=list(key_image_ids or []),
                            **values)
    session.add(letter)
    session.flush()
    record_audit(session, actor, "letter.create", clinic_id=clinic_id, entity_type="referral_letter",
                 entity_id=letter.id, patient_id=patient_id, summary={"after": {"to": letter.to_institution}})
    return letter


def update_letter(session: Session, actor: Actor, letter: ReferralLetter, values: dict[str, Any],
                  key_image_ids: list[int] | None = None) -> ReferralLetter:
    """Change a draft (a confirmed letter is never edited: write a new one)."""
    if letter.status != DRAFT:
        raise LetterError({"_form": "確定した紹介状は編集できません。新しく作成してください"})
    values = _normalized(values)
    _check(values)
    before = {k: getattr(letter, k) for k in values}
    changed = sorted(k for k in values if before[k] != values[k])
    for name, value in values.items():
        setattr(letter, name, value)
    if key_image_ids is not None and list(key_image_ids) != list(letter.key_image_ids or []):
        letter.key_image_ids = list(key_image_ids)
        changed.append("key_image_ids")
    letter.written_on = japan_today()
    record_audit(session, actor, "letter.update", clinic_id=letter.clinic_id, entity_type="referral_letter",
                 entity_id=letter.id, patient_id=letter.patient_id, summary={"changed": changed})
    return letter


def confirm_letter(session: Session, actor: Actor, letter: ReferralLetter) -> ReferralLetter:
    """Confirm a draft: from now on it is printed, sent and shared exactly as it stands."""
    if letter.status != DRAFT:
        raise LetterError({"_form": "この紹介状はすでに確定しています"})
    letter.status, letter.confirmed_at = FINAL, utcnow()
    record_audit(session, actor, "letter.confirm", clinic_id=letter.clinic_id, entity_type="referral_letter",
                 entity_id=letter.id, patient_id=letter.patient_id)
    return letter


def mark(session: Session, actor: Actor, letter: ReferralLetter, what: str) -> ReferralLetter:
    """Record that a confirmed letter was printed or sent (handed over / posted)."""
    if letter.status != FINAL:
        raise LetterError({"_form": "確定してから印刷・送付してください"})
    column = {"printed": "printed_at", "sent": "sent_at"}[what]
    if getattr(letter, column) is None:
        setattr(letter, column, utcnow())
        record_audit(session, actor, f"letter.{what}", clinic_id=letter.clinic_id, entity_type="referral_letter",
                     entity_id=letter.id, patient_id=letter.patient_id)
    return letter


def list_letters(session: Session, clinic_id: int, patient_id: int, page: int = 1,
                 per_page: int = PER_PAGE) -> tuple[list[ReferralLetter], Page]:
    """One page of a patient's letters, newest first, and the page with the count of all (ten years: fifty)."""
    mine = scoped(ReferralLetter, clinic_id).where(ReferralLetter.patient_id == patient_id)
    shown = Page(page, session.scalar(select(func.count()).select_from(mine.subquery())) or 0, per_page)
    return list(session.scalars(mine.order_by(ReferralLetter.created_at.desc(), ReferralLetter.id.desc())
                                .offset(shown.offset).limit(shown.per_page))), shown


def get_letter(session: Session, clinic_id: int, patient_id: int, letter_id: int) -> ReferralLetter | None:
    """One letter of this clinic's patient."""
    return session.scalar(scoped(ReferralLetter, clinic_id).where(ReferralLetter.id == letter_id,
                                                                  ReferralLetter.patient_id == patient_id))


def build_document(session: Session, letter: ReferralLetter) -> dict[str, Any]:
    """The letter's FHIR document (validated), with the patient's coded diagnoses and allergies and the key
    images it attached (their stored copies, in the 添付情報 section)."""
    clinic = session.get(Clinic, letter.clinic_id)
    patient = session.scalar(scoped(Patient, letter.clinic_id).where(Patient.id == letter.patient_id))
    diagnoses = current_diagnoses(session, letter.clinic_id, letter.patient_id)
    diseases = {d.code: d for d in session.scalars(select(Disease).where(
        Disease.code.in_({x.disease_code for x in diagnoses})))} if diagnoses else {}
    allergies = (_current(session, Allergy, letter.clinic_id, letter.patient_id)
                 + _current(session, Contraindication, letter.clinic_id, letter.patient_id))
    images = sources.key_images_by_id(session, letter.clinic_id, letter.patient_id, letter.key_image_ids or [])
    return referral_document(letter, patient, clinic, diagnoses=diagnoses, diseases=diseases, allergies=allergies,
                             images=images)


def queue_share(session: Session, actor: Actor, letter: ReferralLetter) -> OutboxMessage:
    """Share a confirmed letter through the service: checked now (refused with a reason if it cannot be a valid
    document), delivered by the outbox."""
    clinic = session.get(Clinic, letter.clinic_id)
    if letter.status != FINAL:
        raise LetterError({"_form": "確定してから共有してください"})
    if not settings_of(clinic):
        raise LetterError({"_form": "電子カルテ情報共有サービスの接続先が設定されていません"})
    if not letter.to_institution_code:
        raise LetterError({"_form": "電子的に共有するには紹介先の医療機関コードが必要です"})
    try:
        build_document(session, letter)
    except (MappingError, FhirValidationError) as exc:
        raise LetterError({"_form": f"共有できません: {exc}"}) from exc
    letter.share_status, letter.share_error = "queued", ""
    record_audit(session, actor, "letter.share", clinic_id=letter.clinic_id, entity_type="referral_letter",
                 entity_id=letter.id, patient_id=letter.patient_id)
    return enqueue(session, clinic_id=letter.clinic_id, kind=SHARE, payload={"letter_id": letter.id},
                   subject_type="referral_letter", subject_id=letter.id, patient_id=letter.patient_id,
                   idempotency_key=f"{SHARE}:{letter.clinic_id}:{letter.id}:{utcnow().timestamp()}")


def deliver_share(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: send the document; keep the service's answer on the letter."""
    letter = message_subject(session, message, ReferralLetter, "letter_id", "紹介状が見つかりません")
    clinic = session.get(Clinic, letter.clinic_id)
    client = client_for(clinic) if clinic else None
    if client is None:
        raise DeliveryError("電子カルテ情報共有サービスの接続先が設定されていません")
    try:
        bundle = build_document(session, letter)
        client.register(bundle)
    except (MappingError, FhirValidationError) as exc:
        letter.share_status, letter.share_error = "refused", str(exc)[:2000]
        session.commit()
        raise PermanentDeliveryError(str(exc)) from exc
    except SharingError as exc:
        letter.share_status, letter.share_error = ("retrying" if exc.retryable else "refused"), exc.message_ja[:2000]
        session.commit()
        raise (DeliveryError if exc.retryable else PermanentDeliveryError)(exc.message_ja) from exc
    letter.share_status, letter.share_error, letter.shared_at = "shared", "", utcnow()
    letter.document_id = document_id(letter, clinic)
    record_audit(session, SYSTEM, "letter.shared", clinic_id=letter.clinic_id, entity_type="referral_letter",
                 entity_id=letter.id, patient_id=letter.patient_id, summary={"after": {"id": letter.document_id}})
    return {"document_id": letter.document_id}


def refresh_read_state(session: Session, letter: ReferralLetter) -> str | None:
    """Ask the service whether the recipient has read a shared letter; a Japanese note when it cannot say."""
    if letter.share_status != "shared" or letter.read_at is not None or not letter.document_id:
        return None
    client = client_for(session.get(Clinic, letter.clinic_id))
    if client is None:
        return None
    try:
        read_at = client.document_read_at(letter.document_id)
    except SharingError as exc:
        return f"既読状態を確認できませんでした: {exc.message_ja}"
    if read_at:
        letter.read_at = datetime.fromisoformat(read_at).replace(tzinfo=JST)
    return None


@dataclass
class ReceivedDocument:
    """A document another institution addressed to us about this patient."""

    document_id: str
    title: str
    date: str
    sender: str
    #: A 退院時サマリー or a 健康診断結果報告書 (registered for the patient) rather than a letter addressed to us.
    is_discharge: bool = False
    is_checkup: bool = False


def received_documents(session: Session, clinic: Clinic, patient: Any) -> tuple[list[ReceivedDocument], str | None]:
    """Letters other institutions sent us about this patient, and a Japanese note when they cannot be listed."""
    client = client_for(clinic)
    if client is None:
        return [], None
    try:
        member = member_id(patient)
        compositions = client.received_documents(member)
    except MappingError as exc:
        return [], str(exc)
    except SharingError as exc:
        return [], f"受け取った文書を確認できませんでした: {exc.message_ja}"
    found = [ReceivedDocument(c.get("id", ""), c.get("title", "文書"), str(c.get("date", ""))[:10],
                              next((s.get("text", {}).get("div", "") for s in c.get("section", [])
                                    if s.get("code", {}).get("coding", [{}])[0].get("code") == "920"), "")
                              or str((c.get("custodian") or {}).get("display") or ""),
                              is_discharge_summary({"entry": [{"resource": c}]}),
                              is_checkup_report({"entry": [{"resource": c}]}))
             for c in compositions]
    return found, None


def fetch_received(session: Session, clinic: Clinic, patient: Any, document_id_: str) -> dict[str, Any]:
    """One received document, checked to be about this patient twice: it must be among the documents the service
    lists for this patient before it is fetched (fetching marks it read at the service, so a document of another
    patient must never be fetched through this one's page), and its Patient must carry this patient's number."""
    client = client_for(clinic)
    if client is None:
        raise LetterError({"_form": "電子カルテ情報共有サービスの接続先が設定されていません"})
    try:
        member = member_id(patient)
    except MappingError as exc:
        raise LetterError({"_form": str(exc)}) from exc
    try:
        listed = {str(c.get("id", "")) for c in client.received_documents(member)}
        if document_id_ not in listed:
            raise LetterError({"_form": "この患者の文書ではありません"})
        bundle = client.fetch_document(document_id_)
    except SharingError as exc:
        raise LetterError({"_form": exc.message_ja}) from exc
    patients = [e["resource"] for e in bundle.get("entry", []) if e.get("resource", {}).get("resourceType")
                == "Patient"]
    if not any(i.get("value") == member for p in patients for i in p.get("identifier", [])):
        raise LetterError({"_form": "この患者の文書ではありません"})
    return bundle


def section_texts(bundle: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, plain text) of each section of a document, subsections flattened, for reading on screen."""
    def walk(sections: list[dict[str, Any]]) -> list[tuple[str, str]]:
        found = []
        for section in sections:
            div = (section.get("text") or {}).get("div", "")
            text = html.unescape(re.sub(r"<[^>]+>", "", div.replace("<br/>", "\n")))
            if div:
                found.append((section.get("title", ""), text))
            found += walk(section.get("section", []))
        return found

    composition = (bundle.get("entry") or [{}])[0].get("resource", {})
    return walk(composition.get("section", []))


register_handler(SHARE, deliver_share)
