"""The patient's medicines as a patient reads them: today's and the ones still being taken, each with when and how
to take it — the times of day (朝・昼・夕・寝る前) and the meal (食前・食後・食間) read from the usage as the
prescription holds it (its text: the coded usages' texts and free text alike)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.prescriptions.models import ISSUED, RP_FORMS, Prescription, PrescriptionLine, PrescriptionRp
from app.prescriptions.services import MAX_DAYS
from app.prescriptions.usage import dose_words, times_a_day

#: The times of day a pictogram shows, in order, with the words read from a usage text.
TIMES = (("morning", "朝", ("朝", "毎食")), ("noon", "昼", ("昼", "毎食")), ("evening", "夕", ("夕", "毎食")),
         ("bedtime", "寝る前", ("就寝", "寝る前", "眠前")))
#: The meal a dose is tied to (食直前 is before the meal, 食直後 after it).
MEALS = (("before_meal", "食前", ("食前", "食直前")), ("after_meal", "食後", ("食後", "食直後")),
         ("between_meals", "食間", ("食間",)))
MEAL_LABELS = {key: label for key, label, _words in MEALS}
MEAL_WORDS = {"before_meal": "食事の前に", "after_meal": "食事のあとに",
              "between_meals": "食事と食事の間（食事のおよそ２時間後）に"}
#: 頓服 and 外用 are used for 30 days at most, as the prescription checks count them.
AS_NEEDED_DAYS = 30
#: Drugs listed at most (a patient of many prescriptions still gets one bounded read).
MEDICINES_SHOWN = 40


@dataclass(frozen=True)
class Timing:
    """When a medicine is taken: times of day, the meal, and the words said."""

    times: tuple[str, ...]
    meal: str
    words: str


@dataclass(frozen=True)
class Medicine:
    """One drug as the patient takes it."""

    name: str
    dose: str
    usage: str
    kind: str
    timing: Timing
    issued_on: date
    until: date


def read_timing(usage_text: str, form: int) -> Timing:
    """The times of day and the meal a usage text names (nothing for 頓服 and 外用, said in words instead)."""
    text = unicodedata.normalize("NFKC", usage_text or "")
    if form == 2:
        said = f"決まった時間ではなく、必要なとき（{text}）に使います" if text else "必要なときに使います"
        return Timing((), "", said)
    if form == 3:
        return Timing((), "", f"{text}（飲まずに、体の外から使うお薬です）" if text else "体の外から使うお薬です")
    times = tuple(key for key, _label, words in TIMES if any(w in text for w in words))
    meal = next((key for key, _label, words in MEALS if any(w in text for w in words)), "")
    labels = dict((key, label) for key, label, _words in TIMES)
    said = "・".join(labels[t] for t in times)
    if meal:
        said = f"{said}　{MEAL_WORDS[meal]}" if said else MEAL_WORDS[meal]
    return Timing(times, meal, said or text)


#: Built once (every patient screen reads it), its clinic, patient and first day bound at each showing.
_MEDICINES = (select(Prescription.issued_on, PrescriptionRp.form, PrescriptionRp.usage_code, PrescriptionRp.usage_text,
                     PrescriptionRp.times_per_day, PrescriptionRp.quantity, PrescriptionLine.drug_receipt_code,
                     PrescriptionLine.drug_name, PrescriptionLine.by_generic_name, PrescriptionLine.generic_name,
                     PrescriptionLine.dose, PrescriptionLine.unit)
              .join(PrescriptionRp, PrescriptionRp.prescription_id == Prescription.id)
              .join(PrescriptionLine, PrescriptionLine.rp_id == PrescriptionRp.id)
              .where(Prescription.clinic_id == bindparam("clinic_id"),
                     Prescription.patient_id == bindparam("patient_id"), Prescription.status == ISSUED,
                     Prescription.issued_on >= bindparam("since"))
              .order_by(Prescription.issued_at, Prescription.id, PrescriptionRp.number, PrescriptionLine.seq))


def current_medicines_with_usage(session: Session, clinic_id: int, patient_id: int, today: date) -> list[Medicine]:
    """Drugs of issued prescriptions still being taken today (内服 by its days, 頓服・外用 for 30 days): a drug
    prescribed again is one line, the newest prescription's; sorted with today's first."""
    rows = session.execute(_MEDICINES, {"clinic_id": clinic_id, "patient_id": patient_id,
                                        "since": today - timedelta(days=MAX_DAYS)})
    newest: dict[str, Medicine] = {}
    for row in rows:
        days = row.quantity if row.form == 1 else AS_NEEDED_DAYS
        until = row.issued_on + timedelta(days=days - 1)
        if until < today:
            continue
        name = row.generic_name if row.by_generic_name and row.generic_name else row.drug_name
        dose = dose_words(row.form, row.dose, row.unit, times_a_day(row.usage_code, row.times_per_day))
        newest[row.drug_receipt_code or name] = Medicine(
            name, dose, row.usage_text, RP_FORMS.get(row.form, ""), read_timing(row.usage_text, row.form),
            row.issued_on, until)
    ordered = sorted(newest.values(), key=lambda m: (m.issued_on != today, m.name))
    return ordered[:MEDICINES_SHOWN]
