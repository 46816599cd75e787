"""Registering the clinic's own 6 information: when a record is confirmed, its save service calls
`record_confirmed`, which adds a SharingRegistration and an outbox message in the same transaction. The outbox
delivers it: the resource is built from the record and validated, sent as a JP_Bundle_CLINS collection, and the
service's answer kept on the registration (registered, or refused with its reason; timeouts and 5xx retried).

A registered item that later changes is changed at the service the way the service defines a change: 取消 of
the registered item (keyed by institution, the patient's insurance member ID and the resource instance
identifier), then 再登録 of the new version (MHLW 電子カルテ情報共有サービス システムベンダ向け技術解説書(案):
「登録済み情報の変更（情報の取消と再登録）」; a deletion is the 取消 alone). `replace_registered` queues that
for a new version of a registered record (a lab's correction or deletion of a result); the simulator speaks the
same through FHIR REST: conditional DELETE by identifier and patient.identifier, then POST of the new Bundle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from app.clinics.models import Clinic
from app.core.audit import SYSTEM, record_audit
from app.core.timeutil import JST
from app.db import in_chunks, scoped, utcnow
from app.diagnoses.models import Diagnosis, Disease
from app.integrations.sharing_service import SharingError
from app.labs.import_writing import on_results_written
from app.labs.models import LabResult
from app.outbox.models import OutboxMessage
from app.outbox.services import DeliveryError, PermanentDeliveryError, enqueue, message_subject, register_handler
from app.patients.models import Patient
from app.patients.profile_models import Allergy, Contraindication, Infection
from app.prescriptions.models import Prescription, PrescriptionRp
from app.sharing import sources
from app.sharing.fhir import mapping
from app.sharing.fhir.systems import INSURANCE_MEMBER, RESOURCE_INSTANCE
from app.sharing.fhir.validation import FhirValidationError
from app.sharing.models import (
    LIVE,
    REFUSED,
    REGISTERED,
    REPLACED,
    RETRYING,
    WITHDRAWN,
    SharingRegistration,
    SharingWithholding,
)
from app.sharing.services import client_for, settings_of

KIND = "sharing.register"
WITHHELD_REASON = "共有しないため送信しませんでした"
#: Tables whose confirmed rows are 6 information.
SUBJECTS: dict[str, Any] = {"patient_diagnosis": Diagnosis, "patient_allergy": Allergy,
                            "patient_contraindication": Contraindication, "patient_infection": Infection,
                            "prescription": Prescription, "lab_result": LabResult}
#: What a doctor may keep from the service (共有しない), by lineage: the 6 information's records, and a lab order
#: (all its results, those still to come included).
WITHHOLDABLE = ("patient_diagnosis", "patient_allergy", "patient_contraindication", "patient_infection",
                "lab_result", "prescription", "lab_order")


def _kind_of(record: Any) -> str:
    if isinstance(record, Allergy):
        return "drug_allergy" if record.category == "drug" else "other_allergy"
    return {Diagnosis: "condition", Contraindication: "contraindication", Infection: "infection",
            Prescription: "medication", LabResult: "lab_result"}[type(record)]


def record_confirmed(session: Session, record: Any, *, withheld: bool | None = None) -> SharingRegistration | None:
    """Hook for the save services: queue a confirmed record's registration (nothing when the clinic has no
    connection to the service, or the record is marked 共有しない — `withheld` when the caller already knows).
    Runs in the caller's transaction."""
    subject_type = record.__tablename__
    if subject_type not in SUBJECTS or (is_withheld(session, record) if withheld is None else withheld):
        return None
    clinic = session.get(Clinic, record.clinic_id)
    if clinic is None or not settings_of(clinic):
        return None
    registration = SharingRegistration(clinic_id=record.clinic_id, patient_id=record.patient_id,
                                       subject_type=subject_type, subject_id=record.id, kind=_kind_of(record))
    session.add(registration)
    session.flush()
    withdraw = bool(getattr(record, "retracted", False))  # 取消: the item leaves the service too
    message = enqueue(session, clinic_id=record.clinic_id, kind=KIND,
                      payload={"registration_id": registration.id, "withdraw": withdraw},
                      subject_type="sharing_registration", subject_id=registration.id, patient_id=record.patient_id,
                      idempotency_key=f"{KIND}:{record.clinic_id}:{registration.id}")
    registration.outbox_message_id = message.id
    return registration


def lineage_of(record: Any) -> int:
    """The id every version of a record shares (a prescription or a lab order has one version: its own id)."""
    return getattr(record, "lineage_id", None) or record.id


def _marks(record: Any) -> list[tuple[str, int]]:
    """The (table, lineage) marks that withhold a record: its own, and for a lab result its order's."""
    marks = [(record.__tablename__, lineage_of(record))]
    return marks + [("lab_order", record.order_id)] if isinstance(record, LabResult) else marks


