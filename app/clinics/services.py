"""Clinic settings and staff accounts: the administrator's work."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.passwords import hash_password
from app.auth.services import confirm_own_password, find_user_by_login
from app.clinics.models import Clinic, StaffUser
from app.core.audit import Actor, record_audit, summarize_change
from app.core.checkdigit import luhn_valid
from app.core.errors import ValidationError
from app.core.forms import client_cert_setting
from app.core.security import ROLE_LABELS, Role
from app.core.urls import connection_url
from app.db import get_scoped

PREFECTURE_CODES = range(1, 48)
#: 点数表番号: 1 医科, 3 歯科, 4 調剤 (this product serves 医科 clinics, but the code format admits all three).
SCORE_TABLE_CODES = {"1", "3", "4"}
IDLE_LOCK_RANGE = range(1, 61)


def validate_institution_code(code: str) -> str:
    """Check a 医療機関コード (10 digits: prefecture, score table, 7 with a Luhn check digit over all ten)."""
    code = (code or "").strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if not re.fullmatch(r"[0-9]{10}", code):
        raise ValidationError("医療機関コードは10桁の数字で入力してください", field="institution_code")
    if int(code[:2]) not in PREFECTURE_CODES:
        raise ValidationError("医療機関コードの都道府県番号（先頭2桁）が01〜47ではありません", field="institution_code")
    if code[2] not in SCORE_TABLE_CODES:
        raise ValidationError("医療機関コードの点数表番号（3桁目）が正しくありません（医科は1）",
                              field="institution_code")
    if not luhn_valid(code):
        raise ValidationError("医療機関コードの検証番号（末尾の1桁）が一致しません。入力を確かめてください",
                              field="institution_code")
    return code


def clinic_snapshot(clinic: Clinic) -> dict[str, Any]:
    """The audited fields of a clinic's settings (never credentials)."""
    return {
        "name": clinic.name, "institution_code": clinic.institution_code, "postal_code": clinic.postal_code,
        "address": clinic.address, "phone": clinic.phone, "departments": clinic.departments,
        "is_full_chart_mode": clinic.is_full_chart_mode, "idle_lock_minutes": clinic.idle_lock_minutes,
    }


def parse_departments(text: str) -> list[dict[str, str]]:
    """Departments typed one per line as "01 内科" (code, space, name)."""
    departments: list[dict[str, str]] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = re.fullmatch(r"([0-9A-Za-z]{2})[\s\u3000]+(.{1,30})", line)
        if not match:
            raise ValidationError(f"診療科の{number}行目は「01 内科」のように、2桁のコードと名称で入力してください",
                                  field="departments")
        code, name = match.group(1).upper(), match.group(2).strip()
        if any(d["code"] == code for d in departments):
            raise ValidationError(f"診療科コード {code} が重複しています", field="departments")
        departments.append({"code": code, "name": name})
    if not departments:
        raise ValidationError("診療科を1つ以上入力してください", field="departments")
    return departments


def update_clinic_settings(session: Session, clinic: Clinic, actor: Actor, data: dict[str, Any]) -> Clinic:
    """Change a clinic's settings; validated, audited with a before/after summary."""
    before = clinic_snapshot(clinic)
    code = validate_institution_code(data["institution_code"])
    other = session.scalar(select(Clinic).where(Clinic.institution_code == code, Clinic.id != clinic.id))
    if other is not None:
        raise ValidationError("この医療機関コードは既に登録されています", field="institution_code")
    minutes = int(data["idle_lock_minutes"])
    if minutes not in IDLE_LOCK_RANGE:
        raise ValidationError("画面ロックまでの時間は1〜60分で指定してください", field="idle_lock_minutes")
    clinic.name = data["name"].strip()
    clinic.institution_code = code
    clinic.postal_code = (data.get("postal_code") or "").strip()
    clinic.address = (data.get("address") or "").strip()
    clinic.phone = (data.get("phone") or "").strip()
    clinic.departments = parse_departments(data["departments"])
    clinic.is_full_chart_mode = bool(data.get("is_full_chart_mode"))
    clinic.idle_lock_minutes = minutes
    session.flush()
    record_audit(session, actor, "clinic.update", clinic_id=clinic.id, entity_type="clinic", entity_id=clinic.id,
                 summary=summarize_change(before, clinic_snapshot(clinic)))
    return clinic


def staff_snapshot(user: StaffUser) -> dict[str, Any]:
    """The audited fields of a staff account (never the password or TOTP secret)."""
    return {"login_id": user.login_id, "display_name": user.display_name, "display_kana": user.display_kana,
            "role": user.role, "is_active": user.is_active}


def validate_role(role: str) -> str:
    """Refuse a role that does not exist."""
    if role not in {r.value for r in Role}:
        raise ValidationError("職種の指定が正しくありません", field="role")
    return role


