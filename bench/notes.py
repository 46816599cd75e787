"""The full-chart note figures (issue 22): confirming (確定) a note and the editor's autosave, through HTTP, for a
patient whose chart already holds 1,000 notes. The bench clinic is switched to full-chart mode only for these
figures (they run last)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import create_engine, insert, update

from app.clinics.models import Clinic
from app.core.timeutil import japan_today
from app.notes.models import ProgressNote
from bench.server import Browser, measure

HISTORY = 1_000
TEXT = {"subjective": "2週間前から夜間の咳。発熱なし。" * 3, "objective": "体温 36.8℃ SpO2 98%\n胸部聴診: 清" * 3,
        "assessment": "咳喘息の疑い", "plan": "吸入ステロイド開始。2週間後に再診"}


def prepare(url: str, clinic_id: int, patient_id: int) -> None:
    """Full-chart mode on, and 1,000 earlier notes (one a day back from yesterday) for the patient."""
    engine = create_engine(url)
    today = japan_today()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(update(Clinic).where(Clinic.id == clinic_id).values(is_full_chart_mode=True))
        conn.execute(insert(ProgressNote), [
            {"clinic_id": clinic_id, "patient_id": patient_id, "note_date": today - timedelta(days=i + 1),
             "encounter_kind": "other", "department_name": "内科", "doctor_name": "", "insurance_summary": "",
             "key_image_ids": [], "version": 1, "recorded_at": now, "recorded_by_name": "bench",
             "retracted": False, "change_reason": "", **TEXT} for i in range(HISTORY)])
        conn.execute(update(ProgressNote).where(ProgressNote.patient_id == patient_id,
                                                ProgressNote.lineage_id.is_(None))
                     .values(lineage_id=ProgressNote.id))
    engine.dispose()


def figures(browser: Browser, patient_id: int, samples: int) -> list[tuple[str, int, tuple[float, float], int]]:
    """note_save: 確定 of today's note, each time a new version; note_autosave: the editor's draft save."""
    day = japan_today().isoformat()
    browser.get(f"/patients/{patient_id}/notes/{day}/edit")
    token = browser.token()
    versions = count(0)

    def save() -> Any:
        version = next(versions)
        return browser.request("POST", f"/patients/{patient_id}/notes/{day}", 302, data={
            "csrf_token": token, "base_version": str(version), **TEXT, "plan": f"{TEXT['plan']} ({version})"})

    def autosave() -> Any:
        return browser.request("POST", f"/patients/{patient_id}/notes/{day}/draft", 200, json={
            **TEXT, "encounter_kind": "other", "department_name": "内科"},
            headers={"X-CSRFToken": token, "Accept": "application/json"})

    return [("note_save", HISTORY, measure(save, samples), 100),
            ("note_autosave", HISTORY, measure(autosave, samples), 100)]
