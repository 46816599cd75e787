"""The demo's national platform: the 電子カルテ情報共有サービス simulator (in memory, fresh at each start) is told
about clinic A's fixed patients — their consent as the online eligibility result in ORCA gives it, and what
"other institutions" registered — and 山田 太郎 gets, once, his recorded consent and a referral letter; at each
start his stored copy of the last 6情報 fetch is refreshed (so the safety banner shows 他院 entries at once)."""

from __future__ import annotations

import logging
from datetime import timedelta

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor
from app.core.timeutil import japan_today
from app.demo.clinical import CLINIC_A, _actor
from app.documents import addressing
from app.documents import services as letters
from app.documents.fhir import referral_document
from app.documents.models import ReferralLetter
from app.patients import services as patients
from app.reception.orca_sync import orca_client_for
from app.sharing import services as sharing
from app.sharing import sources
from app.sharing.fhir.mapping import MappingError, member_id

log = logging.getLogger(__name__)

SHARING_DEMO_TOKENS = {"1310123458": "demo-sharing-a", "1310156789": "demo-sharing-b"}
FIXED = ("00001", "00002", "00003", "00004", "00005", "00006")
HOSPITAL = ("1310000009", "みなと総合病院")


def connection(sharing_root: str, institution_code: str) -> dict[str, str] | None:
    """The clinic's integration settings for the demo simulator (None for a clinic it has no token for)."""
    token = SHARING_DEMO_TOKENS.get(institution_code)
    return {"base_url": f"{sharing_root}/clinic/{institution_code}/fhir", "token": token} if token else None


def seed_simulator(session: Session, sharing_root: str) -> int:
    """Tell the simulator about clinic A's fixed patients (consent from ORCA, other institutions' data, health
    checks for 山田 太郎, a letter from the hospital to us and the hospital's 退院時サマリー of his stay and
    his five yearly 健康診断結果報告書). Returns how
    many patients it now knows."""
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == CLINIC_A))
    client = orca_client_for(clinic) if clinic else None
    if clinic is None or client is None:
        return 0
    known = 0
    for number in FIXED:
        patient = patients.find_by_orca_id(session, clinic.id, number)
        if patient is None:
            continue
        try:
            member = member_id(patient)
            consent = client.get_patient(number).sharing_consent
        except (MappingError, Exception) as exc:  # noqa: BLE001 — the demo goes on without this patient
            log.warning("sharing demo: patient %s skipped: %s", number, exc)
            continue
        body = {"member_id": member, "consent_until": consent.valid_until.isoformat() if consent else None,
                "other_institutions": True,
                "checkups": ["特定健診", "事業者健診"] if number == "00001" else (["任意健診"] if consent else [])}
        requests.post(f"{sharing_root}/_sim/patients", json=body, timeout=5).raise_for_status()
        known += 1
        if number == "00001":
            _letter_from_hospital(sharing_root, clinic, patient)
            requests.post(f"{sharing_root}/_sim/discharge-summaries", timeout=5, json={
                "member_id": member, "name": patient.name, "kana": patient.kana}).raise_for_status()
            requests.post(f"{sharing_root}/_sim/checkup-reports", timeout=5, json={
                "member_id": member, "name": patient.name, "years": 5}).raise_for_status()
    return known


def _letter_from_hospital(sharing_root: str, clinic: Clinic, patient) -> None:
    """A 診療情報提供書 the hospital sent back to us about 山田 太郎 (返書)."""
    hospital = type("Institution", (), {"institution_code": HOSPITAL[0], "name": HOSPITAL[1], "phone": "",
                                        "address": "", "departments": [{"code": "08", "name": "循環器科"}]})()
    reply = ReferralLetter(id=1, author_id=1, author_name="港 一郎", to_institution=clinic.name,
                           to_institution_code=clinic.institution_code, to_department="内科",
                           to_doctor="", purpose="ご紹介いただいた患者様の検査結果のご報告（返書）",
                           diagnoses="労作性狭心症の疑い", history="",
                           course="運動負荷心電図で有意なST変化を認めず、冠動脈CTでも有意狭窄はありませんでした。\n"
                                  "引き続き貴院での高血圧症の管理をお願いいたします。",
                           medicines="", lab_results="", allergies="", images="", remarks="",
                           written_on=japan_today() - timedelta(days=3))
    bundle = referral_document(reply, patient, hospital)
    requests.post(f"{sharing_root}/_sim/documents", json={"bundle": bundle, "sender": HOSPITAL[0],
                                                          "recipient": clinic.institution_code},
                  timeout=5).raise_for_status()


def seed_clinic_records(session: Session) -> bool:
    """Once: 山田 太郎's consent (read from ORCA's eligibility result) and one confirmed referral letter."""
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == CLINIC_A))
    yamada = patients.find_by_orca_id(session, clinic.id, "00001") if clinic else None
    if yamada is None or letters.list_letters(session, clinic.id, yamada.id)[0]:
        return False
    doctor: Actor = _actor(session, clinic, "doctor")
    sharing.refresh_consent_from_orca(session, clinic, doctor, yamada, recorded_by="受付（デモ）")
    # The hospital in the clinic's 紹介先 address book, and the letter written to it.
    hospital = addressing.create_destination(session, clinic.id, doctor, {
        "institution": HOSPITAL[1], "institution_code": HOSPITAL[0], "department": "循環器内科", "doctor": "港 一郎",
        "postal_code": "", "address": "", "phone": "", "fax": ""})
    values = {name: "" for name in letters.FIELDS} | letters.quoted_from_record(session, clinic.id, yamada.id)
    values |= {"to_institution": HOSPITAL[1], "to_institution_code": HOSPITAL[0], "to_department": "循環器内科",
               "to_doctor": "港 一郎", "honorific": "先生", "destination_id": hospital.id,
               "purpose": "労作時の胸部圧迫感があり、労作性狭心症の精査をお願いいたします。",
               "course": "半年前から坂道で胸部圧迫感（数分で消失）。安静時心電図は正常。高血圧症で当院通院中。",
               "remarks": "ご多忙のところ恐れ入りますが、よろしくお願いいたします。"}
    # The key image the imaging demo kept (the nodule slice) goes with the letter when the PACS demo ran.
    key_images = [i.id for i in sources.key_images_for(session, clinic.id, yamada.id)]
    letter = letters.create_letter(session, clinic.id, doctor, yamada.id, values, key_images)
    letters.confirm_letter(session, doctor, letter)
    log.info("demo referral letter added")
    return True


def refresh_yamada_copy(session: Session) -> int:
    """Fetch 山田 太郎's 6 information from the simulator through the service function the 6情報 page uses, which
    stores the copy of other institutions' entries the safety banner reads. Returns how many entries it found (0
    without consent or when the simulator could not be asked: the banner then shows none, as in a clinic)."""
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == CLINIC_A))
    yamada = patients.find_by_orca_id(session, clinic.id, "00001") if clinic else None
    if yamada is None:
        return 0
    view = sharing.national_view(session, clinic, yamada)
    if view.problem:
        log.warning("sharing demo: 山田 太郎's 6 information not fetched: %s", view.problem)
    return sum(len(entries) for entries in view.entries.values())
