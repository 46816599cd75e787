"""Tiny factories with overridable defaults: make_clinic(), make_user(), make_patient(), make_lab_source()."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pyotp
from sqlalchemy.orm import Session

from app.auth.passwords import hash_password
from app.clinics.models import Clinic, StaffUser
from app.db import utcnow
from app.patients.models import Patient

DEMO_PASSWORD = "kamikarte-demo-2026"
_seq = itertools.count(1)

#: Valid 医療機関コード (Luhn over all ten digits) for test clinics.
VALID_CODES = ["1310123458", "1310156789", "1310000009", "1310000017", "1310000025", "1310000033"]


def make_clinic(session: Session, **overrides: Any) -> Clinic:
    """A clinic with a valid 医療機関コード."""
    n = next(_seq)
    values: dict[str, Any] = {
        "name": f"テスト内科クリニック{n}",
        "institution_code": overrides.pop("institution_code", None) or f"131{n:06d}0",
        "departments": [{"code": "01", "name": "内科"}, {"code": "09", "name": "小児科"}],
        "idle_lock_minutes": 10,
    }
    values.update(overrides)
    from app.core.checkdigit import luhn_valid

    code = values["institution_code"]
    if not luhn_valid(code):  # make the check digit right for generated codes
        for d in range(10):
            if luhn_valid(code[:9] + str(d)):
                values["institution_code"] = code[:9] + str(d)
                break
    clinic = Clinic(**values)
    session.add(clinic)
    session.flush()
    return clinic


def make_user(session: Session, clinic: Clinic, role: str = "doctor", **overrides: Any) -> StaffUser:
    """An enrolled staff account (password DEMO_PASSWORD, TOTP secret in .totp_secret)."""
    n = next(_seq)
    password = overrides.pop("password", DEMO_PASSWORD)
    values: dict[str, Any] = {
        "clinic_id": clinic.id, "login_id": f"user{n}-{role}", "display_name": f"職員 {n}",
        "display_kana": f"ショクイン {n}", "role": role, "password_hash": hash_password(password),
        "must_change_password": False, "totp_secret": pyotp.random_base32(),
        "totp_enrolled_at": utcnow(),
    }
    values.update(overrides)
    user = StaffUser(**values)
    session.add(user)
    session.flush()
    return user


def make_patient(session: Session, clinic: Clinic, **overrides: Any) -> Patient:
    """A patient of a clinic (defaults: 山田 太郎)."""
    from app.core.jp import name_search_key

    n = next(_seq)
    values: dict[str, Any] = {
        "clinic_id": clinic.id, "orca_patient_id": f"{n:05d}", "name": "山田 太郎", "kana": "ヤマダ タロウ",
        "sex": "M", "birth_date": date(1958, 3, 2),
    }
    values.update(overrides)
    values.setdefault("name_key", name_search_key(values["name"]))
    values.setdefault("kana_key", name_search_key(values["kana"]))
    patient = Patient(**values)
    session.add(patient)
    session.flush()
    return patient


def make_lab_source(session: Session, clinic: Clinic, patient: Patient) -> dict[str, int]:
    """An order and an imported message of a patient: what every lab result refers to (its composite foreign
    keys). Returns the LabResult keyword arguments that name them."""
    from app.labs.models import LabMessage, LabOrder

    n = next(_seq)
    order = LabOrder(clinic_id=clinic.id, patient_id=patient.id, order_number=f"T{n:09d}", ordered_on=date.today(),
                     status="complete")
    message = LabMessage(clinic_id=clinic.id, patient_id=patient.id, source="file", raw=f"test {n}".encode(),
                         sha256=f"{n:064d}", status="imported")
    session.add_all([order, message])
    session.flush()
    return {"clinic_id": clinic.id, "patient_id": patient.id, "order_id": order.id, "message_id": message.id}
