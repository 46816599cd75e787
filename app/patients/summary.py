"""The patient summary — the page a patient link opens: what a doctor glances at before the patient sits down.

Every section reads our own database only, one bounded query each (LIMIT, or a date window), so the page costs
the same number of queries for a patient of ten years as for a new one (tests/patients/test_summary.py counts
them). Other institutions' medicines come from the stored copy of the last 6-information fetch, never from a call
to the service; images from the key images kept here, never from the PACS.

Clerks (and administrators) get the reception and insurance part only: the clinical sections are not even read
for them (role check here, not in the template).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from app.core.security import role_may
from app.core.versioning import current_of
from app.diagnoses.models import Diagnosis
from app.documents.models import ReferralLetter
from app.imaging.models import KeyImage
from app.labs.models import ORDER_STATES, LabOrder, LabResult
from app.patients.profile import VITAL_MEASURES
from app.patients.profile_forms import KINDS
from app.patients.profile_models import VitalSign
from app.patients.safety import read_other_medicines
from app.prescriptions.models import ISSUED, Prescription
from app.prescriptions.services import CurrentMedicine, current_medicines
from app.reception.models import Visit
from app.reception.services import patient_visits_on
from app.sharing.medications import RECENT_DAYS
from app.sharing.services import consent_problem, current_consent, settings_of

#: How many rows a section shows at most (the section links to its screen for the rest).
DIAGNOSES_SHOWN = 12
RESULTS_SHOWN = 24
LETTERS_SHOWN = 5
KEY_IMAGES_SHOWN = 4
VITAL_ENTRIES_READ = 12
OPEN_ORDERS_SHOWN = 10
#: A prescription still waiting for the 電子処方箋管理サービス or ORCA is looked for this far back.
OPEN_PRESCRIPTION_DAYS = 90
#: The states of a prescription's delivery that are not done: waiting to be sent, or refused.
PRESCRIPTION_PENDING = {"sending": "送信待ち", "rejected": "受け付けられませんでした"}
#: Vitals shown, in order (blood pressure is one line of two values).
VITAL_LINES = ("systolic", "pulse", "temperature_c", "spo2", "weight_kg")


@dataclass(frozen=True)
class VitalLine:
    """One measure: its last value, the one before, and which way it went (↑ ↓ →; "" with no earlier value)."""

    name: str
    label: str
    unit: str
    value: float
    measured_at: datetime
    previous: float | None
    paired: tuple[float, float | None] | None = None  # the diastolic beside the systolic

    @property
    def arrow(self) -> str:
        """↑ higher than last time, ↓ lower, → the same; "" when there is no earlier value."""
        if self.previous is None:
            return ""
        return "↑" if self.value > self.previous else "↓" if self.value < self.previous else "→"

    @property
    def arrow_words(self) -> str:
        """The arrow in words, for screen readers (the arrow is never the only signal)."""
        return {"↑": "前回より上昇", "↓": "前回より低下", "→": "前回と同じ", "": "前回値なし"}[self.arrow]


@dataclass(frozen=True)
class OpenPrescription:
    """An issued prescription whose delivery is not finished (電子処方箋 or ORCA): what is waiting."""

    id: int
    issued_on: date
    waiting: list[str]


@dataclass
class Summary:
    """Everything the page shows; `clinical` is False for roles that see only reception and insurance."""

    clinical: bool
    todays_visits: list[Visit] = field(default_factory=list)
    diagnoses: list[Any] = field(default_factory=list)
    more_diagnoses: bool = False
    medicines: list[CurrentMedicine] = field(default_factory=list)
    other_medicines: list[Any] = field(default_factory=list)
    #: Why other institutions' medicines are not shown ("" when they are, or there are none).
    other_medicines_note: str = ""
    vitals: list[VitalLine] = field(default_factory=list)
    lab_day: date | None = None
    lab_results: list[Any] = field(default_factory=list)
    open_lab_orders: list[Any] = field(default_factory=list)
    open_prescriptions: list[OpenPrescription] = field(default_factory=list)
    letters: list[Any] = field(default_factory=list)
    key_images: list[Any] = field(default_factory=list)

    @property
    def has_open_orders(self) -> bool:
        """Whether any order is still open."""
        return bool(self.open_lab_orders or self.open_prescriptions)


def build_summary(session: Session, clinic: Any, role: str, patient: Any, today: date) -> Summary:
    """The summary of one of the clinic's patients as `role` may see it."""
    summary = Summary(clinical=role_may(role, "clinical.read"))
    summary.todays_visits = patient_visits_on(session, clinic.id, patient.id, today)
    if not summary.clinical:
        return summary
    keys = {"clinic_id": clinic.id, "patient_id": patient.id}
    summary.diagnoses = _diagnoses(session, keys)
    summary.more_diagnoses = len(summary.diagnoses) > DIAGNOSES_SHOWN
    summary.diagnoses = summary.diagnoses[:DIAGNOSES_SHOWN]
    summary.medicines = _one_line_a_drug(current_medicines(session, clinic.id, patient.id, today))
    _other_medicines(session, clinic, patient.id, today, summary)
    summary.vitals = _vitals(session, keys)
    summary.lab_day, summary.lab_results = _newest_results(session, keys)
    summary.open_lab_orders = _open_lab_orders(session, keys)
    summary.open_prescriptions = _open_prescriptions(session, keys, today)
    summary.letters = _letters(session, keys)
    summary.key_images = _key_images(session, keys)
    return summary


