"""The demo's オンライン資格確認 history: clinic A reaches the 資格確認端末 simulator (whose history service knows 山田
太郎, with his card-reader consent of today and a year from other institutions and pharmacies); at each start the
doctor opens his medication and checkup history once, so that the prescription check can name the other
institution's アムロジピン that duplicates his own."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.demo.clinical import CLINIC_A, _actor
from app.onshi import fetching
from app.onshi.models import CHECKUP, MEDICATION
from app.patients import services as patients

log = logging.getLogger(__name__)

#: The terminal simulator's tokens (simulators/oqs_terminal DEMO_TOKENS).
OQS_DEMO_TOKENS = {"1310123458": "demo-oqs-a", "1310156789": "demo-oqs-b"}


def connection(oqs_root: str, institution_code: str) -> dict[str, str] | None:
    """The clinic's `national_gateway` setting for the demo relay (None for a clinic it has no token for)."""
    token = OQS_DEMO_TOKENS.get(institution_code)
    return {"url": f"{oqs_root}/clinic/{institution_code}", "token": token} if token else None


def seed_history(session: Session) -> None:
    """The doctor opens 山田 太郎's history (reused while today's consent holds; a problem is only logged)."""
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == CLINIC_A))
    yamada = patients.find_by_orca_id(session, clinic.id, "00001") if clinic else None
    if yamada is None:
        return
    doctor = _actor(session, clinic, "doctor")
    for kind in (MEDICATION, CHECKUP):
        _, problem = fetching.fetch_history(session, clinic, doctor, "医師（デモ）", yamada, kind)
        if problem:
            log.warning("onshi demo: %s", problem)
