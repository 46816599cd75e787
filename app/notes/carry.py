"""Do and 自動転記: what the editor offers to copy into a note. Do copies a whole earlier note, or the parts the
writer picks, into the open one; 自動転記 copies the day's vitals, prescriptions, lab orders, results and the
指導料・管理料 chosen for the day's visits into O or P, each block headed by where it came from. A new note's P
starts with those fees (billing's plan_lines); otherwise the editor inserts the text; nothing here writes a note."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session, selectinload

from app.billing.fees import plan_lines
from app.core.timeutil import JST
from app.db import scoped
from app.labs import results as lab_results
from app.labs.models import LabOrder
from app.notes.models import ProgressNote
from app.patients.profile_models import VitalSign
from app.prescriptions.models import ISSUED, RP_FORMS, Prescription, PrescriptionRp


@dataclass(frozen=True)
class Source:
    """One block the writer may copy: what it is, the SOAP part it goes to, and its text (source first)."""

    key: str
    label: str
    part: str
    text: str


def _number(value: float | int | None) -> str:
    return "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def _vitals(session: Session, clinic_id: int, patient_id: int, day: date) -> list[Source]:
    start = datetime.combine(day, time(), JST)
    rows = session.scalars(scoped(VitalSign, clinic_id).where(
        VitalSign.patient_id == patient_id, VitalSign.superseded_at.is_(None), VitalSign.retracted.is_(False),
        VitalSign.measured_at >= start, VitalSign.measured_at < start + timedelta(days=1))
        .order_by(VitalSign.measured_at))
    sources = []
    for v in rows:
        values = [("身長", v.height_cm, "cm"), ("体重", v.weight_kg, "kg"), ("脈拍", v.pulse, "/分"),
                  ("体温", v.temperature_c, "℃"), ("SpO2", v.spo2, "%")]
        parts = [f"{name} {_number(x)}{unit}" for name, x, unit in values if x is not None]
        if v.systolic is not None and v.diastolic is not None:
            parts.insert(0, f"血圧 {v.systolic}/{v.diastolic}mmHg")
        if parts:
            when = v.measured_at.astimezone(JST).strftime("%H:%M")
            sources.append(Source(f"vital-{v.id}", f"バイタル {when}", "objective",
                                  f"【転記: バイタル {when} 測定（{v.recorded_by_name}）】\n" + " ".join(parts)))
    return sources


def _prescriptions(session: Session, clinic_id: int, patient_id: int, day: date) -> list[Source]:
    rows = session.scalars(scoped(Prescription, clinic_id).where(
        Prescription.patient_id == patient_id, Prescription.issued_on == day, Prescription.status == ISSUED)
        .options(selectinload(Prescription.rps).selectinload(PrescriptionRp.lines)).order_by(Prescription.id))
    sources = []
    for rx in rows:
        kind = "電子処方箋" if rx.mode == "electronic" else "院外処方箋"
        lines = [f"【転記: 処方 {day:%Y/%m/%d}（{rx.doctor_name}、{kind}）】"]
        for rp in rx.rps:
            unit = "日分" if rp.form == 1 else ("回分" if rp.form == 2 else "")
            lines.append(f"Rp{rp.number} {RP_FORMS.get(rp.form, '')} {rp.usage_text} {rp.quantity}{unit}".rstrip())
            lines += [f"  {line.printed_name} {_number(line.dose)}{line.unit}" for line in rp.lines]
        sources.append(Source(f"rx-{rx.id}", f"処方 #{rx.id}", "plan", "\n".join(lines)))
    return sources


def _lab_orders(session: Session, clinic_id: int, patient_id: int, day: date) -> list[Source]:
    rows = session.scalars(scoped(LabOrder, clinic_id).where(
        LabOrder.patient_id == patient_id, LabOrder.ordered_on == day, LabOrder.cancelled_at.is_(None))
        .options(selectinload(LabOrder.specimens)).order_by(LabOrder.id))
    sources = []
    for order in rows:
        names = [item.get("short_name") or item.get("name", "") for s in order.specimens for item in s.items]
        text = (f"【転記: 検査オーダー {order.order_number}（{order.ordered_by_name}）】\n"
                + "、".join(n for n in names if n))
        sources.append(Source(f"order-{order.id}", f"検査オーダー {order.order_number}", "plan", text))
    return sources


def first_plan(session: Session, clinic_id: int, patient_id: int, day: date) -> str:
    """The P a new note of the day starts with: the 指導料・管理料 chosen for the day's visits, one line each."""
    return "\n".join(plan_lines(session, clinic_id, patient_id, day))


def todays_sources(session: Session, clinic_id: int, patient_id: int, day: date) -> list[Source]:
    """What the day brought, ready to copy: vitals and lab results into O, prescriptions, lab orders and the chosen
    指導料・管理料 into P."""
    results = lab_results.results_as_text(session, clinic_id, patient_id, [day], [])
    labs = [Source("results", "検査結果", "objective", "【転記: 検査結果（検査会社）】\n" + results)] if results else []
    fees = first_plan(session, clinic_id, patient_id, day)
    chosen = [Source("fees", "指導料・管理料", "plan", fees)] if fees else []
    return (_vitals(session, clinic_id, patient_id, day) + labs + _prescriptions(session, clinic_id, patient_id, day)
            + _lab_orders(session, clinic_id, patient_id, day) + chosen)


def do_source(session: Session, clinic_id: int, patient_id: int, note_id: int | None,
              fallback: ProgressNote | None) -> ProgressNote | None:
    """The note Do copies from: the one the writer picked (a current version of this patient's), else the
    previous note."""
    if note_id:
        return session.scalar(scoped(ProgressNote, clinic_id).where(
            ProgressNote.id == note_id, ProgressNote.patient_id == patient_id,
            ProgressNote.retracted.is_(False))) or fallback
    return fallback


