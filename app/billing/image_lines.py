"""画像診断 of a visit's studies: the day's studies of the patient in the clinic's PACS become lines of the visit's
中途データ (kept as chosen procedures beside its 指導料・管理料, so they are sent, replaced and removed the same way).
A 単純撮影 (CR/DX) study bills 単純撮影（デジタル撮影）(告示 E002), its 写真診断 (E001: イ for 頭部・胸部・腹部・脊椎,
ロ otherwise, read from BodyPartExamined or the study's description) and 電子画像管理加算 (E 通則, 一連の撮影につき).
Other modalities (CT, MR, US …) are listed as not billed: the shipped 医科診療行為マスター has none of their codes
(a clinic that loads the official master picks them in ORCA). A study already billed is never added twice."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing import visit_claim
from app.billing.fees import open_visit
from app.billing.models import VisitFee
from app.billing.procedures import procedures_by_code
from app.billing.visit_send import bill_for
from app.clinics.models import Clinic
from app.core.audit import Actor, record_audit
from app.core.errors import ValidationError
from app.imaging import pacs
from app.integrations.errors import IntegrationError
from app.integrations.pacs.client import Study
from app.reception.models import Visit

#: 単純撮影（デジタル撮影）, 写真診断 イ / ロ, 電子画像管理加算（単純撮影）— rows of the 医科診療行為マスター.
PLAIN, DIAGNOSIS_MAIN, DIAGNOSIS_OTHER, ELECTRONIC = "170027910", "170000410", "170000510", "170000210"
PLAIN_MODALITIES = {"CR", "DX"}
#: 写真診断 イ: 頭部、胸部、腹部又は脊椎 (DICOM BodyPartExamined values, and the words of a description).
MAIN_PARTS = {"HEAD", "SKULL", "CHEST", "ABDOMEN", "SPINE", "CSPINE", "TSPINE", "LSPINE", "SSPINE"}
MAIN_WORDS = ("頭部", "胸部", "腹部", "脊椎", "頸椎", "胸椎", "腰椎")


@dataclass
class StudyBilling:
    """What adding the day's studies did: names of the studies billed, already billed, and not billed (why)."""

    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    not_billed: list[str] = field(default_factory=list)


def _group(study_uid: str) -> str:
    """The lines of one study share a group (fits the 40-character column; a study's UID may be 64)."""
    return "img:" + hashlib.sha256(study_uid.encode()).hexdigest()[:32]


def _main_part(clinic: Clinic, visit: Visit, study: Study) -> bool:
    parts = {f.body_part.upper() for f in pacs.series_facts(clinic, visit.patient, study.study_uid).values()}
    return bool(parts & MAIN_PARTS) or any(word in study.description for word in MAIN_WORDS)


def add_day_studies(session: Session, clinic: Clinic, actor: Actor, visit: Visit) -> StudyBilling:
    """Add the 画像診断 lines of the patient's studies of the visit's day (read from the PACS); queue the visit's
    中途データ when anything was added."""
    open_visit(visit)
    try:
        studies = [s for s in pacs.list_studies(clinic, visit.patient) if s.study_date == visit.visit_date]
    except IntegrationError as exc:
        raise ValidationError(f"PACSから本日の画像を読めません: {exc.message_ja}") from exc
    result = StudyBilling()
    billed = set(session.scalars(select(VisitFee.group).where(
        VisitFee.clinic_id == visit.clinic_id, VisitFee.visit_id == visit.id, VisitFee.removed_at.is_(None))))
    masters = procedures_by_code(session, {PLAIN, DIAGNOSIS_MAIN, DIAGNOSIS_OTHER, ELECTRONIC})
    for study in studies:
        name = f"{study.description or '検査'}（{'・'.join(study.modalities)}）"
        if _group(study.study_uid) in billed:
            result.already.append(name)
            continue
        if not set(study.modalities) & PLAIN_MODALITIES:
            result.not_billed.append(f"{name}: 撮影料のコードが医科診療行為マスターにありません")
            continue
        try:
            diagnosis = DIAGNOSIS_MAIN if _main_part(clinic, visit, study) else DIAGNOSIS_OTHER
        except IntegrationError as exc:
            raise ValidationError(f"PACSから画像の部位を読めません: {exc.message_ja}") from exc
        codes = [code for code in (PLAIN, diagnosis, ELECTRONIC) if code in masters]
        if len(codes) < 3:
            result.not_billed.append(f"{name}: 医科診療行為マスターを読み込んでください")
            continue
        for code in codes:
            session.add(VisitFee(clinic_id=visit.clinic_id, visit_id=visit.id, patient_id=visit.patient_id,
                                 visit_date=visit.visit_date, code=code, name=masters[code].name, quantity=1,
                                 group=_group(study.study_uid), chosen_by_id=actor.user_id))
        result.added.append(name)
    if result.added:
        session.flush()
        record_audit(session, actor, "visit_fee.images", clinic_id=visit.clinic_id, entity_type="visit",
                     entity_id=visit.id, patient_id=visit.patient_id, summary={"after": {"studies": result.added}})
        visit_claim.changed(session, clinic, bill_for(session, visit, create=True))
    return result
