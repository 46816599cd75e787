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