def is_withheld(session: Session, record: Any) -> bool:
    """Whether a record is marked 共有しない (any version of it: the mark follows the item through corrections; a
    lab result also when its whole order is)."""
    if record is None or record.__tablename__ not in WITHHOLDABLE:
        return False
    return session.scalar(select(SharingWithholding.id).where(
        SharingWithholding.clinic_id == record.clinic_id,
        or_(*[(SharingWithholding.subject_type == table) & (SharingWithholding.lineage_id == lineage)
              for table, lineage in _marks(record)])).limit(1)) is not None


def live_registration(session: Session, subject_type: str, subject_id: int) -> SharingRegistration | None:
    """The newest registration of a record version if the item is (or is about to be) held at the service."""
    latest = session.scalars(select(SharingRegistration).where(
        SharingRegistration.subject_type == subject_type, SharingRegistration.subject_id == subject_id)
        .order_by(SharingRegistration.id.desc()).limit(1)).first()
    return latest if latest is not None and latest.status in LIVE else None


def replace_registered(session: Session, old: Any, new: Any, *, withdraw: bool) -> SharingRegistration | None:
    """Hook for a new version `new` of a record whose version `old` was registered: queue, in the caller's
    transaction, the 取消 of the registered item and (unless `withdraw`: deleted, or no longer shareable) the
    再登録 of the new version in its place. None when `old` is not held at the service (never registered,
    refused or already withdrawn): the caller then registers `new` as a new item, if it should be shared."""
    previous = live_registration(session, old.__tablename__, old.id)
    if previous is None:
        return None
    registration = SharingRegistration(clinic_id=new.clinic_id, patient_id=new.patient_id,
                                       subject_type=new.__tablename__, subject_id=new.id, kind=_kind_of(new))
    session.add(registration)
    session.flush()
    message = enqueue(session, clinic_id=new.clinic_id, kind=KIND,
                      payload={"registration_id": registration.id, "withdraw": withdraw, "replaces": previous.id},
                      subject_type="sharing_registration", subject_id=registration.id, patient_id=new.patient_id,
                      idempotency_key=f"{KIND}:{new.clinic_id}:{registration.id}")
    registration.outbox_message_id = message.id
    return registration


def record_changed(session: Session, old: Any, new: Any) -> SharingRegistration | None:
    """Hook for a correction or withdrawal (a new version `new` of a record whose version `old` may be held at the
    service): a change is 取消 of the registered item then 再登録 of the new version (a withdrawal: the 取消
    alone), as the service defines it; when `old` was never held there, the new version is registered as any
    confirmed record is."""
    replaced = replace_registered(session, old, new, withdraw=bool(getattr(new, "retracted", False)))
    return replaced if replaced is not None else record_confirmed(session, new)


def queue_lab_results(session: Session, clinic_id: int, result_ids: list[int], superseded: list[int]) -> None:
    """Queue the new final results (`result_ids`, just imported) for the 電子カルテ情報共有サービス (lab results are
    one of the 6 information), in the import's transaction; nothing when the clinic is not connected to the service.
    A new version of a result the service already holds (the lab corrected or deleted it) changes it there: 取消 of
    the registered version and, for a correction that is still shareable, 再登録 of the new one."""
    clinic = session.get(Clinic, clinic_id)
    if clinic is None or not settings_of(clinic):
        return
    since = datetime.now(JST).date() - sources.LAB_WINDOW  # an old result arriving late is kept here, not shared
    shareable = (LabResult.jlac10 != "") & LabResult.result_status.in_(("F", "C")) & (LabResult.collected_on >= since)
    marks = set(session.execute(select(SharingWithholding.subject_type, SharingWithholding.lineage_id).where(
        SharingWithholding.clinic_id == clinic_id, SharingWithholding.subject_type.in_(("lab_result", "lab_order")))
        ).tuples())  # one query for the import, not one a result
    handled: set[int] = set()
    if superseded:  # corrections are few: only their rows are read in full
        previous = {r.lineage_id: r for r, _ok in _lab_results(session, clinic_id, superseded, shareable)}
        for result, ok in _lab_results(session, clinic_id, result_ids, shareable, LabResult.version > 1):
            old = previous.get(result.lineage_id)
            withdraw = not ok or bool(marks.intersection(_marks(result)))
            if old is not None and replace_registered(session, old, result, withdraw=withdraw) is not None:
                handled.add(result.id)
    for result, _ok in _lab_results(session, clinic_id, result_ids, shareable, shareable):  # the shareable only
        if result.id not in handled:
            record_confirmed(session, result, withheld=bool(marks.intersection(_marks(result))))


