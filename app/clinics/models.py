"""Clinics (tenants) and their staff accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.secrets import SealedJSON
from app.db import Base, UTCDateTime, utcnow

#: Departments a new clinic starts with (ORCA / レセ電 診療科 codes).
DEFAULT_DEPARTMENTS: list[dict[str, str]] = [{"code": "01", "name": "内科"}]


class Clinic(Base):
    """A clinic without beds: the tenant every clinical row belongs to."""

    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: 医療機関コード: 都道府県番号 2 + 点数表番号 1 + 医療機関番号 7 (last digit a check digit).
    institution_code: Mapped[str] = mapped_column(String(10), unique=True)
    postal_code: Mapped[str] = mapped_column(String(8), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    #: Departments as [{"code": "01", "name": "内科"}], codes as ORCA knows them.
    departments: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=lambda: list(DEFAULT_DEPARTMENTS))
    #: Full-chart mode adds typed SOAP notes; off means paper-chart companion.
    is_full_chart_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Minutes of inactivity before the screen locks and asks for the password again.
    idle_lock_minutes: Mapped[int] = mapped_column(Integer, default=10)
    #: Connections to outside systems: {"orca": {"base_url": ..., "user": ..., ...}, ...}; passwords and tokens
    #: are sealed at rest (app.core.secrets).
    integrations: Mapped[dict[str, Any]] = mapped_column(SealedJSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    staff: Mapped[list[StaffUser]] = relationship(back_populates="clinic")

    def __repr__(self) -> str:
        return f"<Clinic {self.institution_code} {self.name}>"

    def department_name(self, code: str) -> str:
        """The department's name for a code, or the code itself when unknown."""
        return next((d["name"] for d in self.departments or [] if d.get("code") == code), code)

    def integration(self, key: str) -> dict[str, Any]:
        """A copy of one outside connection's settings ("orca", "pacs", "lab_center", "sharing", "eprescription",
        …); {} when the clinic has none."""
        return dict((self.integrations or {}).get(key) or {})

    def set_integration(self, key: str, settings: dict[str, Any]) -> None:
        """Replace one connection's settings, the others kept (a new dict, so the change is saved)."""
        self.integrations = {**(self.integrations or {}), key: settings}


class StaffUser(UserMixin, Base):
    """A staff account: belongs to one clinic, has one role, logs in with a password and TOTP."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    #: Unique across the whole service, so a login needs no clinic selector.
    login_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    display_kana: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Set for a new account or an administrator's reset: the next login must choose a new password.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Last accepted TOTP time step and the address it came from (a code is not replayed elsewhere).
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    totp_last_ip: Mapped[str | None] = mapped_column(String(64))
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Bumped on password change or deactivation: every older session ends.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    clinic: Mapped[Clinic] = relationship(back_populates="staff", lazy="joined")

    def __repr__(self) -> str:
        return f"<StaffUser {self.login_id} {self.role}>"

    def get_id(self) -> str:
        """Session identity: id and epoch, so a password change ends older sessions."""
        return f"{self.id}:{self.session_epoch}"

    @property
    def has_totp(self) -> bool:
        """Whether a second factor is enrolled."""
        return bool(self.totp_secret and self.totp_enrolled_at)
