"""Which of our records become which FHIR resources, under which ids — shared by the /fhir facade and the bulk
export/import (app/transfer). A resource id is `<prefix>-<our row id>` (a prescription's lines add `-<Rp>-<line>`),
so that ids of different tables never meet inside one resource type and a facade id names its table.

Each `Kind` builds the resources of a batch of rows with an `Env` (the batch's patients, disease master rows and
lab results, loaded once per batch — never one query per row)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.db import in_chunks
from app.diagnoses.models import Diagnosis, Disease
from app.documents.models import ReferralLetter
from app.imaging.models import KeyImage
from app.labs.models import LabOrder, LabResult
from app.notes.models import ProgressNote
from app.patients import profile_models as P
from app.patients.models import Patient
from app.prescriptions.models import Prescription, PrescriptionRp
from app.reception.models import Visit
from app.sharing.fhir import clinical, mapping
from app.sharing.fhir import systems as S
from app.sharing.sources import as_lab_result

#: The largest row id (the id columns are INTEGER: 32-bit on PostgreSQL); a larger one names nothing.
MAX_ID = 2**31 - 1
#: Where a document's file is found: (resource id, row) → URL (an export's relative path, the facade's Binary).
FileUrl = Callable[[str, Any], str]


@dataclass
class Env:
    """What a batch of rows needs to become resources."""

    clinic: Any
    patients: dict[int, Any] = field(default_factory=dict)
    diseases: dict[str, Any] = field(default_factory=dict)
    #: Lab order id → its current results' resource ids (for DiagnosticReport.result).
    order_results: dict[int, list[str]] = field(default_factory=dict)
    file_url: FileUrl = lambda rid, _row: f"Binary/{rid}"
    _contexts: dict[int, mapping.Context] = field(default_factory=dict)

    def context(self, patient_id: int) -> mapping.Context:
        """The JP-CLINS mapping context of a patient (member ID empty when there is no insurance)."""
        if patient_id not in self._contexts:
            patient = self.patients[patient_id]
            try:
                member = mapping.member_id(patient)
            except mapping.MappingError:
                member = ""
            department = (self.clinic.departments or [{}])[0] if self.clinic.departments else {}
            self._contexts[patient_id] = mapping.Context(self.clinic.institution_code, member,
                                                         patient.orca_patient_id, department.get("code") or "01",
                                                         department.get("name") or "内科")
        return self._contexts[patient_id]


def rid(prefix: str, row_id: int) -> str:
    """A resource id."""
    return f"{prefix}-{row_id}"


def pref(row: Any) -> str:
    """The resource id of the row's patient."""
    return rid("pt", row.patient_id)


@dataclass(frozen=True)
class Kind:
    """One table as one kind of resource."""

    prefix: str
    model: Any
    resource_type: str
    build: Callable[[Any, Env], list[dict[str, Any]]]
    #: Whether its resources carry the record (the export's primary kind of the table; derived kinds do not).
    primary: bool = True
    #: Columns naming another exported row → that kind's prefix (the import maps them to the new rows).
    refs: tuple[tuple[str, str], ...] = ()
    #: The column its _lastUpdated is read from; the column `date` searches.
    updated: str = "recorded_at"
    date: str = "recorded_at"
    #: Only the current version is served by the facade (versioned records).
    versioned: bool = True


def _patient(row: Patient, env: Env) -> list[dict[str, Any]]:
    resource = mapping.patient_resource(row, env.context(row.id), check=False)
    extra = {"telecom": [{"system": "phone", "value": row.phone}] if row.phone else [],
             "address": [{"text": row.address, "postalCode": row.postal_code}] if row.address else []}
    return [clinical.rest({**resource, **extra}, rid("pt", row.id), None, S.CORE_PATIENT, row.updated_at)]


def _ecs(build: Callable[..., dict[str, Any]], prefix: str, profile: str) -> Callable[[Any, Env], list[dict]]:
    def made(row: Any, env: Env) -> list[dict[str, Any]]:
        return [clinical.rest(build(row, env), rid(prefix, row.id), pref(row), profile, row.recorded_at)]
    return made


def _condition(row: Diagnosis, env: Env) -> dict[str, Any]:
    return mapping.condition_resource(row, env.context(row.patient_id), env.diseases.get(row.disease_code),
                                      check=False)


