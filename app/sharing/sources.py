"""Integration points for records other branches build. Each returns what it can today and names its issue.

- `lab_results_for`: the patient's lab results for the 6 information and referral letters — issue 7 (labs).
- `key_images_for`: the key images of a patient for referral letters — issue 9 (imaging).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.sharing.fhir.mapping import LabResult


@dataclass(frozen=True)
class KeyImage:
    """A key image as the imaging domain will hand it over (issue 9): a title and where to fetch it."""

    title: str
    study_date: str
    url: str


def lab_results_for(session: Session, clinic_id: int, patient_id: int) -> list[LabResult]:
    """The patient's lab results (newest first). Returns [] until issue 7 (labs) is merged: wire the labs
    domain's service here, mapping each result to LabResult (local code, JLAC10, value, unit, time)."""
    return []


def key_images_for(session: Session, clinic_id: int, patient_id: int) -> list[KeyImage]:
    """The patient's key images for a referral letter. Returns [] until issue 9 (imaging) is merged."""
    return []