def _lab_results(session: Session, clinic_id: int, ids: list[int], shareable: Any, *where: Any) -> list[Any]:
    """(result, shareable) for the clinic's lab results with these ids that match `where` (500 ids a query: an
    import writes thousands)."""
    found: list[Any] = []
    for chunk in in_chunks(ids):
        found += session.execute(select(LabResult, shareable).where(
            LabResult.clinic_id == clinic_id, LabResult.id.in_(chunk), *where)).tuples()
    return found


def _record(session: Session, registration: SharingRegistration) -> Any:
    model = SUBJECTS[registration.subject_type]
    query = scoped(model, registration.clinic_id).where(model.id == registration.subject_id)
    if model is Prescription:
        query = query.options(selectinload(Prescription.rps).selectinload(PrescriptionRp.lines))
    return session.scalar(query)


def build_registration_bundle(session: Session, registration: SharingRegistration, *,
                              check: bool = True) -> dict[str, Any]:
    """The validated JP_Bundle_CLINS of one registration (MappingError / FhirValidationError when it cannot be)."""
    clinic = session.get(Clinic, registration.clinic_id)
    patient = session.scalar(scoped(Patient, registration.clinic_id).where(Patient.id == registration.patient_id))
    record = _record(session, registration)
    if clinic is None or patient is None or record is None:
        raise mapping.MappingError("登録する記録が見つかりません")
    ctx = mapping.context_for(clinic, patient)
    # Each resource is built unchecked: registration_bundle validates the whole bundle once (checking each
    # resource here as well parsed every resource twice); a withdrawal needs only the identifiers.
    if isinstance(record, Diagnosis):
        resources = [mapping.condition_resource(record, ctx, session.get(Disease, record.disease_code), check=False)]
    elif isinstance(record, Allergy):
        resources = [mapping.allergy_resource(record, ctx, check=False)]
    elif isinstance(record, Contraindication):
        resources = [mapping.contraindication_resource(record, ctx, check=False)]
    elif isinstance(record, Infection):
        resources = [mapping.infection_resource(record, ctx, check=False)]
    elif isinstance(record, LabResult):
        resources = [mapping.lab_result_resource(sources.as_lab_result(record), ctx, check=False)]
    else:
        resources = mapping.medication_request_resources(record, ctx, check=False)
    patient_resource = mapping.patient_resource(patient, ctx, check=False)
    if not check:  # only the identifiers are needed (withdrawal): no validation of a withdrawn item's content
        return {"entry": [{"resource": r} for r in [patient_resource, *resources]]}
    return mapping.registration_bundle(patient_resource, resources, ctx,
                                       document_id=f"6info-{registration.id}")


