"""Seed the demo clinics and accounts exactly as the README's demo accounts table fixes them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.passwords import hash_password
from app.clinics.models import Clinic, StaffUser
from app.core.audit import SYSTEM, record_audit
from app.db import utcnow

DEMO_PASSWORD = "kamikarte-demo-2026"

CLINICS = [
    {"key": "A", "name": "かみかるて内科クリニック", "institution_code": "1310123458", "is_full_chart_mode": False,
     "postal_code": "160-0023", "address": "東京都新宿区西新宿一丁目1番1号", "phone": "03-0000-1234",
     "departments": [{"code": "01", "name": "内科"}],
     "orca": {"user": "ormaster-a", "password": "orca-demo-a"}},
    {"key": "B", "name": "みなと内科・小児科", "institution_code": "1310156789", "is_full_chart_mode": True,
     "postal_code": "105-0011", "address": "東京都港区芝公園四丁目2番8号", "phone": "03-0000-5678",
     "departments": [{"code": "01", "name": "内科"}, {"code": "09", "name": "小児科"}],
     "orca": {"user": "ormaster-b", "password": "orca-demo-b"}},
]

ACCOUNTS = [
    ("admin", "A", "admin", "管理 花子", "カンリ ハナコ", "PNIILOXBH5UEIYN2QWUV4Q523DEDV4JM"),
    ("doctor", "A", "doctor", "上野 誠", "ウエノ マコト", "IA6YOND7VRBS563LAATXBI6DNXZI4KME"),
    ("nurse", "A", "nurse", "看護 恵子", "カンゴ ケイコ", "PETQVJUWVIGYPN2IQEPA4N4TJYRT5NVG"),
    ("clerk", "A", "clerk", "受付 由美", "ウケツケ ユミ", "F5L6OQQ6Z7CBC5IUUYRR7H7BTSOW7NVV"),
    ("b-admin", "B", "admin", "港 管理", "ミナト カンリ", "RUY2E64RGTSHL3NSWKBINMZIEB6IMK5M"),
    ("b-doctor", "B", "doctor", "芝 健一", "シバ ケンイチ", "QT3YZ2PZDCQTKYHM5OMOHM3IBW3BHTTU"),
    ("b-nurse", "B", "nurse", "白金 愛", "シロガネ アイ", "5SX34K4F3KGEOUB6JC6E2BRTK77EHHAL"),
    ("b-clerk", "B", "clerk", "高輪 勇", "タカナワ イサム", "T5YY2EVBSEJ6XEBRDWEZHS5DIZORF3XA"),
]


class DemoAlreadySeeded(Exception):
    """The database already holds data: the demo is seeded only into an empty one."""


#: The demo clinics' tokens at the lab simulator, and the tokens the lab pushes results to us with.
LAB_DEMO_TOKENS = {"1310123458": "demo-lab-a", "1310156789": "demo-lab-b"}
LAB_INBOUND_DEMO_TOKENS = {"1310123458": "demo-lab-push-a", "1310156789": "demo-lab-push-b"}


def is_empty(session: Session) -> bool:
    """Whether the database has no clinic yet."""
    return (session.scalar(select(func.count()).select_from(Clinic)) or 0) == 0


def seed_demo(session: Session) -> dict[str, Clinic]:
    """Create the two demo clinics and eight accounts (password and TOTP enrolled, no change needed)."""
    if not is_empty(session):
        raise DemoAlreadySeeded("データベースは空ではありません。デモデータは空のデータベースにだけ登録できます")
    clinics: dict[str, Clinic] = {}
    for spec in CLINICS:
        clinic = Clinic(name=spec["name"], institution_code=spec["institution_code"],
                        is_full_chart_mode=spec["is_full_chart_mode"], postal_code=spec["postal_code"],
                        address=spec["address"], phone=spec["phone"], departments=spec["departments"],
                        integrations={"orca": {**spec["orca"], "base_url": ""}})
        session.add(clinic)
        session.flush()
        clinics[spec["key"]] = clinic
        record_audit(session, SYSTEM, "demo.seed_clinic", clinic_id=clinic.id, entity_type="clinic",
                     entity_id=clinic.id)
    password_hash = hash_password(DEMO_PASSWORD)
    for login_id, clinic_key, role, name, kana, secret in ACCOUNTS:
        user = StaffUser(clinic_id=clinics[clinic_key].id, login_id=login_id, display_name=name, display_kana=kana,
                         role=role, password_hash=password_hash, must_change_password=False, totp_secret=secret,
                         totp_enrolled_at=utcnow())
        session.add(user)
        session.flush()
        record_audit(session, SYSTEM, "demo.seed_staff", clinic_id=user.clinic_id, entity_type="staff_user",
                     entity_id=user.id, summary={"after": {"login_id": login_id, "role": role}})
    return clinics
