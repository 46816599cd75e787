"""Roles and what each may do: the one table of permissions, and the decorator every route carries."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from flask import abort, current_app
from flask_login import current_user


class Role(StrEnum):
    """Staff roles of a clinic."""

    ADMIN = "admin"
    DOCTOR = "doctor"
    NURSE = "nurse"
    CLERK = "clerk"


ROLE_LABELS: dict[str, str] = {
    Role.ADMIN: "管理者",
    Role.DOCTOR: "医師",
    Role.NURSE: "看護師",
    Role.CLERK: "医療事務",
}

ALL_ROLES = frozenset(Role)
CLINICAL = frozenset({Role.DOCTOR, Role.NURSE})
DOCTOR_ONLY = frozenset({Role.DOCTOR})
ADMIN_ONLY = frozenset({Role.ADMIN})

#: Which role may do what. Every route names one of these; tests check that none is missing.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "clinic.manage": ADMIN_ONLY,
    "staff.manage": ADMIN_ONLY,
    "audit.read": ADMIN_ONLY,
    # Registering outside applications (API clients) and their credentials, scopes and webhooks.
    "partner.manage": ADMIN_ONLY,
    "outbox.read": ALL_ROLES,
    "outbox.retry": frozenset({Role.ADMIN, Role.CLERK, Role.DOCTOR}),
    "reception.read": ALL_ROLES,
    "reception.write": ALL_ROLES,
    "patient.read": ALL_ROLES,
    "patient.sync": ALL_ROLES,
    # The clinical part of the patient summary (diagnoses, medicines, vitals, results, orders, letters, images).
    "clinical.read": CLINICAL,
    "clinical.write": CLINICAL,
    "profile.write": CLINICAL,
    "masters.read": ALL_ROLES,
    "diagnosis.write": DOCTOR_ONLY,
    "prescription.write": DOCTOR_ONLY,
    "lab.order": CLINICAL,
    "lab.messages": ALL_ROLES,
    "account.self": ALL_ROLES,
    # National 6 information and documents are clinical data: doctors and nurses only (clerks record consent).
    "sharing.read": CLINICAL,
    "sharing.consent": ALL_ROLES,
    # Taking another institution's entry into our record (or dismissing it), and keeping one of ours from the
    # service (共有しない, e.g. a diagnosis not yet told to the patient), are the doctor's decisions.
    "sharing.adopt": DOCTOR_ONLY,
    "sharing.withhold": DOCTOR_ONLY,
    # オンライン資格確認's history (薬剤・診療・特定健診): clinical data; reading the consent anew is for everyone.
    "onshi.read": CLINICAL,
    "onshi.consent": ALL_ROLES,
    "note.read": CLINICAL,
    "note.write": CLINICAL,
    # 診療録テンプレート and 定型文: the clinic's kept by administrators, each doctor's own by the doctor.
    "note.library": frozenset({Role.ADMIN, Role.DOCTOR}),
    # Searching every patient's notes at once is a doctor's look across the clinic (each look is logged).
    "note.search_clinic": DOCTOR_ONLY,
    "letter.read": CLINICAL,
    "letter.write": DOCTOR_ONLY,
    # The clinic's 紹介先 address book (institutions and doctors, no patient data): kept by doctors and admins.
    "referral_book.manage": frozenset({Role.ADMIN, Role.DOCTOR}),
    # The visit's bill (lines, delivery states, ORCA's trial calculation): the clerk's 会計 and the doctor's.
    "billing.read": frozenset({Role.CLERK, Role.DOCTOR, Role.NURSE}),
    # Choosing 指導料・管理料 is the doctor's decision (the clerk corrects them in ORCA).
    "fee.write": DOCTOR_ONLY,
    # Handing the tablet to a patient (the patient screen, its print-out): the doctor or nurse with the patient.
    "patient_view.show": CLINICAL,
}


def role_may(role: str, permission: str) -> bool:
    """Whether a role holds a permission (unknown permissions are refused, never granted)."""
    allowed = PERMISSIONS.get(permission)
    if allowed is None:
        raise KeyError(f"unknown permission {permission!r}")
    return role in allowed


def requires(permission: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Route decorator: the user must be logged in, unlocked and hold `permission`."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not role_may(current_user.role, permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a route that needs no login (login page, health check, PWA shell)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view
