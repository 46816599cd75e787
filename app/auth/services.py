"""Login, lockout, the second factor with its risk check, password change and TOTP enrolment."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from app.auth import totp
from app.auth.models import LoginIdThrottle, LoginSession, RecoveryCode, TrustedDevice
from app.auth.passwords import check_password_rules, hash_password, verify_password
from app.clinics.models import StaffUser
from app.core.audit import Actor, record_audit
from app.core.errors import DomainError, ValidationError
from app.core.security import Role
from app.core.timeutil import to_japan_time
from app.db import utcnow

WRONG_CREDENTIALS = "ログインIDまたはパスワードが正しくありません"


class LoginError(DomainError):
    """A login step failed; the message is safe to show (it never says which part was wrong)."""

    code = "login_failed"


@dataclass(frozen=True)
class LoginPolicy:
    """Lockout and risk-check numbers (from the app's configuration)."""

    lockout_threshold: int = 5
    lockout_minutes: int = 15
    trusted_device_days: int = 30


_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(16))
    return _DUMMY_HASH


def find_user_by_login(session: Session, login_id: str) -> StaffUser | None:
    """The account with this login ID (IDs are unique across the service; compared without case)."""
    login_id = (login_id or "").strip()
    if not login_id or len(login_id) > 64:
        return None
    return session.scalar(select(StaffUser).where(func.lower(StaffUser.login_id) == login_id.lower()))


def _register_failure(session: Session, user: StaffUser, actor: Actor, policy: LoginPolicy, step: str) -> None:
    """Count a failed attempt; the fifth in a row locks the account for a while."""
    user.failed_login_count += 1
    record_audit(session, actor, "auth.login_failed", clinic_id=user.clinic_id, entity_type="staff_user",
                 entity_id=user.id, summary={"step": step, "failed_count": user.failed_login_count})
    if user.failed_login_count >= policy.lockout_threshold:
        user.locked_until = utcnow() + timedelta(minutes=policy.lockout_minutes)
        user.failed_login_count = 0
        record_audit(session, actor, "auth.locked", clinic_id=user.clinic_id, entity_type="staff_user",
                     entity_id=user.id, summary={"locked_until": user.locked_until.isoformat()})


def _locked_message(user: StaffUser) -> str:
    return _locked_message_until(user.locked_until)


def is_locked(user: StaffUser, now: datetime | None = None) -> bool:
    """Whether the account is inside a lockout period."""
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def _locked_message_until(locked_until: datetime | None) -> str:
    until = to_japan_time(locked_until).strftime("%H:%M") if locked_until else ""
    return f"ログインの失敗が続いたため、アカウントをロックしています。{until}以降にもう一度お試しください"


def _refuse_unknown_login_id(session: Session, login_id: str, actor: Actor, policy: LoginPolicy) -> LoginError:
    """An unknown or inactive login ID is counted like an account: after the same number of tries it gets the
    same lockout message, so that neither the message nor the count tells whether the ID exists."""
    key = hashlib.sha256((login_id or "").strip().lower().encode()).hexdigest()
    throttle = session.scalar(select(LoginIdThrottle).where(LoginIdThrottle.login_id_hash == key))
    if throttle is None:
        throttle = LoginIdThrottle(login_id_hash=key, failed_login_count=0)
        session.add(throttle)
    now = utcnow()
    if throttle.locked_until is not None and throttle.locked_until > now:
        return LoginError(_locked_message_until(throttle.locked_until))
    throttle.failed_login_count += 1
    if throttle.failed_login_count >= policy.lockout_threshold:
        throttle.locked_until = now + timedelta(minutes=policy.lockout_minutes)
        throttle.failed_login_count = 0
        return LoginError(_locked_message_until(throttle.locked_until))
    return LoginError(WRONG_CREDENTIALS)


def authenticate_password(
    session: Session, login_id: str, password: str, actor: Actor, policy: LoginPolicy
) -> StaffUser:
    """First step: login ID and password. Failures are counted and audited before LoginError is raised. Every
    path checks one password hash (the account's or a dummy), so the answer takes as long whether the ID exists,
    is locked or not."""
    user = find_user_by_login(session, login_id)
    if user is None or not user.is_active:
        verify_password(_dummy_hash(), password or "")
        record_audit(session, Actor(None, (login_id or "")[:64], None, ip_address=actor.ip_address),
                     "auth.login_failed", clinic_id=user.clinic_id if user else None,
                     summary={"step": "password", "reason": "inactive" if user else "unknown_login_id"})
        raise _refuse_unknown_login_id(session, login_id, actor, policy)
    actor = Actor(user.id, user.login_id, user.clinic_id, user.role, actor.ip_address, actor.user_agent)
    if is_locked(user):
        verify_password(_dummy_hash(), password or "")
        record_audit(session, actor, "auth.login_refused_locked", entity_type="staff_user", entity_id=user.id)
        raise LoginError(_locked_message(user))
    if not verify_password(user.password_hash, password or ""):
        _register_failure(session, user, actor, policy, "password")
        if is_locked(user):
            raise LoginError(_locked_message(user))
        raise LoginError(WRONG_CREDENTIALS)
    return user


