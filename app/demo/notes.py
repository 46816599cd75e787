"""Demo progress notes for clinic B (full-chart mode): its 山田 太郎 has three visits' SOAP notes, one of them
corrected later with a reason, so the chart and its 修正履歴 can be seen; and the clinic's 診療録テンプレート and
定型文, kept by its administrator (b-admin), for writing new notes."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.timeutil import japan_today
from app.demo.clinical import _actor
from app.notes import library
from app.notes import services as notes
from app.notes.models import OTHER, NotePhrase, NoteTemplate, ProgressNote
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
        # Past visits are not in the reception mirror (it holds ORCA's days as pulled): notes of their own.
        day = today - timedelta(days_ago)
        header = notes.NoteHeader(day, None, OTHER, "内科", "芝 健一", "協会けんぽ 本人 3割")
        notes.save_note(session, clinic, _actor(session, clinic, login_id), patient, day, content, base_version=0,
                        today=today, header=header)
    # The doctor corrects the assessment of two weeks ago: a second version with its reason.
    earlier = today - timedelta(14)
    notes.save_note(session, clinic, _actor(session, clinic, "b-doctor"), patient, earlier,
                    replace(VISITS[1][2], assessment="咳喘息 改善傾向（吸入手技良好）"),
                    base_version=1, today=today, reason="評価の追記")
    log.info("demo progress notes added")
    return True


#: (name, department, purpose, source): the clinic's templates (see app.notes.templating for the lines).
TEMPLATES = [
    ("再診 高血圧", "内科", "再診 高血圧",
     "[S] 自覚症状\n頭痛: choice あり/なし\nめまい: choice あり/なし\n家庭血圧（朝）: number mmHg 60-260\n"
     "服薬: choice 毎日服用/ときどき忘れる/中断\n[O] 診察\n血圧（収縮期）: number mmHg 60-260\n"
     "血圧（拡張期）: number mmHg 30-160\n脈拍: number /分 30-200\n浮腫: choice なし/軽度/あり\n"
     "[A] 評価\n評価: choice 目標達成/目標未達/悪化\n[P] 方針\n処方: choice 継続/増量/変更\n次回: text"),
    ("初診 内科", "内科", "初診",
     "[S] 主訴・現病歴\n主訴: text\n発症: text\n既往歴: text\n[O] 所見\n体温: number ℃ 34-42\n"
     "血圧（収縮期）: number mmHg 60-260\nSpO2: number % 70-100\n[A] 評価\n評価: text\n[P] 計画\n計画: text"),
    ("小児 発熱", "小児科", "発熱",
     "[S] 経過\n発熱の日数: number 日 0-30\n最高体温: number ℃ 35-43\n咳: choice なし/軽い/強い\n"
     "哺乳・食事: choice 良好/低下/不良\n[O] 所見\n体温: number ℃ 34-43\n咽頭: choice 発赤なし/発赤あり/白苔あり\n"
     "鼓膜: choice 正常/発赤/膨隆\n[P] 方針\n方針: text"),
    ("電話再診", "", "電話再診",
     "[S] 電話での聴取\n内容: text\n[A] 評価\n評価: text\n[P] 方針\n方針: text\n@include 処方継続の確認"),
    ("処方継続の確認", "", "処方",
     "[P] 処方\n処方: choice 前回と同じ/変更あり\n薬局への連絡: choice 不要/済み"),
]
#: (title, reading, SOAP part, text): the clinic's 定型文.
PHRASES = [
    ("咽頭発赤なし", "いんとうほっせきなし", "objective", "咽頭発赤なし、扁桃腫大なし"),
    ("胸部聴診 清", "きょうぶちょうしんせい", "objective", "胸部聴診: 心音整、雑音なし。呼吸音清、ラ音なし"),
    ("腹部所見なし", "ふくぶしょけんなし", "objective", "腹部: 平坦・軟、圧痛なし、腸蠕動音正常"),
    ("症状悪化時は再診", "しょうじょうあっかじはさいしん", "plan",
     "症状が悪化した場合や新たな症状が出た場合は早めに再診"),
    ("減塩指導", "げんえんしどう", "plan", "減塩（1日6g未満）と適度な運動について説明した"),
    ("経過観察", "けいかかんさつ", "assessment", "経過観察"),
    ("水分摂取を説明", "すいぶんせっしゅをせつめい", "plan", "こまめな水分摂取と安静について保護者に説明した"),
    ("服薬状況良好", "ふくやくじょうきょうりょうこう", "subjective", "飲み忘れなく服用できている"),
]


def seed_note_library(session: Session) -> bool:
    """Clinic B's templates and phrases, once (False when the clinic is not in full-chart mode or has them)."""
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == CLINIC_B))
    if clinic is None or not clinic.is_full_chart_mode or session.scalar(
            select(NoteTemplate.id).where(NoteTemplate.clinic_id == clinic.id).limit(1)):
        return False
    admin = _actor(session, clinic, "b-admin")
    # Included templates first, so that the ones taking them in find them.
    for name, department, purpose, source in reversed(TEMPLATES):
        library.save_template(session, admin, lineage_id=None, scope=library.CLINIC, name=name,
                              department=department, purpose=purpose, source=source)
    if not session.scalar(select(NotePhrase.id).where(NotePhrase.clinic_id == clinic.id).limit(1)):
        for title, kana, part, text in PHRASES:
            library.save_phrase(session, admin, phrase_id=None, scope=library.CLINIC, title=title, kana=kana,
                                text=text, part=part)
    log.info("demo note templates and phrases added")
    return True