def deliver_registration(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: build, validate and register; keep the outcome on the registration."""
    registration = message_subject(session, message, SharingRegistration, "registration_id",
                                   "登録の記録が見つかりません")

    def refuse(reason: str) -> PermanentDeliveryError:
        registration.status, registration.reason = REFUSED, reason[:2000]
        session.commit()  # the reason stays on the registration although the message fails for good
        return PermanentDeliveryError(reason)

    if registration.status in (REPLACED, WITHDRAWN) and not message.payload.get("withdraw"):
        # A newer version was put in its place (or it was taken back) before this message went out: sending it
        # now would bring the old value back at the service.
        return {"skipped": registration.status}
    # Marked 共有しない after this message was queued: nothing new goes out, and a change only takes the old back.
    withheld = not message.payload.get("withdraw") and is_withheld(session, _record(session, registration))
    if withheld and not message.payload.get("replaces"):
        registration.status, registration.reason = WITHDRAWN, WITHHELD_REASON
        return {"skipped": "withheld"}
    if message.payload.get("replaces"):
        return _replace(session, registration, message.payload["replaces"],
                        withheld or bool(message.payload.get("withdraw")), refuse)
    if message.payload.get("withdraw"):
        return _withdraw(session, registration, refuse)
    try:
        bundle = build_registration_bundle(session, registration)
    except FhirValidationError as exc:
        raise refuse("送信前の検証で不備が見つかりました: " + "、".join(exc.problems)) from exc
    except mapping.MappingError as exc:
        raise refuse(str(exc)) from exc
    clinic = session.get(Clinic, registration.clinic_id)
    client = client_for(clinic) if clinic else None
    if client is None:
        raise DeliveryError("電子カルテ情報共有サービスの接続先が設定されていません")
    try:
        locations = client.register(bundle, once=True)  # the Bundle identifier is this registration's own
    except SharingError as exc:
        if not exc.retryable:
            raise refuse(exc.message_ja) from exc
        registration.status, registration.reason = RETRYING, exc.message_ja[:2000]
        session.commit()
        raise DeliveryError(exc.message_ja) from exc
    registration.status, registration.reason, registration.registered_at = REGISTERED, "", utcnow()
    record_audit(session, SYSTEM, "sharing.registered", clinic_id=registration.clinic_id,
                 entity_type=registration.subject_type, entity_id=registration.subject_id,
                 patient_id=registration.patient_id, summary={"after": {"locations": locations}})
    return {"locations": locations}


def _client_or_retry(session: Session, registration: SharingRegistration) -> Any:
    clinic = session.get(Clinic, registration.clinic_id)
    client = client_for(clinic) if clinic else None
    if client is None:
        raise DeliveryError("電子カルテ情報共有サービスの接続先が設定されていません")
    return client


def _service_failed(session: Session, registration: SharingRegistration, exc: SharingError, refuse: Any) -> Exception:
    """The error to raise for a service answer: refused for good, or kept for a retry with its reason."""
    if not exc.retryable:
        return refuse(exc.message_ja)
    registration.status, registration.reason = RETRYING, exc.message_ja[:2000]
    session.commit()
    return DeliveryError(exc.message_ja)


def _withdraw_items(client: Any, bundle: dict[str, Any]) -> list[str]:
    """取消 of every item of a registration bundle at the service, keyed by instance identifier and member ID
    (idempotent: an item already gone is not an error)."""
    withdrawn = []
    for entry in bundle["entry"][1:]:
        resource = entry["resource"]
        instance = next(i["value"] for i in resource["identifier"] if i["system"] == RESOURCE_INSTANCE)
        holder = (resource.get("subject") or resource.get("patient") or {}).get("identifier") or {}
        member = holder.get("value", "") if holder.get("system") == INSURANCE_MEMBER else ""
        client.withdraw(resource["resourceType"], instance, member)
        withdrawn.append(instance)
    return withdrawn


def _bundle_as_sent(session: Session, registration: SharingRegistration, refuse: Any) -> dict[str, Any]:
    """The bundle of a registration as it was sent (not validated again), to take it back; refused when it can no
    longer be built."""
    try:
        return build_registration_bundle(session, registration, check=False)
    except mapping.MappingError as exc:
        raise refuse(str(exc)) from exc


def _withdraw(session: Session, registration: SharingRegistration, refuse: Any) -> dict[str, Any]:
    """Withdraw a withdrawn (取消) item at the service by its resource instance identifier."""
    bundle = _bundle_as_sent(session, registration, refuse)
    client = _client_or_retry(session, registration)
    try:
        withdrawn = _withdraw_items(client, bundle)
    except SharingError as exc:
        raise _service_failed(session, registration, exc, refuse) from exc
    registration.status, registration.reason, registration.registered_at = WITHDRAWN, "", utcnow()
    return {"withdrawn": withdrawn}


def _replace(session: Session, registration: SharingRegistration, previous_id: int, withdraw: bool,
             refuse: Any) -> dict[str, Any]:
    """A change at the service: 取消 of the previously registered version, then 再登録 of the new one (unless
    `withdraw`). A new version that cannot be registered (invalid) still has the old one taken back — the old
    value is wrong now — and is refused with its reason; a retry repeats both steps harmlessly."""
    previous = session.get(SharingRegistration, previous_id)
    if previous is None or previous.clinic_id != registration.clinic_id:
        raise refuse("置き換える登録の記録が見つかりません")
    invalid, bundle = None, None
    if not withdraw:
        try:
            bundle = build_registration_bundle(session, registration)
        except FhirValidationError as exc:
            invalid = "送信前の検証で不備が見つかりました: " + "、".join(exc.problems)
        except mapping.MappingError as exc:
            invalid = str(exc)
    old_bundle = _bundle_as_sent(session, previous, refuse)
    client = _client_or_retry(session, registration)
    try:
        withdrawn = _withdraw_items(client, old_bundle)
        locations = client.register(bundle, once=True) if bundle is not None else []
    except SharingError as exc:
        raise _service_failed(session, registration, exc, refuse) from exc
    now = utcnow()
    previous.status = REPLACED if bundle is not None else WITHDRAWN
    previous.reason = "新しい版に置き換えました" if bundle is not None else "取り下げました"
    if invalid is not None:
        previous.reason = "取り下げました（新しい版は登録できませんでした）"
        raise refuse(invalid)
    registration.registered_at = now
    if bundle is None:
        registration.status, registration.reason = WITHDRAWN, "前の版を取り下げました"
    else:
        registration.status, registration.reason = REGISTERED, "前の版を取り消して登録しました（変更）"
    record_audit(session, SYSTEM, "sharing.replaced" if bundle is not None else "sharing.withdrawn",
                 clinic_id=registration.clinic_id, entity_type=registration.subject_type,
                 entity_id=registration.subject_id, patient_id=registration.patient_id,
                 summary={"before": {"registration": previous.id, "withdrawn": withdrawn},
                          "after": {"locations": locations}})
    return {"withdrawn": withdrawn, "locations": locations}


register_handler(KIND, deliver_registration)


on_results_written(queue_lab_results)  # the results a lab import writes
