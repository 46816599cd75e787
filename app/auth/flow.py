"""The steps of a login kept in the signed session cookie between pages (web glue, not business rules)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import current_app, redirect, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from app.auth.services import LoginError, LoginPolicy, end_login_session, is_locked, verify_unlock
from app.clinics.models import StaffUser
from app.core.audit import record_audit
from app.core.web import current_actor
from app.db import db_session

PENDING_KEY = "pending_login"
#: The session cookie's key for the server-side login session's token.
LOGIN_TOKEN_KEY = "sid"  # noqa: S105 (a key name, not a secret)
PENDING_SECONDS = 600
DEVICE_COOKIE = "kamikarte_device"
DEVICE_COOKIE_DAYS = 400  # browsers cap cookie lifetime at 400 days; the 30-day rule is checked server side


def policy() -> LoginPolicy:
    """Lockout and risk-check numbers from the configuration."""
    cfg = current_app.config
    return LoginPolicy(cfg["LOCKOUT_THRESHOLD"], cfg["LOCKOUT_MINUTES"], cfg["TRUSTED_DEVICE_DAYS"])


def start_pending(user: StaffUser, stage: str) -> None:
    """Remember that this browser passed the password step for `user` and must do `stage` next."""
    session[PENDING_KEY] = {"uid": user.id, "epoch": user.session_epoch, "stage": stage, "at": time.time()}


def pending_user(stage: str) -> StaffUser | None:
    """The user in the middle of a login at `stage`, or None when there is none or it expired."""
    data: dict[str, Any] | None = session.get(PENDING_KEY)
    if not data or data.get("stage") != stage or time.time() - data.get("at", 0) > PENDING_SECONDS:
        return None
    user = db_session().get(StaffUser, data["uid"])
    if user is None or not user.is_active or user.session_epoch != data.get("epoch"):
        return None
    return user


def next_stage_url(stage: str) -> Response:
    """Redirect to the page of a login stage."""
    return redirect(url_for({"new_password": "auth.new_password", "enrol": "auth.enrol",
                             "verify": "auth.verify"}[stage]))


def finish_login(user: StaffUser, token: str) -> None:
    """Open the session: a fresh cookie (no fixation) carrying the server-side session's token, start times for
    the 12-hour and idle limits."""
    session.clear()
    session[LOGIN_TOKEN_KEY] = token
    login_user(user)
    now = time.time()
    session["auth_at"] = now
    session["last_seen"] = now


def set_device_cookie(response: Response, token: str) -> Response:
    """The trusted-device cookie (random token; the server keeps its hash)."""
    response.set_cookie(DEVICE_COOKIE, token, max_age=DEVICE_COOKIE_DAYS * 86400, httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Lax")
    return response


@dataclass(frozen=True)
class UnlockRefused:
    """A wrong password at a lock: what to tell the user, and whether the account is now locked (the session has
    then ended)."""

    message: str
    account_locked: bool


def unlock_with_password(password: str) -> UnlockRefused | None:
    """The logged-in staff member's password that ends a lock (the idle screen lock, the patient screen): None when
    it is right (the session unlocked, its idle clock restarted). A wrong one counts toward the lockout like a
    failed login and is audited; at the limit the account is locked and this session ends (logged out)."""
    db = db_session()
    user = db.merge(current_user._get_current_object())
    try:
        verify_unlock(db, user, password or "", current_actor(), policy())
    except LoginError as exc:
        locked = is_locked(user)
        record_audit(db, current_actor(), "auth.unlock_failed", entity_type="staff_user", entity_id=user.id,
                     summary={"locked": locked})
        if locked:
            end_login_session(db, session.get(LOGIN_TOKEN_KEY), "locked")
        db.commit()
        if locked:
            logout_user()
            session.clear()
        return UnlockRefused(exc.message, locked)
    db.commit()
    session["locked"] = False
    session["last_seen"] = time.time()
    return None
