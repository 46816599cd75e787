"""An issued prescription as the printed 院外処方箋 (様式第二号 with the JAHIS 2D symbol) or, for a 電子処方箋,
the 処方内容（控え） with its 引換番号: the mapping from our records to app.printing's print model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.core.errors import ValidationError
from app.prescriptions.models import Prescription
from app.prescriptions.usage import find_usage
from app.printing.prescription import (
    ClinicPrint,
    DoctorPrint,
    InsurancePrint,
    LinePrint,
    PatientPrint,
    PrescriptionPrint,
    PublicExpensePrint,
    RpPrint,
    build_jahis_symbol,
    render_prescription_pdf,
)


def _insurance(patient: Any) -> InsurancePrint | None:
    cards = patient.insurances or []
    if not cards:
        return None
    card = cards[0]
    # ORCA leaves 本人/家族 empty on some 国保 cards; the form has no third choice and the holder is the usual case.
    relation = card.get("relation") if card.get("relation") in ("本人", "家族") else "本人"
    return InsurancePrint(insurer_number=card.get("insurer_number") or "", symbol=card.get("symbol") or "",
                          number=card.get("number") or "", branch=card.get("branch") or "", relation=relation,
                          burden_percent=card.get("burden_percent"))


def print_model(prescription: Prescription, patient: Any, clinic: Any) -> PrescriptionPrint:
    """The print model of an issued prescription."""
    rps = []
    for rp in prescription.rps:
        usage = find_usage(rp.usage_code) if rp.usage_code else None
        rps.append(RpPrint(
            form=rp.form, usage_text=rp.usage_text, quantity=rp.quantity, usage_code=rp.usage_code,
            times_per_day=usage.times_per_day if usage else rp.times_per_day,
            lines=tuple(LinePrint(name=line.printed_name, dose=Decimal(f"{line.dose:g}"), unit=line.unit,
                                  receipt_code=line.drug_receipt_code, yj_code=line.yj_code,
                                  generic_code=line.generic_code, by_generic_name=line.by_generic_name,
                                  no_substitution=line.no_substitution) for line in rp.lines)))
    publics = tuple(PublicExpensePrint(payer_number=p.get("payer_number") or "",
                                       recipient_number=p.get("recipient_number") or "")
                    for p in (patient.public_expenses or [])[:2] if p.get("payer_number"))
    return PrescriptionPrint(
        clinic=ClinicPrint(name=clinic.name, institution_code=clinic.institution_code, address=clinic.address or "",
                           postal_code=clinic.postal_code or "", phone=clinic.phone or ""),
        doctor=DoctorPrint(name=prescription.doctor_name),
        patient=PatientPrint(name=patient.name, kana=patient.kana, sex=patient.sex, birth_date=patient.birth_date,
                             patient_code=patient.orca_patient_id),
        issued_on=prescription.issued_on, rps=tuple(rps), insurance=_insurance(patient), public_expenses=publics,
        remarks=prescription.remarks,
        exchange_number=prescription.exchange_number if prescription.mode == "electronic" else "")


def prescription_pdf(prescription: Prescription, patient: Any, clinic: Any, paper: str = "A5") -> bytes:
    """The PDF to print (A5 as clinics use; A4 on request)."""
    return render_prescription_pdf(print_model(prescription, patient, clinic), paper=paper)


def symbol_notices(prescription: Prescription, patient: Any, clinic: Any) -> tuple[str, ...]:
    """What the 2D symbol carries differently from the paper, one note per field and character (髙→高, a 外字 as ■:
    the JAHIS spec asks for them); none for a 電子処方箋 (its 控え has no symbol) or a prescription that cannot be
    printed (printing says why)."""
    if prescription.mode == "electronic" or prescription.status != "issued":
        return ()
    try:
        symbol = build_jahis_symbol(print_model(prescription, patient, clinic))
    except ValidationError:
        return ()
    return tuple(dict.fromkeys(replacement.message() for replacement in symbol.replacements))
