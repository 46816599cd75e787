"""Demo progress notes for clinic B (full-chart mode): its 山田 太郎 has three visits' SOAP notes, one of them
corrected later with a reason, so the chart and its 修正履歴 can be seen."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.timeutil import japan_today
from app.demo.clinical import _actor
from app.notes import services as notes
from app.notes.models import ProgressNote
from app.patients import services as patients

log = logging.getLogger(__name__)
CLINIC_B = "1310156789"
VISITS = [
    (28, "b-doctor", notes.NoteContent(
        subjective="2週間前から夜間の咳。発熱なし。喫煙なし",
        objective="体温 36.8℃ SpO2 98%\n胸部聴診: 呼気時に軽度の wheeze",
        assessment="咳喘息の疑い", plan="吸入ステロイド開始。2週間後に再診")),
    (14, "b-doctor", notes.NoteContent(
        subjective="咳は半分ほどに減った。夜間に目が覚めることはなくなった",
        objective="体温 36.5℃ SpO2 99%\n胸部聴診: 清",
        assessment="咳喘息 改善傾向", plan="吸入継続。4週間後に再診")),
    (0, "b-nurse", notes.NoteContent(
        subjective="咳はほとんどない", objective="体温 36.4℃ 血圧 128/78 脈拍 72", assessment="", plan="")),
]


def seed_notes_demo(session: Session) -> bool:
    """Write clinic B's 山田 太郎's notes once (False when the patient is not synced yet or has notes)."""
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == CLINIC_B))
    if clinic is None or not clinic.is_full_chart_mode:
        return False
    patient = patients.find_by_orca_id(session, clinic.id, "00001")  # clinic B's own 山田 太郎 (1972-08-15)
    if patient is None or session.scalar(select(ProgressNote.id).where(ProgressNote.patient_id == patient.id)):
        return False
    today = japan_today()
    for days_ago, login_id, content in VISITS:
        notes.save_note(session, clinic, _actor(session, clinic, login_id), patient, today - timedelta(days_ago),
                        content, base_version=0, today=today)
    # The doctor corrects the assessment of two weeks ago: a second version with its reason.
    earlier = today - timedelta(14)
    notes.save_note(session, clinic, _actor(session, clinic, "b-doctor"), patient, earlier,
                    replace(VISITS[1][2], assessment="咳喘息 改善傾向（吸入手技良好）"),
                    base_version=1, today=today, reason="評価の追記")
    log.info("demo progress notes added")
    return True
