"""Printing the chart (full-chart mode): choose the range and the sheet, get the PDF (each print is recorded in
the access log and the audit trail). A paper-chart clinic has none of it: 404."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request

from app.core.audit import log_access, record_audit
from app.core.errors import ValidationError
from app.core.timeutil import japan_today
from app.core.web import current_actor, log_look, patient_view, record_file
from app.db import db_session
from app.notes import bp, chart_print, timeline
from app.notes.chart_views import full_chart_clinic
from app.patients.models import Patient


def _form(patient, *, date_from, date_to, sheet: str, message: str = "", status: int = 200):
    return render_template("chart/print.html", patient=patient, today=japan_today(), date_from=date_from,
                           date_to=date_to, sheet=sheet, sheets=chart_print.SHEETS, message=message), status


@bp.get("/patients/<int:patient_id>/chart/print")
@patient_view("note.read")
def chart_print_form(patient: Patient):
    """Choose the date range and the sheet to print (the last year by default)."""
    full_chart_clinic()
    today = japan_today()
    log_look(patient.id, "patient.chart.print_form")
    return _form(patient, date_from=today - timedelta(days=365), date_to=today, sheet="all")


@bp.get("/patients/<int:patient_id>/chart/print.pdf")
@patient_view("note.read")
def chart_print_pdf(patient: Patient):
    """The chart of the range as PDF (1号紙, 2号紙 or both)."""
    clinic = full_chart_clinic()
    db = db_session()
    today = japan_today()
    sheet = request.args.get("sheet", "all")
    try:
        chart_filter = timeline.read_filter(request.args)
        date_from, date_to = chart_print.check_range(chart_filter.date_from, chart_filter.date_to, today=today)
        body = chart_print.chart_pdf(db, clinic, patient, date_from, date_to, sheet, today=today)
    except ValidationError as exc:
        db.rollback()
        return _form(patient, date_from=None, date_to=None, sheet=sheet if sheet in chart_print.SHEETS else "all",
                     message=exc.message, status=422)
    actor = current_actor()
    scope = f"chart:{sheet}:{date_from.isoformat()}..{date_to.isoformat()}"
    log_access(db, actor, patient_id=patient.id, action="print", resource=scope)
    record_audit(db, actor, "chart.print", clinic_id=clinic.id, entity_type="patient", entity_id=patient.id,
                 patient_id=patient.id, summary={"sheet": sheet, "from": date_from.isoformat(),
                                                 "to": date_to.isoformat()})
    db.commit()
    return record_file(body, "application/pdf", f"chart-{patient.id}-{sheet}.pdf", inline=True)