def _lab(row: LabResult, env: Env) -> list[dict[str, Any]]:
    resource = mapping.lab_result_resource(as_lab_result(row), env.context(row.patient_id), check=False)
    resource["status"] = {"F": "final", "C": "corrected", "P": "preliminary", "X": "cancelled"}.get(
        row.result_status, "final")
    if row.reference_range:
        resource["referenceRange"] = [{"text": row.reference_range}]
    if row.flag in ("H", "L", "HH", "LL", "N", "A"):
        resource["interpretation"] = [{"coding": [{"system": S.INTERPRETATION, "code": row.flag}]}]
    if row.comment:
        resource["note"] = [{"text": row.comment}]
    return [clinical.rest(resource, rid("lab", row.id), pref(row), S.CORE_LAB_RESULT, row.recorded_at)]


def _prescription(row: Prescription, env: Env) -> list[dict[str, Any]]:
    found = []
    for resource in mapping.medication_request_resources(row, env.context(row.patient_id), check=False):
        numbers = {i["system"]: i["value"] for i in resource["identifier"]}
        resource["groupIdentifier"] = {"value": rid("rx", row.id)}
        found.append(clinical.rest(resource, f"rx-{row.id}-{numbers[S.RP_GROUP]}-{numbers[S.RP_INDEX]}",
                                   pref(row), S.CORE_MEDICATION_REQUEST, row.issued_at))
    return found


def _order_tests(order: LabOrder) -> list[str]:
    return [item.get("name", "") for specimen in order.specimens for item in specimen.items or []]


def _profile(kind: str, label: str, value: Callable[[Any], str], effective: str | None = None
             ) -> Callable[[Any, Env], list[dict]]:
    def made(row: Any, _env: Env) -> list[dict[str, Any]]:
        return [clinical.profile_observation(kind, label, value(row), rid(PREFIX_OF[type(row)], row.id), pref(row),
                                             row.recorded_at, getattr(row, effective) if effective else None,
                                             getattr(row, "notes", ""))]
    return made


KINDS: tuple[Kind, ...] = (
    Kind("pt", Patient, "Patient", _patient, updated="updated_at", date="birth_date", versioned=False),
    Kind("visit", Visit, "Encounter",
         lambda r, e: [clinical.encounter_resource(r, rid("visit", r.id), pref(r))],
         updated="updated_at", date="visit_date", versioned=False),
    Kind("img", KeyImage, "DocumentReference",
         lambda r, e: [clinical.key_image_document(r, rid("img", r.id), pref(r), e.file_url(rid("img", r.id), r))]),
    Kind("study", KeyImage, "ImagingStudy",
         lambda r, e: [clinical.imaging_study_resource(r, rid("study", r.id), pref(r))], primary=False,
         date="study_date"),
    Kind("order", LabOrder, "ServiceRequest",
         lambda r, e: [clinical.service_request_resource(r, rid("order", r.id), pref(r), _order_tests(r))],
         updated="ordered_at", date="ordered_on", versioned=False),
    Kind("report", LabOrder, "DiagnosticReport",
         lambda r, e: [clinical.diagnostic_report_resource(r, rid("report", r.id), rid("order", r.id), pref(r),
                                                           e.order_results.get(r.id, []), r.ordered_at)]
         if e.order_results.get(r.id) else [], primary=False, updated="ordered_at", date="ordered_on",
         versioned=False),
    Kind("lab", LabResult, "Observation", _lab, refs=(("order_id", "order"),), date="collected_on"),
    Kind("vs", P.VitalSign, "Observation",
         lambda r, e: [clinical.vital_signs_resource(r, rid("vs", r.id), pref(r))], date="measured_at"),
    Kind("inf", P.Infection, "Observation",
         _ecs(lambda r, e: mapping.infection_resource(r, e.context(r.patient_id), check=False), "inf",
              S.CORE_OBSERVATION), date="tested_on"),
    Kind("bt", P.BloodType, "Observation",
         _profile("blood-type", "血液型", lambda r: f"{r.abo} Rh{r.rh}", "confirmed_on")),
    Kind("dis", P.Disability, "Observation",
         _profile("disability", "障害", lambda r: f"{r.kind} {r.grade} {r.certificate_number}".strip())),
    Kind("care", P.CareLevel, "Observation",
         _profile("care-level", "要介護度", lambda r: r.level, "valid_from")),
    Kind("preg", P.Pregnancy, "Observation",
         _profile("pregnancy", "妊娠・授乳", lambda r: r.status, "since"), date="since"),
    Kind("dx", Diagnosis, "Condition", _ecs(_condition, "dx", S.CORE_CONDITION), date="started_on"),
    Kind("hx", P.PastHistory, "Condition",
         lambda r, e: [clinical.past_history_resource(r, rid("hx", r.id), pref(r))]),
    Kind("alg", P.Allergy, "AllergyIntolerance",
         _ecs(lambda r, e: mapping.allergy_resource(r, e.context(r.patient_id), check=False), "alg",
              S.CORE_ALLERGY)),
    Kind("ci", P.Contraindication, "AllergyIntolerance",
         _ecs(lambda r, e: mapping.contraindication_resource(r, e.context(r.patient_id), check=False), "ci",
              S.CORE_ALLERGY)),
    Kind("vac", P.Vaccination, "Immunization",
         lambda r, e: [clinical.immunization_resource(r, rid("vac", r.id), pref(r))], date="administered_on"),
    Kind("rx", Prescription, "MedicationRequest", _prescription, refs=(("replaces_id", "rx"),),
         updated="issued_at", date="issued_on", versioned=False),
    Kind("note", ProgressNote, "DocumentReference",
         lambda r, e: [clinical.note_document(r, rid("note", r.id), pref(r))],
         refs=(("visit_id", "visit"), ("key_image_ids", "img")), date="note_date"),
    Kind("letter", ReferralLetter, "DocumentReference",
         lambda r, e: [clinical.letter_document(r, rid("letter", r.id), pref(r),
                                                e.file_url(rid("letter", r.id), r))],
         refs=(("key_image_ids", "img"),), updated="updated_at", date="written_on", versioned=False),
)
BY_PREFIX = {k.prefix: k for k in KINDS}
PREFIX_OF = {k.model: k.prefix for k in KINDS if k.primary}
RESOURCE_TYPES = tuple(dict.fromkeys(k.resource_type for k in KINDS))
#: The facade's resource types (the issue's list) and the kinds each is read from.
FACADE_TYPES = ("Patient", "Encounter", "Condition", "AllergyIntolerance", "Observation", "MedicationRequest",
                "ServiceRequest", "DiagnosticReport", "DocumentReference", "ImagingStudy")


