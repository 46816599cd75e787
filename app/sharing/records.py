"""The clinic's own 6 information of a patient, read from our records and mapped to JP-CLINS resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.db import scoped
from app.diagnoses.models import Diagnosis, Disease
from app.diagnoses.services import current_diagnoses
from app.labs.models import LabResult
from app.patients.profile_models import Allergy, Contraindication, Infection
from app.prescriptions.models import ISSUED, Prescription, PrescriptionRp
from app.sharing import sources
from app.sharing.fhir import mapping
from app.sharing.models import REPLACED, WITHDRAWN, SharingRegistration
from app.sharing.registration import SUBJECTS


@dataclass
class OwnItem:
    """One of our records as the 6-information screen shows it (and as it is registered)."""

    kind: str
    title: str
    detail: str
    day: Any
    subject_type: str
    subject_id: int
    resources: list[dict[str, Any]] = field(default_factory=list)
    #: The item's lineage, for what can be marked 共有しない (all but a result the service gave us).
    lineage_id: int | None = None
    #: A mark on a group that withholds the item too: a lab result's order ("lab_order", id).
    group: tuple[str, int] | None = None

    def is_withheld(self, marks: set[tuple[str, int]]) -> bool:
        """Whether it is marked 共有しない, itself or through its group (`marks`: withheld_lineages)."""
        return (self.subject_type, self.lineage_id) in marks or self.group in marks


def _current(session: Session, model: Any, clinic_id: int, patient_id: int) -> list[Any]:
    return list(session.scalars(scoped(model, clinic_id).where(
        model.patient_id == patient_id, model.superseded_at.is_(None), model.retracted.is_(False))
        .order_by(model.recorded_at.desc())))


def own_items(session: Session, clinic: Any, patient: Any, *, with_resources: bool = True,
              check: bool = True) -> list[OwnItem]:
    """The patient's own 6 information (diagnoses, allergies, 薬剤禁忌, infections, lab results, prescriptions),
    each with its JP-CLINS resources when `with_resources` (MappingError without insurance); `check=False` when
    the caller validates them inside a bundle."""
    ctx = mapping.context_for(clinic, patient) if with_resources else None
    items: list[OwnItem] = []
    diagnoses = current_diagnoses(session, clinic.id, patient.id)
    diseases = {d.code: d for d in session.scalars(select(Disease).where(
        Disease.code.in_({x.disease_code for x in diagnoses})))} if diagnoses else {}
    for d in diagnoses:
        items.append(OwnItem("condition", d.display_name, f"{d.outcome_label} ICD-10 {d.icd10_display}".strip(),
                             d.started_on, "patient_diagnosis", d.id,
                             [mapping.condition_resource(d, ctx, diseases.get(d.disease_code), check=check)]
                             if ctx else [], d.lineage_id or d.id))
    for a in _current(session, Allergy, clinic.id, patient.id):
        kind = "drug_allergy" if a.category == "drug" else "other_allergy"
        items.append(OwnItem(kind, a.substance, a.reaction, a.onset_on or a.recorded_at.date(), "patient_allergy",
                             a.id, [mapping.allergy_resource(a, ctx, check=check)] if ctx else [],
                             a.lineage_id or a.id))
    for c in _current(session, Contraindication, clinic.id, patient.id):
        items.append(OwnItem("contraindication", c.substance, c.reason, c.recorded_at.date(),
                             "patient_contraindication", c.id,
                             [mapping.contraindication_resource(c, ctx, check=check)] if ctx else [],
                             c.lineage_id or c.id))
    for i in _current(session, Infection, clinic.id, patient.id):
        name = i.kind_other if i.kind == "other" else mapping.INFECTION_NAMES.get(i.kind, i.kind)
        items.append(OwnItem("infection", name, mapping.INFECTION_RESULTS.get(i.result, ("", i.result))[1],
                             i.tested_on or i.recorded_at.date(), "patient_infection", i.id,
                             [mapping.infection_resource(i, ctx, check=check)] if ctx else [], i.lineage_id or i.id))
    for r in sources.lab_results_for(session, clinic.id, patient.id):
        items.append(OwnItem("lab_result", r.name, f"{r.value} {r.unit}".strip(), r.effective.date(), "lab_result",
                             r.record_id, [mapping.lab_result_resource(r, ctx, check=check)] if ctx else [],
                             r.lineage_id or None, ("lab_order", r.order_id)))
    prescriptions = session.scalars(scoped(Prescription, clinic.id).where(
        Prescription.patient_id == patient.id, Prescription.status == ISSUED)
        .options(selectinload(Prescription.rps).selectinload(PrescriptionRp.lines))
        .order_by(Prescription.issued_at.desc()).limit(10))
    for p in prescriptions:
        names = "、".join(line.printed_name for rp in p.rps for line in rp.lines)
        items.append(OwnItem("medication", names, f"{p.doctor_name}", p.issued_on, "prescription", p.id,
                             mapping.medication_request_resources(p, ctx, check=check) if ctx else [], p.id))
    return items


def patient_bundle(session: Session, clinic: Any, patient: Any) -> dict[str, Any]:
    """The patient's whole 6 information as one validated JP_Bundle_CLINS collection."""
    ctx = mapping.context_for(clinic, patient)
    resources = [r for item in own_items(session, clinic, patient, check=False) for r in item.resources]
    return mapping.registration_bundle(mapping.patient_resource(patient, ctx, check=False), resources, ctx)


def changed_registrations(session: Session, clinic_id: int, patient_id: int) -> list[tuple[SharingRegistration, str]]:
    """A patient's items taken back from the service (withdrawn, or replaced by a corrected version), newest
    first, each with what the record was (e.g. a lab result's name, value and date), for the 6-information
    screen."""
    rows = list(session.scalars(select(SharingRegistration).where(
        SharingRegistration.clinic_id == clinic_id, SharingRegistration.patient_id == patient_id,
        SharingRegistration.status.in_((WITHDRAWN, REPLACED))).order_by(SharingRegistration.id.desc())))
    return [(r, _describe(session.get(SUBJECTS[r.subject_type], r.subject_id))) for r in rows
            if r.subject_type in SUBJECTS]


def _describe(record: Any) -> str:
    if record is None:
        return ""
    if isinstance(record, LabResult):
        return f"{record.name} {record.value}{record.unit}（{record.collected_on:%Y-%m-%d}採取）"
    if isinstance(record, Diagnosis):
        return record.display_name
    if isinstance(record, Allergy | Contraindication):
        return record.substance
    if isinstance(record, Infection):
        return mapping.INFECTION_NAMES.get(record.kind, record.kind)
    return f"処方（{record.issued_on:%Y-%m-%d}）" if getattr(record, "issued_on", None) else "処方"


def latest_by_subject(session: Session, clinic_id: int, patient_id: int) -> dict[tuple[str, int], SharingRegistration]:
    """The newest registration of each of a patient's records."""
    rows = session.scalars(select(SharingRegistration).where(
        SharingRegistration.clinic_id == clinic_id, SharingRegistration.patient_id == patient_id)
        .order_by(SharingRegistration.id))
    return {(r.subject_type, r.subject_id): r for r in rows}
