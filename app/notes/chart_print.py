"""The printed chart (診療録) of a date range: カルテ1号紙 (the patient, insurance, diagnoses with start, end and
転帰) and 2号紙 (by date: the notes with their schema drawings and the descriptions of their key images, the
prescriptions, lab orders and lab results of the day), as PDF through print_templates/medical_record. The values
are plain dicts: the sandboxed template never sees a model."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session, selectinload

from app.core.errors import ValidationError
from app.core.jp import age_on
from app.core.timeutil import JST
from app.db import scoped
from app.diagnoses.models import Diagnosis
from app.imaging import services as imaging
from app.labs import results as lab_results
from app.labs.models import LabOrder
from app.notes.schema_models import SchemaDrawing
from app.notes.services import PARTS
from app.notes.timeline import notes_between
from app.patients.models import SEX_LABELS
from app.prescriptions.models import Prescription, PrescriptionRp
from app.printing.html_pdf import render_pdf

TEMPLATE = "medical_record"
#: Most notes one print holds (a longer range is printed in parts; this keeps a print within seconds).
MAX_NOTES = 500
SHEETS = {"1": "1号紙", "2": "2号紙", "all": "1号紙・2号紙"}


def check_range(date_from: date | None, date_to: date | None, *, today: date) -> tuple[date, date]:
    """The range to print; ValidationError (Japanese) for a missing, reversed or future one."""
    if date_from is None or date_to is None:
        raise ValidationError("印刷する期間（開始日と終了日）を入力してください", field="dates")
    if date_from > date_to:
        raise ValidationError("開始日は終了日より前の日付にしてください", field="dates")
    if date_to > today:
        raise ValidationError("終了日に未来の日付は指定できません", field="dates")
    return date_from, date_to


#: ORCA's 保険の種類 of 労災保険 (app.integrations.orca.parsing.NON_HEALTH_CLASSES).
WORKERS_COMPENSATION = "971"


def work_relation(insurance: dict[str, Any]) -> str:
    """The 1号紙's 職務上・外 as the insurance says it: 労災保険 pays for injuries and illnesses of work (職務上); a
    health insurance for those not of work (職務外, 健康保険法 第1条). Blank where the insurance does not tell:
    船員保険 covers some 職務上 cases too, 自賠責, 公費単独 and 自費 say nothing of work."""
    if insurance.get("provider_class") == WORKERS_COMPENSATION:
        return "職務上"
    number = str(insurance.get("insurer_number") or "")
    return "職務外" if number and not number.startswith("02") else ""


def _diagnoses(session: Session, clinic_id: int, patient_id: int, date_from: date, date_to: date) -> list[dict]:
    rows = session.scalars(scoped(Diagnosis, clinic_id).where(
        Diagnosis.patient_id == patient_id, Diagnosis.superseded_at.is_(None), Diagnosis.retracted.is_(False),
        Diagnosis.started_on <= date_to).order_by(Diagnosis.started_on, Diagnosis.id))
    return [{"name": d.display_name, "main": d.is_main, "started_on": d.started_on, "ended_on": d.ended_on,
             "outcome": d.outcome_label if d.ended_on else "継続", "icd10": d.icd10_display}
            for d in rows if d.ended_on is None or d.ended_on >= date_from]


def _prescriptions(session: Session, clinic_id: int, patient_id: int, date_from: date, date_to: date,
                   days: set[date] | None = None) -> dict:
    by_day: dict[date, list[dict]] = {}
    within = [Prescription.issued_on.in_(days)] if days is not None else []
    for rx in session.scalars(scoped(Prescription, clinic_id).where(
            Prescription.patient_id == patient_id, Prescription.issued_on >= date_from,
            Prescription.issued_on <= date_to, *within).options(
            selectinload(Prescription.rps).selectinload(PrescriptionRp.lines)).order_by(Prescription.issued_at)):
        rps = [{"number": rp.number, "usage": rp.usage_text, "quantity": rp.quantity,
                "lines": [f"{(ln.generic_name if ln.by_generic_name else ln.drug_name)} {ln.dose:g}{ln.unit}"
                          for ln in rp.lines]} for rp in rx.rps]
        by_day.setdefault(rx.issued_on, []).append({"doctor": rx.doctor_name, "rps": rps,
                                                    "cancelled": rx.cancelled_at is not None})
    return by_day


def _lab_orders(session: Session, clinic_id: int, patient_id: int, date_from: date, date_to: date,
                days: set[date] | None = None) -> dict:
    by_day: dict[date, list[dict]] = {}
    within = [LabOrder.ordered_on.in_(days)] if days is not None else []
    for order in session.scalars(scoped(LabOrder, clinic_id).where(
            LabOrder.patient_id == patient_id, LabOrder.ordered_on >= date_from, LabOrder.ordered_on <= date_to,
            *within)
            .options(selectinload(LabOrder.specimens)).order_by(LabOrder.ordered_at)):
        names = [item.get("short_name") or item.get("name", "") for s in order.specimens for item in s.items]
        by_day.setdefault(order.ordered_on, []).append({"number": order.order_number, "tests": names,
                                                        "by": order.ordered_by_name,
                                                        "cancelled": order.cancelled_at is not None})
    return by_day


def orders_of_days(session: Session, clinic_id: int, patient_id: int, days: set[date]) -> dict[date, dict]:
    """The prescriptions, lab orders and lab results (by the day collected) of these days, by day (three queries
    whatever the history: a chart page shows them beside the notes of their day, as the 2号紙 prints the orders)."""
    if not days:
        return {}
    first, last = min(days), max(days)
    prescriptions = _prescriptions(session, clinic_id, patient_id, first, last, days)
    orders = _lab_orders(session, clinic_id, patient_id, first, last, days)
    results = lab_results.results_of_days(session, clinic_id, patient_id, days)
    return {day: {"prescriptions": prescriptions.get(day, []), "orders": orders.get(day, []),
                  "results": results.get(day, [])} for day in set(prescriptions) | set(orders) | set(results)}


def _drawings(session: Session, clinic_id: int, patient_id: int, date_from: date, date_to: date) -> list:
    return list(session.scalars(scoped(SchemaDrawing, clinic_id).where(
        SchemaDrawing.patient_id == patient_id, SchemaDrawing.superseded_at.is_(None),
        SchemaDrawing.retracted.is_(False), SchemaDrawing.note_date >= date_from,
        SchemaDrawing.note_date <= date_to).order_by(SchemaDrawing.note_date, SchemaDrawing.id)))


def chart_print(session: Session, clinic: Any, patient: Any, date_from: date, date_to: date, sheet: str, *,
                today: date) -> tuple[dict[str, Any], dict[str, tuple[bytes, str]]]:
    """The template's values and the pictures it embeds (schema PNGs) for a sheet ("1", "2" or "all")."""
    if sheet not in SHEETS:
        raise ValidationError("印刷する用紙を選んでください", field="sheet")
    context: dict[str, Any] = {
        "clinic": {"name": clinic.name}, "sheet": sheet, "date_from": date_from, "date_to": date_to,
        "printed_on": today,
        "patient": {"name": patient.name, "kana": patient.kana, "sex": SEX_LABELS.get(patient.sex, ""),
                    "birth_date": patient.birth_date, "age": age_on(patient.birth_date, today),
                    "address": patient.address, "postal_code": patient.postal_code, "phone": patient.phone,
                    "occupation": patient.occupation, "number": patient.orca_patient_id},
        "insurances": [dict(i) | {"work": work_relation(i)} for i in patient.insurances or []],
        "public_expenses": [dict(p) for p in patient.public_expenses or []],
        "diagnoses": _diagnoses(session, clinic.id, patient.id, date_from, date_to), "days": []}
    attachments: dict[str, tuple[bytes, str]] = {}
    if sheet in ("2", "all"):
        notes = notes_between(session, clinic.id, patient.id, date_from, date_to)
        if len(notes) > MAX_NOTES:
            raise ValidationError(f"この期間の経過記録は{len(notes):,}件あります。{MAX_NOTES}件以内になるよう期間を"
                                  "分けて印刷してください", field="dates")
        context["days"] = _days(session, clinic.id, patient.id, date_from, date_to, notes, attachments)
    return context, attachments