def _diagnoses(session: Session, keys: dict[str, Any]) -> list[Any]:
    """Continuing diagnoses, the main ones first, then the newest (one more than shown: is there more?)."""
    return list(session.execute(_DIAGNOSES, keys))


def _one_line_a_drug(medicines: list[CurrentMedicine]) -> list[CurrentMedicine]:
    """A drug prescribed again before the last supply ran out is one line: the newest prescription's, to its end."""
    newest: dict[str, CurrentMedicine] = {}
    for medicine in medicines:  # oldest first
        newest[medicine.drug_receipt_code or medicine.name] = medicine
    return sorted(newest.values(), key=lambda m: m.name)


def _other_medicines(session: Session, clinic: Any, patient_id: int, today: date, summary: Summary) -> None:
    """Other institutions' medicines from the stored copy of the last 6-information fetch, with the consent."""
    if not settings_of(clinic):
        summary.other_medicines_note = "電子カルテ情報共有サービスに接続していないため、他院の処方は表示できません"
        return
    if consent_problem(current_consent(session, clinic.id, patient_id), today):
        summary.other_medicines_note = "情報共有への同意が有効でないため、他院の処方は表示していません"
        return
    # As the prescription checks take them: prescribed within the usual longest supply (the entries carry no days).
    since = (today - timedelta(days=RECENT_DAYS)).isoformat()
    summary.other_medicines = [m for m in read_other_medicines(session, clinic.id, patient_id, today)
                               if m.day and since <= m.day <= today.isoformat()]


def _vitals(session: Session, keys: dict[str, Any]) -> list[VitalLine]:
    """Each measure's last value and the one before, from the newest entries."""
    entries = list(session.scalars(_VITALS, keys))
    found: dict[str, list[tuple[float, datetime]]] = {name: [] for name in VITAL_MEASURES}
    for entry in entries:
        for name in VITAL_MEASURES:
            value = getattr(entry, name)
            if value is not None and len(found[name]) < 2:
                found[name].append((value, entry.measured_at))
    specs = {spec.name: spec for spec in KINDS["vitals"].fields}
    lines = []
    for name in VITAL_LINES:
        if not found[name]:
            continue
        (value, at), previous = found[name][0], (found[name][1][0] if len(found[name]) > 1 else None)
        label, paired = specs[name].label, None
        if name == "systolic":
            label = "血圧"
            low = found["diastolic"]
            paired = (low[0][0], low[1][0] if len(low) > 1 else None) if low else None
        lines.append(VitalLine(name, label, specs[name].unit, value, at, previous, paired))
    return lines


def _newest_results(session: Session, keys: dict[str, Any]) -> tuple[date | None, list[Any]]:
    """The results of the newest day a specimen was taken (current versions), H/L flags included."""
    rows = list(session.execute(_NEWEST_RESULTS, keys))
    return (rows[0].collected_on if rows else None), rows


def _open_lab_orders(session: Session, keys: dict[str, Any]) -> list[Any]:
    """Lab orders whose results are not all in (and not cancelled), oldest first."""
    return [(row, ORDER_STATES.get(row.status, row.status)) for row in session.execute(_OPEN_LAB_ORDERS, keys)]


