"""Partner applications, their client secrets and access tokens (stored hashed), and the rate-limit counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, ClinicScoped, Timestamps, UTCDateTime, utcnow

#: Requests an application may make per minute unless the administrator sets another limit.
DEFAULT_RATE_LIMIT = 600


class PartnerApp(ClinicScoped, Timestamps, Base):
    """An outside application (web booking, online consultation, a specialty UI) registered by a clinic's
    administrator with the scopes it may use; it sees that clinic only."""

    __tablename__ = "partner_app"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The public OAuth2 client_id (random, unique across the service).
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    #: Scopes granted by the administrator (app/partners/scopes.py); a token asks for a subset.
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, default=DEFAULT_RATE_LIMIT)
    #: Where signed webhooks go (https in production); None: no webhooks.
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    #: The HMAC key of the webhooks, sealed at rest (app.core.secrets): the receiver must hold it in clear.
    webhook_secret_sealed: Mapped[str | None] = mapped_column(Text)
    #: Event kinds the application subscribed to (webhooks.EVENTS).
    webhook_events: Mapped[list[str]] = mapped_column(JSON, default=list)

    secrets: Mapped[list[PartnerSecret]] = relationship(back_populates="app", order_by="PartnerSecret.id")

    def __repr__(self) -> str:
        return f"<PartnerApp {self.id} {self.name}>"


class PartnerSecret(Base):
    """One client secret of an application, as a SHA-256 hash. During a rotation two are valid: the new one and
    the old one until its `expires_at`."""

    __tablename__ = "partner_secret"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("partner_app.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: None while the secret is the current one; set when a newer one replaces it.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    app: Mapped[PartnerApp] = relationship(back_populates="secrets")


class PartnerToken(Base):
    """A short-lived bearer token issued by /oauth/token, as a SHA-256 hash."""

    __tablename__ = "partner_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("partner_app.id"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_partner_token_app_expiry", "app_id", "expires_at"),)


class PartnerRateWindow(Base):
    """Requests of one application in one minute: the counter every process increments, so they agree."""

    __tablename__ = "partner_rate_window"

    app_id: Mapped[int] = mapped_column(ForeignKey("partner_app.id"), primary_key=True)
    #: Minutes since the epoch (UTC).
    window: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
