"""An issued prescription as the printed 院外処方箋 (様式第二号 with the JAHIS 2D symbol; registered as 紙 with the
電子処方箋管理サービス, with 「電子処方箋対応」 and its 引換番号) and as the service's 処方箋CSV — one print model, so
the paper's symbol and the CSV carry the same records; a draft's Rp as the duplicate check needs them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.core.errors import ValidationError
from app.core.kept_pdf import fingerprint, kept_pdf
from app.prescriptions.models import Prescription
from app.prescriptions.usage import find_usage
from app.printing import prescription as rx


def _insurance(patient: Any) -> rx.InsurancePrint | None:
    cards = patient.insurances or []
    if not cards:
        return None
    card = cards[0]
    # ORCA leaves 本人/家族 empty on some 国保 cards; the form has no third choice and the holder is the usual case.
    relation = card.get("relation") if card.get("relation") in ("本人", "家族") else "本人"
    return rx.InsurancePrint(insurer_number=card.get("insurer_number") or "", symbol=card.get("symbol") or "",
                          number=card.get("number") or "", branch=card.get("branch") or "", relation=relation,
                          burden_percent=card.get("burden_percent"))


def _line(name: str, dose: float, unit: str, receipt_code: str, yj_code: str, generic_code: str,
          by_generic_name: bool, no_substitution: bool) -> rx.LinePrint:
    return rx.LinePrint(name=name, dose=Decimal(f"{dose:g}"), unit=unit, receipt_code=receipt_code, yj_code=yj_code,
                     generic_code=generic_code, by_generic_name=by_generic_name, no_substitution=no_substitution)


def _rp(form: int, usage_code: str, usage_text: str, quantity: int, times_per_day: int | None,
        lines: tuple[rx.LinePrint, ...]) -> rx.RpPrint:
    usage = find_usage(usage_code) if usage_code else None
    return rx.RpPrint(form=form, usage_text=usage_text, quantity=quantity, usage_code=usage_code,
                   times_per_day=usage.times_per_day if usage else times_per_day, lines=lines)


def draft_rps(draft: Any) -> tuple[rx.RpPrint, ...]:
    """A validated draft's Rp as the print model has them (for the service's duplicate check)."""
    rps = []
    for rp in draft.rps:
        lines = tuple(_line(line.drug.generic_name if line.by_generic_name else line.drug.name, line.dose_value or 0,
                            line.drug.unit, line.drug.receipt_code, line.drug.yj_code, line.drug.generic_code,
                            line.by_generic_name, line.no_substitution) for line in rp.lines if line.drug)
        if lines:
            rps.append(_rp(rp.form_number, rp.usage_code, rp.usage_text, rp.quantity_value or 0, None, lines))
    return tuple(rps)


def print_model(prescription: Prescription, patient: Any, clinic: Any) -> rx.PrescriptionPrint:
    """The print model of an issued prescription."""
    rps = [_rp(rp.form, rp.usage_code, rp.usage_text, rp.quantity, rp.times_per_day,
               tuple(_line(line.printed_name, line.dose, line.unit, line.drug_receipt_code, line.yj_code,
                           line.generic_code, line.by_generic_name, line.no_substitution) for line in rp.lines))
           for rp in prescription.rps]
    publics = tuple(rx.PublicExpensePrint(payer_number=p.get("payer_number") or "",
                                       recipient_number=p.get("recipient_number") or "")
                    for p in (patient.public_expenses or [])[:2] if p.get("payer_number"))
    return rx.PrescriptionPrint(
        clinic=rx.ClinicPrint(name=clinic.name, institution_code=clinic.institution_code, address=clinic.address or "",
                           postal_code=clinic.postal_code or "", phone=clinic.phone or ""),
        doctor=rx.DoctorPrint(name=prescription.doctor_name),
        patient=rx.PatientPrint(name=patient.name, kana=patient.kana, sex=patient.sex, birth_date=patient.birth_date,
                             patient_code=patient.orca_patient_id),
        issued_on=prescription.issued_on, rps=tuple(rps), insurance=_insurance(patient), public_expenses=publics,
        remarks=prescription.remarks, refill_count=prescription.refill_count,
        exchange_number=prescription.exchange_number if prescription.mode == "paper_exchange" else "")


def service_csv(prescription: Prescription, patient: Any, clinic: Any) -> str:
    """The 処方箋CSV the service registers (the same records as the paper's symbol)."""
    return rx.build_service_csv(print_model(prescription, patient, clinic))


def prescription_pdf(session: Session, prescription: Prescription, patient: Any, clinic: Any,
                     paper: str = "A5") -> bytes:
    """The PDF to print (A5 as clinics use; A4 on request), drawn once per version of what it prints and kept
    (app.core.kept_pdf); an electronic prescription is not printed (its 控え comes from the service)."""
    model = print_model(prescription, patient, clinic)
    return kept_pdf(session, prescription.clinic_id, f"prescription:{prescription.id}:{paper}",
                    fingerprint(repr(model)), lambda: rx.render_prescription_pdf(model, paper=paper))


def symbol_notices(prescription: Prescription, patient: Any, clinic: Any) -> tuple[str, ...]:
    """What the 2D symbol carries differently from the paper, one note per field and character (髙→高, a 外字 as ■:
    the JAHIS spec asks for them); none for a 電子処方箋 (not printed) or a prescription that cannot be
    printed (printing says why)."""
    if prescription.mode == "electronic" or prescription.status != "issued":
        return ()
    try:
        symbol = rx.build_jahis_symbol(print_model(prescription, patient, clinic))
    except ValidationError:
        return ()
    return tuple(dict.fromkeys(replacement.message() for replacement in symbol.replacements))