def verify_unlock(session: Session, user: StaffUser, password: str, actor: Actor, policy: LoginPolicy) -> None:
    """The password that unlocks a locked screen. A wrong one counts toward the lockout like a failed login; at
    the limit the account is locked and LoginError says so (the caller then ends the session)."""
    if is_locked(user):
        raise LoginError(_locked_message(user))
    if verify_password(user.password_hash, (password or "")[:128]):
        user.failed_login_count = 0
        return
    _register_failure(session, user, actor, policy, "unlock")
    if is_locked(user):
        raise LoginError(_locked_message(user))
    raise LoginError("パスワードが正しくありません")


def confirm_own_password(user: StaffUser, password: str) -> None:
    """An administrator's own password, asked again before a change to someone else's credentials."""
    if not verify_password(user.password_hash, (password or "")[:128]):
        raise ValidationError("ご自身（管理者）のパスワードが正しくありません", field="admin_password")


def hash_device_token(token: str) -> str:
    """Device cookies are kept as SHA-256 hashes (the token itself is random, 256 bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def second_factor_required(
    session: Session, user: StaffUser, device_token: str | None, policy: LoginPolicy
) -> bool:
    """Risk check: new device, 30 days since the device's last second factor, administrators, password change."""
    if user.role == Role.ADMIN or not device_token:
        return True
    device = session.scalar(select(TrustedDevice).where(
        TrustedDevice.user_id == user.id, TrustedDevice.token_hash == hash_device_token(device_token)))
    if device is None:
        return True
    if device.verified_at < utcnow() - timedelta(days=policy.trusted_device_days):
        return True
    return device.verified_at < user.password_changed_at


def verify_second_factor(
    session: Session, user: StaffUser, code: str, actor: Actor, policy: LoginPolicy
) -> str:
    """Check a TOTP code or a recovery code; return which one was used. Failures count toward lockout."""
    if is_locked(user):
        raise LoginError(_locked_message(user))
    code = (code or "").strip()
    if len(code) > 32:
        code = ""
    if user.totp_secret and code.replace(" ", "").isdigit():
        step = totp.matching_step(user.totp_secret, code)
        # RFC 6238 §5.2: a code is accepted once per time step and account, from whatever address it comes.
        replayed = step is not None and step <= user.totp_last_step
        if step is not None and not replayed:
            user.totp_last_step = max(step, user.totp_last_step)
            user.totp_last_ip = actor.ip_address
            return "totp"
        _register_failure(session, user, actor, policy, "totp_replayed" if replayed else "totp")
        if replayed:
            raise LoginError("このワンタイムコードは既に使われています。次のコードが表示されるまでお待ちください")
        raise LoginError("ワンタイムコードが正しくないか、有効期限が切れています")
    for row in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                          RecoveryCode.used_at.is_(None))):
        if totp.recovery_code_matches(row.code_hash, code):
            row.used_at = utcnow()
            record_audit(session, actor, "auth.recovery_code_used", entity_type="staff_user", entity_id=user.id)
            return "recovery"
    _register_failure(session, user, actor, policy, "recovery_code")
    raise LoginError("確認コードが正しくないか、既に使用済みです")


def trust_device(session: Session, user: StaffUser, device_token: str | None, user_agent: str) -> str | None:
    """Remember this browser as having passed the second factor now; returns the cookie token."""
    device = None
    if device_token:
        device = session.scalar(select(TrustedDevice).where(
            TrustedDevice.user_id == user.id, TrustedDevice.token_hash == hash_device_token(device_token)))
    if device is None:
        device_token = secrets.token_urlsafe(32)
        device = TrustedDevice(user_id=user.id, token_hash=hash_device_token(device_token),
                               user_agent=(user_agent or "")[:255])
        session.add(device)
    device.verified_at = utcnow()
    device.last_seen_at = utcnow()
    session.flush()
    return device_token