def kinds_of(resource_type: str) -> list[Kind]:
    """The kinds whose resources are of a type."""
    return [k for k in KINDS if k.resource_type == resource_type]


def split_id(resource_id: str) -> tuple[Kind, int] | None:
    """The kind and row id a resource id names, or None for an id we never give."""
    prefix, _, rest = resource_id.partition("-")
    number = rest.split("-", 1)[0]
    kind = BY_PREFIX.get(prefix)
    if kind is None or not number.isdigit() or len(number) > 10 or int(number) > MAX_ID:
        return None
    return kind, int(number)


def options_for(kind: Kind) -> list[Any]:
    """Loader options so a batch of rows reads its children in a few queries."""
    if kind.model is Prescription:
        return [selectinload(Prescription.rps).selectinload(PrescriptionRp.lines)]
    if kind.model is LabOrder:
        return [selectinload(LabOrder.specimens)]
    return []


def load_env(session: Session, clinic: Any, rows: list[Any], file_url: FileUrl | None = None) -> Env:
    """The Env of a batch of rows of any kinds: their patients, the disease rows of diagnoses, the results of
    lab orders."""
    env = Env(clinic=clinic, **({"file_url": file_url} if file_url else {}))
    env.patients.update({r.id: r for r in rows if isinstance(r, Patient)})
    patient_ids = sorted({r.patient_id for r in rows if not isinstance(r, Patient)} - set(env.patients))
    for chunk in in_chunks(patient_ids):
        env.patients.update({p.id: p for p in session.scalars(select(Patient).where(
            Patient.clinic_id == clinic.id, Patient.id.in_(chunk)))})
    codes = sorted({r.disease_code for r in rows if isinstance(r, Diagnosis)})
    for chunk in in_chunks(codes):
        env.diseases.update({d.code: d for d in session.scalars(select(Disease).where(Disease.code.in_(chunk)))})
    order_ids = sorted({r.id for r in rows if isinstance(r, LabOrder)})
    for chunk in in_chunks(order_ids):
        for result_id, order_id in session.execute(select(LabResult.id, LabResult.order_id).where(
                LabResult.clinic_id == clinic.id, LabResult.order_id.in_(chunk), LabResult.superseded_at.is_(None),
                LabResult.retracted.is_(False)).order_by(LabResult.id)):
            env.order_results.setdefault(order_id, []).append(rid("lab", result_id))
    return env
