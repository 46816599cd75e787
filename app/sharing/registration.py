"""Registering the clinic's own 6 information: when a record is confirmed, its save service calls
`record_confirmed`, which adds a SharingRegistration and an outbox message in the same transaction. The outbox
delivers it: the resource is built from the record and validated, sent as a JP_Bundle_CLINS collection, and the
service's answer kept on the registration (registered, or refused with its reason; timeouts and 5xx retried)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.clinics.models import Clinic
from app.core.audit import SYSTEM, record_audit
from app.db import scoped, utcnow
from app.diagnoses.models import Diagnosis, Disease
from app.integrations.sharing_service import SharingError
from app.labs.models import LabResult
from app.outbox.models import OutboxMessage
from app.outbox.services import DeliveryError, PermanentDeliveryError, enqueue, register_handler
from app.patients.models import Patient
from app.patients.profile_models import Allergy, Contraindication, Infection
from app.prescriptions.models import Prescription, PrescriptionRp
from app.sharing import sources
from app.sharing.fhir import mapping
from app.sharing.fhir.systems import RESOURCE_INSTANCE
from app.sharing.fhir.validation import FhirValidationError
from app.sharing.models import REFUSED, REGISTERED, RETRYING, WITHDRAWN, SharingRegistration
from app.sharing.services import client_for, settings_of

KIND = "sharing.register"
#: Tables whose confirmed rows are 6 information.
SUBJECTS: dict[str, Any] = {"patient_diagnosis": Diagnosis, "patient_allergy": Allergy,
                            "patient_contraindication": Contraindication, "patient_infection": Infection,
                            "prescription": Prescription, "lab_result": LabResult}


def _kind_of(record: Any) -> str:
    if isinstance(record, Allergy):
        return "drug_allergy" if record.category == "drug" else "other_allergy"
    return {Diagnosis: "condition", Contraindication: "contraindication", Infection: "infection",
            Prescription: "medication", LabResult: "lab_result"}[type(record)]


def record_confirmed(session: Session, record: Any) -> SharingRegistration | None:
    """Hook for the save services: queue a confirmed record's registration (nothing when the clinic has no
    connection to the service, or the version withdraws the item). Runs in the caller's transaction."""
    subject_type = record.__tablename__
    if subject_type not in SUBJECTS:
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
                                       document_id=f"6info-{registration.subject_type}-{registration.subject_id}")


def deliver_registration(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: build, validate and register; keep the outcome on the registration."""
    registration = session.get(SharingRegistration, message.payload["registration_id"])
    if registration is None or registration.clinic_id != message.clinic_id:
        raise PermanentDeliveryError("登録の記録が見つかりません")

    def refuse(reason: str) -> PermanentDeliveryError:
        registration.status, registration.reason = REFUSED, reason[:2000]
        session.commit()  # the reason stays on the registration although the message fails for good
        return PermanentDeliveryError(reason)

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
        locations = client.register(bundle)
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


def _withdraw(session: Session, registration: SharingRegistration, refuse: Any) -> dict[str, Any]:
    """Withdraw a withdrawn (取消) item at the service by its resource instance identifier."""
    try:
        bundle = build_registration_bundle(session, registration, check=False)
    except mapping.MappingError as exc:
        raise refuse(str(exc)) from exc
    clinic = session.get(Clinic, registration.clinic_id)
    client = client_for(clinic) if clinic else None
    if client is None:
        raise DeliveryError("電子カルテ情報共有サービスの接続先が設定されていません")
    withdrawn = []
    try:
        for entry in bundle["entry"][1:]:
            resource = entry["resource"]
            instance = next(i["value"] for i in resource["identifier"] if i["system"] == RESOURCE_INSTANCE)
            client.withdraw(resource["resourceType"], instance)
            withdrawn.append(instance)
    except SharingError as exc:
        if not exc.retryable:
            raise refuse(exc.message_ja) from exc
        registration.status, registration.reason = RETRYING, exc.message_ja[:2000]
        session.commit()
        raise DeliveryError(exc.message_ja) from exc
    registration.status, registration.reason, registration.registered_at = WITHDRAWN, "", utcnow()
    return {"withdrawn": withdrawn}


def latest_by_subject(session: Session, clinic_id: int, patient_id: int) -> dict[tuple[str, int], SharingRegistration]:
    """The newest registration of each of a patient's records."""
    rows = session.scalars(select(SharingRegistration).where(
        SharingRegistration.clinic_id == clinic_id, SharingRegistration.patient_id == patient_id)
        .order_by(SharingRegistration.id))
    return {(r.subject_type, r.subject_id): r for r in rows}


register_handler(KIND, deliver_registration)