def complete_login(session: Session, user: StaffUser, actor: Actor, method: str) -> None:
    """Record a successful login: reset the failure count, audit it."""
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    record_audit(session, actor, "auth.login", clinic_id=user.clinic_id, entity_type="staff_user",
                 entity_id=user.id, summary={"second_factor": method})


def change_password(
    session: Session, user: StaffUser, actor: Actor, *, new_password: str, confirmation: str,
    current_password: str | None = None,
) -> None:
    """Set a new password under the rules; every other session of the user ends and 2FA is asked again."""
    if current_password is not None and not verify_password(user.password_hash, current_password):
        raise ValidationError("現在のパスワードが正しくありません", field="current_password")
    if new_password != confirmation:
        raise ValidationError("確認用のパスワードが一致しません", field="confirmation")
    check_password_rules(new_password, login_id=user.login_id, names=[user.display_name, user.display_kana])
    if verify_password(user.password_hash, new_password):
        raise ValidationError("以前と同じパスワードは使用できません", field="password")
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    user.session_epoch += 1
    record_audit(session, actor, "auth.password_changed", clinic_id=user.clinic_id, entity_type="staff_user",
                 entity_id=user.id)


def enrol_totp(session: Session, user: StaffUser, actor: Actor, secret: str, code: str) -> list[str]:
    """Confirm a new authenticator with one of its codes; returns fresh recovery codes (shown once)."""
    step = totp.matching_step(secret, code)
    if step is None:
        raise ValidationError("ワンタイムコードが正しくありません。アプリに表示されている6桁の数字を入力してください",
                              field="code")
    user.totp_secret = secret
    user.totp_enrolled_at = utcnow()
    user.totp_last_step = step
    user.totp_last_ip = actor.ip_address
    codes = replace_recovery_codes(session, user)
    record_audit(session, actor, "auth.totp_enrolled", clinic_id=user.clinic_id, entity_type="staff_user",
                 entity_id=user.id)
    return codes


def replace_recovery_codes(session: Session, user: StaffUser) -> list[str]:
    """Issue a new set of recovery codes, voiding the old ones."""
    for row in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                          RecoveryCode.used_at.is_(None))):
        row.used_at = utcnow()
    codes = totp.new_recovery_codes()
    session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(c)) for c in codes)
    session.flush()
    return codes


def open_login_session(session: Session, user: StaffUser, actor: Actor) -> str:
    """Start a server-side login session; returns the random token the session cookie carries (we keep its hash)."""
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, token_hash=hash_device_token(token), ip_address=actor.ip_address or "",
                             user_agent=(actor.user_agent or "")[:255]))
    session.flush()
    return token


#: The user of a login session that has not ended, and the patient the session is handed over to — built once
#: (this runs on every request; building the statement and its cache key anew each time cost more than the query).
_SESSION_USER = (select(StaffUser, LoginSession.handed_over_patient_id)
                 .join(LoginSession, LoginSession.user_id == StaffUser.id)
                 .where(StaffUser.id == bindparam("user_id"), LoginSession.token_hash == bindparam("token_hash"),
                        LoginSession.ended_at.is_(None)))


def active_login_user(session: Session, identity: str, token: str | None) -> tuple[StaffUser, int | None] | None:
    """The user of a session cookie and the patient its login session is handed over to (None when it is not):
    the identity (`id:epoch`) must name an active account whose credentials have not changed since, and the token a
    login session of that user that has not ended."""
    try:
        user_id, epoch = (int(part) for part in identity.split(":"))
    except ValueError:
        return None
    if not token:
        return None
    row = session.execute(_SESSION_USER, {"user_id": user_id, "token_hash": hash_device_token(token)}).first()
    if row is None:
        return None
    user, handed_over_patient_id = row
    if not user.is_active or user.session_epoch != epoch:
        return None
    return user, handed_over_patient_id


def mark_handover(session: Session, token: str | None, patient_id: int | None) -> None:
    """Record on the server that this login session is handed over to `patient_id` (None: given back)."""
    if not token:
        return
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == hash_device_token(token),
                                                    LoginSession.ended_at.is_(None)))
    if row is not None:
        row.handed_over_patient_id = patient_id


def end_login_session(session: Session, token: str | None, reason: str) -> None:
    """End a login session (logout, expiry): its cookie is refused from now on, wherever it is sent from."""
    if not token:
        return
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == hash_device_token(token),
                                                    LoginSession.ended_at.is_(None)))
    if row is not None:
        row.ended_at = utcnow()
        row.ended_reason = reason[:32]
