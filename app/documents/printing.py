"""The values a printed referral letter shows, rendered through print_templates/referral_letter."""

from __future__ import annotations

from typing import Any

from app.core.jp import age_on
from app.patients.models import SEX_LABELS
from app.printing.html_pdf import render_pdf

TEMPLATE = "referral_letter"


def letter_context(letter: Any, patient: Any, clinic: Any) -> dict[str, Any]:
    """What the template needs: the letter, the clinic, the patient, and dates for 和暦."""
    return {"letter": letter, "clinic": clinic, "patient": patient, "written_on": letter.written_on,
            "birth_date": patient.birth_date, "age": age_on(patient.birth_date, letter.written_on),
            "sex": SEX_LABELS.get(patient.sex, "")}


def letter_pdf(letter: Any, patient: Any, clinic: Any, refused: list[str] | None = None) -> bytes:
    """The letter as PDF bytes (MHLW 診療情報提供書 layout, IPAex fonts embedded)."""
    return render_pdf(TEMPLATE, letter_context(letter, patient, clinic), refused)
