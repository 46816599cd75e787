"""Rendered PDFs kept once per version of their content: drawing an issued prescription (ReportLab) or a letter
(WeasyPrint) costs tens to hundreds of milliseconds of CPU, while what they print changes rarely. A document's
PDF is stored with the fingerprint (SHA-256) of everything it shows; a print whose inputs have the same
fingerprint serves the stored bytes — the same document, byte for byte, every time it is printed — and a changed
input (a corrected letter, a new insurance card on the patient) is a new fingerprint, drawn once and kept instead
of the old one. Stored in the database, so every worker process and machine shares them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.core.models import KeptPdf
from app.db import utcnow

#: Days a drawn PDF is kept: reprints come within days of the first print, and a prescription PDF is about 80 KB
#: (its font subset), so keeping every one for good would grow a clinic's database by a gigabyte a year.
KEEP_DAYS = 30


def fingerprint(*parts: str | bytes) -> str:
    """SHA-256 (hex) of a document's inputs, each part length-prefixed so that no two splits collide."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def kept_pdf(session: Session, clinic_id: int, document: str, version: str, render: Callable[[], bytes]) -> bytes:
    """The PDF of `document` at `version` (a fingerprint): the kept bytes, or `render()` kept for next time (in
    the caller's transaction; older versions of the document, and the clinic's PDFs drawn more than KEEP_DAYS ago,
    are dropped). Two processes drawing the same new
    version at once each keep a copy; either serves."""
    kept = session.scalar(select(KeptPdf.pdf).where(KeptPdf.clinic_id == clinic_id, KeptPdf.document == document,
                                                    KeptPdf.fingerprint == version).limit(1))
    if kept is not None:
        return kept
    pdf = render()
    session.execute(delete(KeptPdf).where(KeptPdf.clinic_id == clinic_id, KeptPdf.document == document,
                                          KeptPdf.fingerprint != version))
    session.execute(delete(KeptPdf).where(KeptPdf.clinic_id == clinic_id,
                                          KeptPdf.created_at < utcnow() - timedelta(days=KEEP_DAYS)))
    session.add(KeptPdf(clinic_id=clinic_id, document=document, fingerprint=version, pdf=pdf))
    return pdf
