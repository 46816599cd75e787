"""The values a printed referral letter shows, rendered through print_templates/referral_letter."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.core.jp import age_on
from app.core.kept_pdf import fingerprint, kept_pdf
from app.documents.addressing import addressee
from app.patients.models import SEX_LABELS
from app.printing.html_pdf import pdf_of_html, render_html, render_pdf

TEMPLATE = "referral_letter"


def letter_context(letter: Any, patient: Any, clinic: Any, images: list[Any] = ()) -> dict[str, Any]:
    """What the template needs: the letter, the addressee with its one honorific, the clinic, the patient, dates for
    和暦, and the attached key images (caption, date and the asset name their bytes are served under)."""
    return {"letter": letter, "clinic": clinic, "patient": patient, "written_on": letter.written_on,
            "addressee": addressee(letter.to_doctor, letter.honorific),
            "birth_date": patient.birth_date, "age": age_on(patient.birth_date, letter.written_on),
            "sex": SEX_LABELS.get(patient.sex, ""),
            "key_images": [{"asset": f"key-image-{n}", "title": i.title, "study_date": i.study_date}
                           for n, i in enumerate(images, start=1)]}


def letter_pdf(letter: Any, patient: Any, clinic: Any, refused: list[str] | None = None,
               images: list[Any] = ()) -> bytes:
    """The letter as PDF bytes (MHLW 診療情報提供書 layout, IPAex fonts embedded, key images from their stored
    copies — see app.sharing.sources.key_images_by_id)."""
    return render_pdf(TEMPLATE, letter_context(letter, patient, clinic, images), refused, _attachments(images))


def _attachments(images: list[Any]) -> dict[str, tuple[bytes, str]]:
    """The key images' bytes under the asset names letter_context gives them."""
    return {f"key-image-{n}": (i.image_bytes, i.media_type) for n, i in enumerate(images, start=1)}


def kept_letter_pdf(session: Session, letter: Any, patient: Any, clinic: Any, images: list[Any] = ()) -> bytes:
    """The letter's PDF, drawn once per version of what it prints (the filled-in page and its key images) and
    kept (app.core.kept_pdf): reprinting an unchanged letter serves the same bytes."""
    attachments = _attachments(images)
    html = render_html(TEMPLATE, letter_context(letter, patient, clinic, images), link_stylesheet=False)
    version = fingerprint(html, *(part for body, media_type in attachments.values() for part in (body, media_type)))
    return kept_pdf(session, letter.clinic_id, f"letter:{letter.id}", version,
                    lambda: pdf_of_html(TEMPLATE, html, attachments=attachments))