def list_staff(session: Session, clinic_id: int) -> list[StaffUser]:
    """Staff accounts of one clinic, by role then login ID."""
    rows = session.scalars(select(StaffUser).where(StaffUser.clinic_id == clinic_id)).all()
    order = list(ROLE_LABELS)
    return sorted(rows, key=lambda u: (order.index(u.role) if u.role in order else 99, u.login_id))


def get_staff(session: Session, clinic_id: int, user_id: int) -> StaffUser | None:
    """One staff account of this clinic (None for another clinic's)."""
    return get_scoped(session, StaffUser, clinic_id, user_id)


def new_initial_password() -> str:
    """A one-time initial password the administrator hands over; it must be changed at first login."""
    return f"{secrets.token_hex(3)}-{secrets.token_hex(3)}-{secrets.randbelow(90) + 10}"


def create_staff(session: Session, clinic: Clinic, actor: Actor, data: dict[str, Any]) -> tuple[StaffUser, str]:
    """Create an account with an initial password (returned once); first login forces a change and TOTP."""
    login_id = data["login_id"].strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{2,63}", login_id):
        raise ValidationError("ログインIDは英数字と . _ - で3〜64文字にしてください", field="login_id")

    if find_user_by_login(session, login_id) is not None:
        raise ValidationError("このログインIDは既に使われています", field="login_id")
    initial = new_initial_password()
    user = StaffUser(
        clinic_id=clinic.id, login_id=login_id, display_name=data["display_name"].strip(),
        display_kana=(data.get("display_kana") or "").strip(), role=validate_role(data["role"]),
        password_hash=hash_password(initial), must_change_password=True,
    )
    session.add(user)
    session.flush()
    record_audit(session, actor, "staff.create", clinic_id=clinic.id, entity_type="staff_user", entity_id=user.id,
                 summary={"after": staff_snapshot(user)})
    return user, initial


def update_staff(session: Session, user: StaffUser, actor: Actor, data: dict[str, Any]) -> StaffUser:
    """Change name, role or active state; deactivating ends the account's sessions."""
    before = staff_snapshot(user)
    role = validate_role(data["role"])
    is_active = bool(data.get("is_active"))
    if user.id == actor.user_id and (role != user.role or not is_active):
        raise ValidationError("自分自身の職種変更・無効化はできません。別の管理者に依頼してください", field="role")
    user.display_name = data["display_name"].strip()
    user.display_kana = (data.get("display_kana") or "").strip()
    user.role = role
    if user.is_active and not is_active:
        user.session_epoch += 1
    user.is_active = is_active
    session.flush()
    record_audit(session, actor, "staff.update", clinic_id=user.clinic_id, entity_type="staff_user",
                 entity_id=user.id, summary=summarize_change(before, staff_snapshot(user)))
    return user


def reset_staff_credentials(session: Session, user: StaffUser, actor: Actor, admin: StaffUser,
                            admin_password: str) -> str:
    """Administrator's reset for a forgotten password or lost phone: new initial password, TOTP enrolled anew.
    The administrator's own password is asked again first (a session left open must not hand out accounts)."""
    confirm_own_password(admin, admin_password)
    initial = new_initial_password()
    user.password_hash = hash_password(initial)
    user.must_change_password = True
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.failed_login_count = 0
    user.locked_until = None
    user.session_epoch += 1
    session.flush()
    record_audit(session, actor, "staff.reset_credentials", clinic_id=user.clinic_id, entity_type="staff_user",
                 entity_id=user.id)
    return initial


def update_orca_settings(session: Session, clinic: Clinic, actor: Actor, data: dict[str, Any]) -> Clinic:
    """Set the WebORCA connection (an empty password keeps the current one); audited without the secret."""
    base_url = connection_url(data.get("base_url"), "ORCA", "患者情報")
    orca = clinic.integration("orca")
    before = {k: orca.get(k) for k in ("base_url", "user", "verify", "cert")}
    orca.update({"base_url": base_url, "user": (data.get("user") or "").strip(),
                 "verify": bool(data.get("verify_tls"))})
    orca["cert"] = client_cert_setting(data)
    if data.get("password"):
        orca["password"] = data["password"]
    clinic.set_integration("orca", orca)
    session.flush()
    after = {k: orca.get(k) for k in ("base_url", "user", "verify", "cert")}
    record_audit(session, actor, "clinic.orca_settings", clinic_id=clinic.id, entity_type="clinic",
                 entity_id=clinic.id, summary={**summarize_change(before, after),
                                               "password_changed": bool(data.get("password"))})
    return clinic


def staff_labels(session: Session, clinic_id: int, ids: set[int]) -> dict[int, str]:
    """「氏名（役割）」 of some staff of a clinic, by id (for lists that say who did something)."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: f"{u.display_name}（{ROLE_LABELS.get(u.role, u.role)}）" for u in session.execute(
        select(StaffUser.id, StaffUser.display_name, StaffUser.role).where(
            StaffUser.clinic_id == clinic_id, StaffUser.id.in_(ids)))}
