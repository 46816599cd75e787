"""The patient screen on paper: the same chosen sections for the patient to take home (A4, large type), rendered
through print_templates/patient_summary like the other prints."""

from __future__ import annotations

from typing import Any

from app.core.jp import age_on
from app.patient_view.choice import SECTIONS
from app.patient_view.medicines import MEAL_LABELS, TIMES
from app.patient_view.pictograms import pictogram
from app.patient_view.screen import PatientScreen
from app.patient_view.wording import ruby_in_brackets
from app.printing.html_pdf import render_pdf

TEMPLATE = "patient_summary"


def summary_context(screen: PatientScreen, patient: Any, clinic: Any) -> dict[str, Any]:
    """What the print template needs: the screen's content, furigana in brackets (paper has no <ruby> layout)."""
    return {"screen": screen, "patient": patient, "clinic": clinic, "sections": SECTIONS, "today": screen.today,
            "age": age_on(patient.birth_date, screen.today) if patient.birth_date else None,
            "paper": ruby_in_brackets, "pictogram": pictogram, "times": TIMES, "meals": MEAL_LABELS}


def summary_pdf(screen: PatientScreen, patient: Any, clinic: Any) -> bytes:
    """The summary as PDF bytes (IPAex fonts embedded, nothing fetched from outside)."""
    return render_pdf(TEMPLATE, summary_context(screen, patient, clinic))
