"""A received 健康診断結果報告書 with its numbers' trends over the patient's other reports at the service."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.documents import services
from app.documents.checkup import CheckupReport, read_checkup_report, trends
from app.documents.discharge import UnreadableDocument
from app.patients.profile_views import sparkline
from app.sharing.fhir.mapping import member_id
from app.sharing.services import CheckupSeries

#: How many earlier reports the trends read (yearly checks: five years).
EARLIER = 4


def report_with_trends(session: Session, clinic: Clinic, patient: Any, document_id: str,
                       bundle: dict[str, Any]) -> tuple[CheckupReport, dict[str, dict[str, Any]]]:
    """The report (UnreadableDocument when it cannot be read) and, per numeric item code, its values over this and
    the patient's earlier readable reports with a sparkline ({"points": [(day, value)], "chart": …})."""
    member = member_id(patient)
    report = read_checkup_report(bundle, member)
    listed, _problem = services.received_documents(session, clinic, patient)
    earlier = sorted((d for d in listed if d.is_checkup and d.document_id != document_id and d.date < report.day),
                     key=lambda d: d.date, reverse=True)[:EARLIER]
    reports = [report]
    for document in earlier:
        try:
            reports.append(read_checkup_report(services.fetch_received(session, clinic, patient,
                                                                       document.document_id), member))
        except (UnreadableDocument, services.LetterError):
            continue  # an unreadable earlier report leaves a gap in the trend, never a wrong point
    return report, charted(reports)


def charted(reports: list[CheckupReport]) -> dict[str, dict[str, Any]]:
    """Per numeric item code, its values over the reports (oldest first), a sparkline and the arrow between the
    last two ({"points", "chart", "trend"}): what templates/_checkup_report.html draws beside each item."""
    return {code: {"points": points, "chart": sparkline(points, min_span=0.1),
                   "trend": CheckupSeries("", "", "", points).trend} for code, points in trends(reports).items()}
