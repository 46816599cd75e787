"""Trusted devices and one-time recovery codes of the second factor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class TrustedDevice(Base):
    """A browser that passed the second factor for a user; the cookie holds the token, we keep its hash."""

    __tablename__ = "trusted_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), index=True)
    #: When this device last passed the second factor; after 30 days it is asked again.
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(255), default="")

    def __repr__(self) -> str:
        return f"<TrustedDevice user={self.user_id}>"


class RecoveryCode(Base):
    """A one-time code for a lost authenticator; only its hash is kept."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<RecoveryCode user={self.user_id} used={self.used_at is not None}>"


class LoginSession(Base):
    """One login of one browser, kept on the server: the session cookie carries a random token whose hash is
    kept here, so that logging out (or an administrator ending it) refuses that cookie from then on, even a copy
    taken before. Shared by every app process through the database."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set when the session ended (logout, password change, expiry); a cookie of an ended session is refused.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_reason: Mapped[str] = mapped_column(String(32), default="")
    #: While the tablet is handed to a patient (patient_view), that patient's id. Kept here, not only in the
    #: cookie, so that a copy of the cookie taken before the handover is still held to the patient screen.
    handed_over_patient_id: Mapped[int | None] = mapped_column()
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")

    def __repr__(self) -> str:
        return f"<LoginSession user={self.user_id} ended={self.ended_at is not None}>"


class LoginIdThrottle(Base):
    """Failed logins for a login ID that names no account, counted like an account's, so that the lockout
    message appears after the same number of tries whether the ID exists or not (no account enumeration)."""

    __tablename__ = "login_id_throttle"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the login ID as compared (lower case): the typed IDs themselves are not kept.
    login_id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