def _days(session: Session, clinic_id: int, patient_id: int, date_from: date, date_to: date, notes: list,
          attachments: dict[str, tuple[bytes, str]]) -> list[dict[str, Any]]:
    # One query per kind for the whole range (never one per note or day): a print of 500 notes stays in seconds.
    prescriptions = _prescriptions(session, clinic_id, patient_id, date_from, date_to)
    orders = _lab_orders(session, clinic_id, patient_id, date_from, date_to)
    results = lab_results.results_between(session, clinic_id, patient_id, date_from, date_to)
    images = imaging.key_image_descriptions(session, clinic_id, patient_id,
                                            [i for note in notes for i in note.key_image_ids or []])
    drawings: dict[date, list[dict]] = {}
    # A note's own drawings print under it; the day's (and those of a note no longer shown) after its notes.
    of_notes: dict[int, list[dict]] = {}
    printed = {note.lineage_id for note in notes}
    for d in _drawings(session, clinic_id, patient_id, date_from, date_to):
        attachments[f"schema-{d.id}"] = (d.png, "image/png")
        shown = {"asset": f"schema-{d.id}", "title": d.title}
        if d.note_lineage_id not in printed:
            drawings.setdefault(d.note_date, []).append(shown)
        else:
            of_notes.setdefault(d.note_lineage_id, []).append(shown)
    by_day: dict[date, list[dict]] = {}
    for note in notes:
        by_day.setdefault(note.note_date, []).append({
            "author": note.recorded_by_name, "version": note.version,
            "recorded_at": note.recorded_at.astimezone(JST).strftime("%Y/%m/%d %H:%M"),
            "parts": [(label, getattr(note, name)) for name, label in PARTS if getattr(note, name)],
            "drawings": of_notes.get(note.lineage_id, []),
            "images": [images[i] for i in note.key_image_ids or [] if i in images]})
    days = sorted(set(by_day) | set(prescriptions) | set(orders) | set(results) | set(drawings))
    return [{"day": day, "notes": by_day.get(day, []), "prescriptions": prescriptions.get(day, []),
             "orders": orders.get(day, []), "results": results.get(day, []), "drawings": drawings.get(day, [])}
            for day in days]


def chart_pdf(session: Session, clinic: Any, patient: Any, date_from: date, date_to: date, sheet: str, *,
              today: date) -> bytes:
    """The printed chart as PDF bytes."""
    context, attachments = chart_print(session, clinic, patient, date_from, date_to, sheet, today=today)
    return render_pdf(TEMPLATE, context, attachments=attachments)
