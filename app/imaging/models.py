"""Key images: one image (or frame) of a PACS study kept in the chart with a caption, together with the
rendered image bytes and their SHA-256, so that notes and letters stay readable when the PACS changes (見読性)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.versioning import PatientRecordVersion
from app.db import Base


class KeyImage(PatientRecordVersion, Base):
    """A key image of a patient (versioned: a caption correction or a withdrawal adds a version)."""

    __tablename__ = "key_image"

    #: The image in the PACS: StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID and frame (from 1).
    study_uid: Mapped[str] = mapped_column(String(64))
    series_uid: Mapped[str] = mapped_column(String(64))
    instance_uid: Mapped[str] = mapped_column(String(64))
    frame: Mapped[int] = mapped_column(Integer, default=1)
    #: The window the image was rendered with (None: the image's own default window).
    window_center: Mapped[float | None] = mapped_column(Float)
    window_width: Mapped[float | None] = mapped_column(Float)
    #: What the study was, as the PACS said when the image was kept: date taken, modality, description.
    study_date: Mapped[date | None] = mapped_column(Date)
    modality: Mapped[str] = mapped_column(String(16), default="")
    study_description: Mapped[str] = mapped_column(String(200), default="")
    #: The staff's caption (所見・説明), printed under the image in letters.
    caption: Mapped[str] = mapped_column(String(200), default="")
    #: The rendered image as it was shown (PNG), and the SHA-256 of those bytes.
    media_type: Mapped[str] = mapped_column(String(32), default="image/png")
    image_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    image_sha256: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<KeyImage {self.id} patient={self.patient_id} v{self.version}>"