def _open_prescriptions(session: Session, keys: dict[str, Any], today: date) -> list[OpenPrescription]:
    """Issued prescriptions of the last OPEN_PRESCRIPTION_DAYS days still waiting to reach the 電子処方箋管理サービス
    or ORCA (or refused by them)."""
    rows = session.execute(_OPEN_PRESCRIPTIONS, {**keys, "since": today - timedelta(days=OPEN_PRESCRIPTION_DAYS)})
    found = []
    for row in rows:
        waiting = []
        if row.eprescription_status in PRESCRIPTION_PENDING:
            waiting.append(f"電子処方箋: {PRESCRIPTION_PENDING[row.eprescription_status]}")
        if row.orca_billing_status in PRESCRIPTION_PENDING:
            waiting.append(f"ORCA: {PRESCRIPTION_PENDING[row.orca_billing_status]}")
        found.append(OpenPrescription(row.id, row.issued_on, waiting))
    return found


def _letters(session: Session, keys: dict[str, Any]) -> list[Any]:
    """The newest referral letters written here (drafts too: a draft is work left to do)."""
    return list(session.execute(_LETTERS, keys))


def _key_images(session: Session, keys: dict[str, Any]) -> list[Any]:
    """The newest key images kept here (their bytes are not read: the page asks for each image)."""
    return list(session.execute(_KEY_IMAGES, keys))


# Each section's statement, built once with the clinic and the patient as bound parameters: a patient page runs
# them all, and building a statement and its cache key anew cost several times what running it did.
_DIAGNOSES = (
    select(Diagnosis.lineage_id, Diagnosis.display_name, Diagnosis.started_on, Diagnosis.is_main,
           Diagnosis.is_suspected, Diagnosis.icd10)
    .where(*current_of(Diagnosis), Diagnosis.outcome == "continuing")
    .order_by(Diagnosis.is_main.desc(), Diagnosis.started_on.desc(), Diagnosis.id.desc())
    .limit(DIAGNOSES_SHOWN + 1))
_VITALS = (select(VitalSign).where(*current_of(VitalSign))
           .order_by(VitalSign.measured_at.desc(), VitalSign.id.desc()).limit(VITAL_ENTRIES_READ))
_NEWEST_RESULTS = (
    select(LabResult.collected_on, LabResult.lineage_id, LabResult.name, LabResult.value, LabResult.unit,
           LabResult.flag, LabResult.reference_range, LabResult.result_status)
    .where(*current_of(LabResult),
           LabResult.collected_on == select(func.max(LabResult.collected_on)).where(*current_of(LabResult))
           .scalar_subquery())
    .order_by(LabResult.lab_code, LabResult.sub_id, LabResult.id).limit(RESULTS_SHOWN + 1))
_OPEN_LAB_ORDERS = (
    select(LabOrder.id, LabOrder.order_number, LabOrder.ordered_on, LabOrder.status)
    .where(LabOrder.clinic_id == bindparam("clinic_id"), LabOrder.patient_id == bindparam("patient_id"),
           LabOrder.status.not_in(("complete", "cancelled")), LabOrder.cancelled_at.is_(None))
    .order_by(LabOrder.ordered_on, LabOrder.id).limit(OPEN_ORDERS_SHOWN))
_OPEN_PRESCRIPTIONS = (
    select(Prescription.id, Prescription.issued_on, Prescription.eprescription_status,
           Prescription.orca_billing_status)
    .where(Prescription.clinic_id == bindparam("clinic_id"), Prescription.patient_id == bindparam("patient_id"),
           Prescription.status == ISSUED, Prescription.issued_on >= bindparam("since"),
           (Prescription.eprescription_status.in_(PRESCRIPTION_PENDING)
            | Prescription.orca_billing_status.in_(PRESCRIPTION_PENDING)))
    .order_by(Prescription.issued_on.desc(), Prescription.id.desc()).limit(OPEN_ORDERS_SHOWN))
_LETTERS = (
    select(ReferralLetter.id, ReferralLetter.to_institution, ReferralLetter.to_department,
           ReferralLetter.written_on, ReferralLetter.status, ReferralLetter.sent_at, ReferralLetter.share_status)
    .where(ReferralLetter.clinic_id == bindparam("clinic_id"), ReferralLetter.patient_id == bindparam("patient_id"))
    .order_by(ReferralLetter.written_on.desc(), ReferralLetter.id.desc()).limit(LETTERS_SHOWN))
_KEY_IMAGES = (
    select(KeyImage.id, KeyImage.caption, KeyImage.study_date, KeyImage.modality, KeyImage.study_description)
    .where(*current_of(KeyImage))
    .order_by(KeyImage.study_date.desc(), KeyImage.id.desc()).limit(KEY_IMAGES_SHOWN))
