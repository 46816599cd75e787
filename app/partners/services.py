"""Registering partner applications and keeping their credentials: the administrator's rules (each change
audited). A secret is shown once, when made; only its hash is kept."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from app.core.audit import Actor, record_audit
from app.core.errors import ValidationError
from app.core.jp import strip_control_chars
from app.core.secrets import seal
from app.core.urls import url_shape
from app.db import get_scoped, scoped, utcnow
from app.partners.models import DEFAULT_RATE_LIMIT, PartnerApp, PartnerSecret
from app.partners.scopes import SCOPES, unknown_scopes
from app.partners.tokens import digest, new_secret, revoke_all_tokens
from app.partners.webhook_hosts import refusal
from app.partners.webhooks import EVENTS

#: How long the old secret keeps working after a rotation, so the application can switch without a gap.
ROTATION_GRACE = timedelta(hours=24)
MAX_RATE_LIMIT = 100_000


@dataclass(frozen=True)
class Credentials:
    """What the administrator is shown once: the client id and the clear secret."""

    app: PartnerApp
    client_id: str
    client_secret: str
    #: The key the application checks webhook signatures with (shown with the first secret, or when remade).
    webhook_secret: str = ""


def _clean_name(name: str) -> str:
    name = strip_control_chars(name or "").strip()
    if not name:
        raise ValidationError("アプリケーション名を入力してください。", field="name")
    if len(name) > 100:
        raise ValidationError("アプリケーション名は100文字以内で入力してください。", field="name")
    return name


def _clean_scopes(scopes: list[str]) -> list[str]:
    chosen = [name for name in SCOPES if name in scopes]  # registry order, each once
    unknown = unknown_scopes(list(scopes))
    if unknown:
        raise ValidationError(f"存在しないスコープです: {' '.join(unknown)}", field="scopes")
    if not chosen:
        raise ValidationError("スコープを1つ以上選んでください。", field="scopes")
    return chosen


def _clean_rate(value: int | None) -> int:
    rate = DEFAULT_RATE_LIMIT if value is None else int(value)
    if not 1 <= rate <= MAX_RATE_LIMIT:
        raise ValidationError(f"1分あたりの上限は1〜{MAX_RATE_LIMIT}で入力してください。",
                              field="rate_limit_per_minute")
    return rate


def register_app(session: Session, actor: Actor, *, name: str, scopes: list[str],
                 rate_limit_per_minute: int | None = None, webhook_url: str | None = None,
                 webhook_events: list[str] | None = None) -> Credentials:
    """Register an application of the actor's clinic with its scopes (and webhooks); its client id, first secret
    and webhook signing key."""
    clinic_id = actor.clinic_id
    if clinic_id is None:
        raise ValidationError("医療機関のアカウントで操作してください。")
    name = _clean_name(name)
    if session.scalar(scoped(PartnerApp, clinic_id).where(PartnerApp.name == name)) is not None:
        raise ValidationError("同じ名前のアプリケーションが登録されています。", field="name")
    chosen = _clean_scopes(scopes)
    url, events = _clean_webhook(webhook_url, webhook_events or [], chosen)
    webhook_secret = new_secret()
    app = PartnerApp(clinic_id=clinic_id, client_id=f"kk-{secrets.token_hex(12)}", name=name, scopes=chosen,
                     rate_limit_per_minute=_clean_rate(rate_limit_per_minute), active=True, webhook_url=url,
                     webhook_events=events, webhook_secret_sealed=seal(webhook_secret))
    session.add(app)
    session.flush()
    secret = _add_secret(session, app)
    record_audit(session, actor, "partner.register", entity_type="partner_app", entity_id=app.id,
                 summary={"name": app.name, "scopes": app.scopes, "rate_limit_per_minute": app.rate_limit_per_minute,
                          "webhook_url": url, "webhook_events": events})
    return Credentials(app, app.client_id, secret, webhook_secret)


def _clean_webhook(url: str | None, events: list[str], scopes: list[str]) -> tuple[str | None, list[str]]:
    try:
        cleaned = url_shape(url)
    except ValidationError as exc:
        raise ValidationError(exc.message, field="webhook_url") from exc
    refused = refusal(cleaned) if cleaned else None  # the operator's hosts, https, and no address inside
    if refused:
        raise ValidationError(refused, field="webhook_url")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ValidationError(f"存在しないイベントです: {' '.join(unknown)}", field="webhook_events")
    if events and not cleaned:
        raise ValidationError("Webhookを受け取るには送信先URLを入力してください。", field="webhook_url")
    for event in events:
        label, scope = EVENTS[event]
        if scope not in scopes:  # an event tells of records: only an application that may read them hears of it
            raise ValidationError(f"「{label}」を受け取るには {scope} スコープが必要です。", field="webhook_events")
    return cleaned or None, [e for e in EVENTS if e in events]


def set_webhook(session: Session, actor: Actor, app: PartnerApp, *, url: str | None, events: list[str]) -> None:
    """Where and which events the application is told of (an empty URL: none)."""
    before = {"webhook_url": app.webhook_url, "webhook_events": list(app.webhook_events or [])}
    app.webhook_url, app.webhook_events = _clean_webhook(url, events, list(app.scopes))
    record_audit(session, actor, "partner.webhook", entity_type="partner_app", entity_id=app.id,
                 summary={"name": app.name, "before": before,
                          "after": {"webhook_url": app.webhook_url, "webhook_events": app.webhook_events}})


def remake_webhook_secret(session: Session, actor: Actor, app: PartnerApp) -> str:
    """A new webhook signing key (shown once); deliveries from now on are signed with it."""
    value = new_secret()
    app.webhook_secret_sealed = seal(value)
    record_audit(session, actor, "partner.webhook_secret", entity_type="partner_app", entity_id=app.id,
                 summary={"name": app.name})
    return value


def _add_secret(session: Session, app: PartnerApp) -> str:
    value = new_secret()
    session.add(PartnerSecret(app_id=app.id, secret_hash=digest(value), created_at=utcnow()))
    session.flush()
    session.refresh(app, ["secrets"])
    return value


def rotate_secret(session: Session, actor: Actor, app: PartnerApp) -> Credentials:
    """A new secret; the current one keeps working for ROTATION_GRACE (two valid during a rotation), any older
    one stops now."""
    now = utcnow()
    for stored in app.secrets:
        if stored.expires_at is None:
            stored.expires_at = now + ROTATION_GRACE
        elif stored.expires_at > now:
            stored.expires_at = now  # a third secret is never valid at once
    secret = _add_secret(session, app)
    record_audit(session, actor, "partner.rotate_secret", entity_type="partner_app", entity_id=app.id,
                 summary={"name": app.name, "old_valid_until": (now + ROTATION_GRACE).isoformat()})
    return Credentials(app, app.client_id, secret)


def update_app(session: Session, actor: Actor, app: PartnerApp, *, scopes: list[str],
               rate_limit_per_minute: int | None) -> None:
    """Change what an application may do; tokens already issued keep only scopes it still holds."""
    before = {"scopes": list(app.scopes), "rate_limit_per_minute": app.rate_limit_per_minute}
    app.scopes = _clean_scopes(scopes)
    app.rate_limit_per_minute = _clean_rate(rate_limit_per_minute)
    if set(before["scopes"]) - set(app.scopes):
        revoke_all_tokens(session, app)  # a withdrawn scope must not live on in a token
    record_audit(session, actor, "partner.update", entity_type="partner_app", entity_id=app.id,
                 summary={"name": app.name, "before": before,
                          "after": {"scopes": app.scopes, "rate_limit_per_minute": app.rate_limit_per_minute}})


def revoke_tokens(session: Session, actor: Actor, app: PartnerApp) -> int:
    """Revoke every live token of the application (it must ask for a new one); how many."""
    count = revoke_all_tokens(session, app)
    record_audit(session, actor, "partner.revoke_tokens", entity_type="partner_app", entity_id=app.id,
                 summary={"name": app.name, "revoked": count})
    return count


def set_active(session: Session, actor: Actor, app: PartnerApp, active: bool) -> None:
    """Deactivate an application (its tokens stop working at once, no new ones are issued) or activate it."""
    app.active = active
    if not active:
        revoke_all_tokens(session, app)
    record_audit(session, actor, "partner.activate" if active else "partner.deactivate",
                 entity_type="partner_app", entity_id=app.id, summary={"name": app.name})


def list_apps(session: Session, clinic_id: int) -> list[PartnerApp]:
    """The clinic's applications, by name."""
    return list(session.scalars(scoped(PartnerApp, clinic_id).order_by(PartnerApp.name, PartnerApp.id)))


def get_app(session: Session, clinic_id: int, app_id: int) -> PartnerApp | None:
    """One application of the clinic, or None."""
    return get_scoped(session, PartnerApp, clinic_id, app_id)


def valid_secret_count(app: PartnerApp) -> int:
    """How many of the application's secrets work now (2 during a rotation)."""
    now = utcnow()
    return sum(1 for s in app.secrets if s.expires_at is None or s.expires_at > now)
