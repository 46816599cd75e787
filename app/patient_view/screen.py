"""What the patient screen shows of one patient: each chosen section read with one bounded query (the screen costs
the same for a patient of ten years as for a new one), in plain words from our wording tables."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from app.diagnoses.models import Diagnosis
from app.documents.addressing import addressee
from app.documents.models import FINAL, ReferralLetter
from app.labs.models import LabOrder, LabResult, LabSpecimen
from app.patient_view.charts import trend_svg
from app.patient_view.choice import Choice
from app.patient_view.medicines import Medicine, current_medicines_with_usage
from app.patient_view.wording import diagnosis_wording, lab_wording
from app.patients.profile_models import Allergy

DIAGNOSES_SHOWN = 20
ALLERGIES_SHOWN = 20
#: Tests of the newest day shown, and the days of specimens a trend chart draws (the newest).
LAB_TESTS_SHOWN = 20
TREND_POINTS = 8
UPCOMING_SHOWN = 10
LETTERS_OFFERED = 10
ALLERGY_KINDS = {"drug": "お薬", "food": "食べ物", "other": "そのほか"}
SEVERITY_WORDS = {"mild": "軽い", "moderate": "中くらい", "severe": "重い",
                  "anaphylaxis": "とても重い（アナフィラキシー）", "unknown": ""}
FLAG_WORDS = {"H": "基準より高め", "HH": "基準よりかなり高い", "L": "基準より低め", "LL": "基準よりかなり低い",
              "A": "基準と違います"}


@dataclass(frozen=True)
class DiagnosisLine:
    """A current diagnosis: our plain words when we have them, else its own name."""

    plain: str
    explanation: str
    recorded_name: str
    is_suspected: bool
    started_on: date | None


@dataclass(frozen=True)
class AllergyLine:
    """An allergy in plain words."""

    kind: str
    substance: str
    reaction: str
    severity: str


@dataclass(frozen=True)
class LabLine:
    """One test of the newest day: its value, range, what it means, and its trend."""

    name: str
    explanation: str
    value: str
    unit: str
    reference_range: str
    flag_words: str
    chart: Markup | None


@dataclass(frozen=True)
class UpcomingTest:
    """A lab order whose specimens are taken today or later: the day and the tests."""

    day: date
    tests: list[tuple[str, str]]


@dataclass(frozen=True)
class LetterView:
    """The referral letter being sent and to whom."""

    to_institution: str
    to_department: str
    to_doctor: str
    purpose: str
    author_name: str
    written_on: date


@dataclass(frozen=True)
class PatientScreen:
    """Everything the patient screen (and its print-out) shows; a section not chosen is empty and was not read."""

    choice: Choice
    #: The day shown (it tells today's medicines from the others).
    today: date
    diagnoses: list[DiagnosisLine]
    allergies: list[AllergyLine]
    #: Today's and the continuing ones, today's first.
    medicines: list[Medicine]
    #: The newest day a specimen was taken, and its tests.
    lab_day: date | None
    labs: list[LabLine]
    #: Lab orders for today or later.
    upcoming: list[UpcomingTest]
    letter: LetterView | None

    @property
    def todays_medicines(self) -> list[Medicine]:
        """Medicines prescribed today."""
        return [m for m in self.medicines if m.issued_on == self.today]

    @property
    def continuing_medicines(self) -> list[Medicine]:
        """Medicines from earlier prescriptions still being taken."""
        return [m for m in self.medicines if m.issued_on != self.today]


def build_screen(session: Session, clinic_id: int, patient_id: int, choice: Choice, today: date) -> PatientScreen:
    """The chosen sections of one of the clinic's patients (the caller has checked the patient is the clinic's)."""
    keys = {"clinic_id": clinic_id, "patient_id": patient_id}
    chosen = set(choice.sections)
    lab_day, labs = _labs(session, keys) if "labs" in chosen else (None, [])
    return PatientScreen(
        choice, today,
        diagnoses=_diagnoses(session, keys) if "diagnoses" in chosen else [],
        allergies=_allergies(session, keys) if "allergies" in chosen else [],
        medicines=current_medicines_with_usage(session, clinic_id, patient_id, today) if "medicines" in chosen else [],
        lab_day=lab_day, labs=labs,
        upcoming=_upcoming(session, keys, today) if "tests" in chosen else [],
        letter=(find_letter(session, clinic_id, patient_id, choice.letter_id)
                if "letter" in chosen and choice.letter_id is not None else None))


#: The section reads are built once, their clinic, patient and day bound at each showing: every screen of every
#: tablet runs them (building them cost SQLAlchemy as much again as running them).
_CLINIC, _PATIENT = bindparam("clinic_id"), bindparam("patient_id")


def _current(model: Any) -> list[Any]:
    return [model.clinic_id == _CLINIC, model.patient_id == _PATIENT, model.superseded_at.is_(None),
            model.retracted.is_(False)]


_DIAGNOSES = (select(Diagnosis.disease_code, Diagnosis.display_name, Diagnosis.is_suspected, Diagnosis.started_on)
              .where(*_current(Diagnosis), Diagnosis.outcome == "continuing")
              .order_by(Diagnosis.is_main.desc(), Diagnosis.started_on.desc(), Diagnosis.id.desc())
              .limit(DIAGNOSES_SHOWN))
_ALLERGIES = (select(Allergy.category, Allergy.substance, Allergy.reaction, Allergy.severity)
              .where(*_current(Allergy)).order_by(Allergy.id).limit(ALLERGIES_SHOWN))
_LAB_DAYS = (select(LabResult.collected_on).where(*_current(LabResult)).distinct()
             .order_by(LabResult.collected_on.desc()).limit(TREND_POINTS).subquery())
_LABS = (select(LabResult.collected_on, LabResult.lab_code, LabResult.jlac10, LabResult.name, LabResult.value,
                LabResult.numeric_value, LabResult.unit, LabResult.reference_range, LabResult.flag, LabResult.sub_id,
                LabResult.id)
         .where(*_current(LabResult), LabResult.collected_on >= select(func.min(_LAB_DAYS.c.collected_on))
                .scalar_subquery(), LabResult.result_status != "X")
         .order_by(LabResult.collected_on, LabResult.id))
_UPCOMING_ORDERS = (select(LabOrder.id, LabOrder.ordered_on)
                    .where(LabOrder.clinic_id == _CLINIC, LabOrder.patient_id == _PATIENT,
                           LabOrder.ordered_on >= bindparam("today"), LabOrder.cancelled_at.is_(None),
                           LabOrder.status.not_in(("complete", "cancelled", "rejected")))
                    .order_by(LabOrder.ordered_on, LabOrder.id).limit(UPCOMING_SHOWN).subquery())
#: The orders with their specimens' tests, in one query.
_UPCOMING = (select(_UPCOMING_ORDERS.c.id, _UPCOMING_ORDERS.c.ordered_on, LabSpecimen.items)
             .select_from(_UPCOMING_ORDERS.outerjoin(LabSpecimen, LabSpecimen.order_id == _UPCOMING_ORDERS.c.id))
             .order_by(_UPCOMING_ORDERS.c.ordered_on, _UPCOMING_ORDERS.c.id, LabSpecimen.seq))
_LETTER = select(ReferralLetter).where(ReferralLetter.id == bindparam("letter_id"), ReferralLetter.clinic_id == _CLINIC,
                                       ReferralLetter.patient_id == _PATIENT, ReferralLetter.status == FINAL)


def _diagnoses(session: Session, keys: dict[str, int]) -> list[DiagnosisLine]:
    """Continuing diagnoses, the main ones first."""
    lines = []
    for row in session.execute(_DIAGNOSES, keys):
        wording = diagnosis_wording(row.disease_code or "")
        lines.append(DiagnosisLine(wording.plain if wording else row.display_name,
                                   wording.explanation if wording else "", row.display_name, row.is_suspected,
                                   row.started_on))
    return lines


def _allergies(session: Session, keys: dict[str, int]) -> list[AllergyLine]:
    return [AllergyLine(ALLERGY_KINDS.get(r.category, ""), r.substance, r.reaction, SEVERITY_WORDS.get(r.severity, ""))
            for r in session.execute(_ALLERGIES, keys)]


def _labs(session: Session, keys: dict[str, int]) -> tuple[date | None, list[LabLine]]:
    """The tests of the newest day a specimen was taken, each with its values of the last TREND_POINTS days
    specimens were taken: one query (a monthly panel of ten years reads eight days' rows, not the thousand)."""
    rows = session.execute(_LABS, keys).all()
    if not rows:
        return None, []
    newest = rows[-1].collected_on
    series: dict[str, list[tuple[date, float, str]]] = defaultdict(list)
    for r in rows:
        if r.numeric_value is not None:
            series[r.lab_code].append((r.collected_on, r.numeric_value, r.flag))
    day_rows = sorted((r for r in rows if r.collected_on == newest), key=lambda r: (r.lab_code, r.sub_id, r.id))
    lines = []
    for r in day_rows[:LAB_TESTS_SHOWN]:
        wording = lab_wording(r.jlac10, r.lab_code)
        lines.append(LabLine(wording.plain if wording else r.name, wording.explanation if wording else "", r.value,
                             r.unit, r.reference_range, FLAG_WORDS.get(r.flag, "基準と違います" if r.flag else ""),
                             trend_svg(r.name, series[r.lab_code], r.reference_range)))
    return newest, lines


def _upcoming(session: Session, keys: dict[str, int], today: date) -> list[UpcomingTest]:
    """Lab orders for today or later not yet done nor cancelled, soonest first, with each test's plain name."""
    orders: dict[int, UpcomingTest] = {}
    for order_id, ordered_on, items in session.execute(_UPCOMING, {**keys, "today": today}):
        tests = orders.setdefault(order_id, UpcomingTest(ordered_on, [])).tests
        for item in items or []:
            wording = lab_wording(item.get("jlac10", ""), item.get("lab_code", ""))
            tests.append((wording.plain if wording else item.get("name", ""),
                          wording.explanation if wording else ""))
    return list(orders.values())


def offered_letters(session: Session, clinic_id: int, patient_id: int) -> list[Any]:
    """The confirmed referral letters staff may show, newest first (a draft is not shown to a patient)."""
    return list(session.execute(
        select(ReferralLetter.id, ReferralLetter.to_institution, ReferralLetter.to_department,
               ReferralLetter.written_on)
        .where(ReferralLetter.clinic_id == clinic_id, ReferralLetter.patient_id == patient_id,
               ReferralLetter.status == FINAL)
        .order_by(ReferralLetter.written_on.desc(), ReferralLetter.id.desc()).limit(LETTERS_OFFERED)))


def find_letter(session: Session, clinic_id: int, patient_id: int, letter_id: int) -> LetterView | None:
    """A confirmed letter of this patient as the screen shows it (None: not this patient's, or not confirmed)."""
    letter = session.scalar(_LETTER, {"letter_id": letter_id, "clinic_id": clinic_id, "patient_id": patient_id})
    if letter is None:
        return None
    return LetterView(letter.to_institution, letter.to_department,
                      addressee(letter.to_doctor, letter.honorific) if letter.to_doctor else "", letter.purpose,
                      letter.author_name, letter.written_on)
