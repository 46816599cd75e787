"""Client authentication, access tokens and the per-application rate limit: the rules behind /oauth/token,
/oauth/revoke and every partner route. Secrets and tokens are random (256 bits) and stored as SHA-256 hashes;
comparisons are constant-time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.errors import ValidationError
from app.db import utcnow
from app.partners.models import PartnerApp, PartnerRateWindow, PartnerToken

#: Lifetime of an access token: short, so that a leaked one is soon useless (the client simply asks again).
TOKEN_SECONDS = 600


def digest(value: str) -> str:
    """The stored form of a secret or token: SHA-256, hex (the values are random, so no salt or stretching)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_secret() -> str:
    """A fresh client secret or access token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def authenticate_client(session: Session, client_id: str, client_secret: str) -> PartnerApp | None:
    """The active application whose id and one of whose valid secrets match, else None (which one failed is
    not told)."""
    if not client_id or not client_secret or len(client_id) > 64 or len(client_secret) > 200:
        return None
    app = session.scalar(select(PartnerApp).where(PartnerApp.client_id == client_id))
    offered = digest(client_secret)
    now = utcnow()
    matched = False
    for stored in (app.secrets if app is not None else []):
        valid = stored.expires_at is None or stored.expires_at > now
        # Compare every valid secret (no early exit), so the time does not tell which one matched.
        matched |= valid and hmac.compare_digest(stored.secret_hash, offered)
    if app is None or not matched or not app.active:
        return None
    return app


def granted_scopes(app: PartnerApp, requested: list[str]) -> list[str]:
    """The scopes a token gets: those asked for (all of the application's when none), each granted to it;
    ValidationError(code "invalid_scope") naming any that is not."""
    if not requested:
        return list(app.scopes)
    refused = [name for name in requested if name not in app.scopes]
    if refused:
        raise ValidationError(f"許可されていないスコープです: {' '.join(refused)}", code="invalid_scope")
    return requested


def issue_token(session: Session, app: PartnerApp, scopes: list[str]) -> tuple[str, PartnerToken]:
    """A new access token for the application (the clear value is returned once, only its hash is kept)."""
    value = new_secret()
    now = utcnow()
    token = PartnerToken(app_id=app.id, clinic_id=app.clinic_id, token_hash=digest(value), scopes=list(scopes),
                         issued_at=now, expires_at=now + timedelta(seconds=TOKEN_SECONDS))
    session.add(token)
    # Expired tokens of this application are of no use any more: keep the table small.
    session.execute(delete(PartnerToken).where(PartnerToken.app_id == app.id,
                                               PartnerToken.expires_at < now - timedelta(days=1)))
    session.flush()
    return value, token


def revoke_token_value(session: Session, app: PartnerApp, value: str) -> bool:
    """Revoke the application's token with this value (RFC 7009: another client's or an unknown token is left
    alone, and the answer is the same). True when one was revoked."""
    result = session.execute(update(PartnerToken).where(
        PartnerToken.token_hash == digest(value), PartnerToken.app_id == app.id,
        PartnerToken.revoked_at.is_(None)).values(revoked_at=utcnow()))
    return bool(result.rowcount)


def revoke_all_tokens(session: Session, app: PartnerApp) -> int:
    """Revoke every live token of the application; how many."""
    now = utcnow()
    result = session.execute(update(PartnerToken).where(
        PartnerToken.app_id == app.id, PartnerToken.revoked_at.is_(None), PartnerToken.expires_at > now)
        .values(revoked_at=now))
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class ClinicFacts:
    """What a partner call's answers name of the application's clinic (the FHIR facade's organisation and
    department): four columns read with the token, never the whole clinic (loading it would unseal its
    integration settings on every call)."""

    id: int
    name: str
    institution_code: str
    departments: list[dict[str, str]]


@dataclass(frozen=True)
class TokenApp:
    """What a partner call needs of the token's application: read with the token in one query, never as the whole
    ORM object (its secrets and webhook settings are of no use to a call)."""

    id: int
    clinic_id: int
    name: str
    active: bool
    rate_limit_per_minute: int
    #: Requests already counted in the current minute when the token was looked up.
    used_this_minute: int = 0
    clinic: ClinicFacts | None = None


@dataclass(frozen=True)
class TokenCheck:
    """What a presented bearer token is: its application and scopes, or why it is refused (`problem`)."""

    app: TokenApp | None
    scopes: tuple[str, ...] = ()
    problem: str | None = None


#: Why a token is refused → the Japanese message the caller reads.
TOKEN_PROBLEMS = {
    "missing": "アクセストークンが必要です（Authorization: Bearer）。",
    "invalid": "アクセストークンが正しくありません。",
    "expired": "アクセストークンの有効期限が切れています。新しいトークンを取得してください。",
    "revoked": "アクセストークンは取り消されています。",
    "inactive": "このアプリケーションは無効にされています。",
}


def _window(now: datetime) -> int:
    """The rate-limit window of a moment: minutes since the epoch (UTC)."""
    return int(now.timestamp() // 60)


#: The token, its application, its clinic's facts and the application's count for the current minute: one query
#: on the unique index of token_hash (and primary keys), built once. Read on every call, so a revocation or a
#: deactivation written by any process takes effect at the next call.
_TOKEN, _APP, _COUNTER = PartnerToken.__table__.c, PartnerApp.__table__.c, PartnerRateWindow.__table__.c
_CLINIC = Clinic.__table__.c
_LOOKUP = (select(_TOKEN.token_hash, _TOKEN.scopes, _TOKEN.expires_at, _TOKEN.revoked_at, _APP.id, _APP.clinic_id,
                  _APP.name, _APP.active, _APP.rate_limit_per_minute, _COUNTER.count, _CLINIC.name,
                  _CLINIC.institution_code, _CLINIC.departments)
           .select_from(PartnerToken.__table__.join(PartnerApp.__table__, _APP.id == _TOKEN.app_id)
                        .join(Clinic.__table__, _CLINIC.id == _APP.clinic_id)
                        .outerjoin(PartnerRateWindow.__table__, (_COUNTER.app_id == _TOKEN.app_id)
                                   & (_COUNTER.window == bindparam("window"))))
           .where(_TOKEN.token_hash == bindparam("token_hash")))


def check_token(session: Session, value: str | None, now: datetime | None = None) -> TokenCheck:
    """Look a presented token up by its hash (one query with its application and this minute's count) and say
    whether it may be used."""
    if not value:
        return TokenCheck(None, problem="missing")
    offered = digest(value)
    now = now or utcnow()
    row = session.connection().execute(_LOOKUP, {"token_hash": offered, "window": _window(now)}).first()
    if row is None or not hmac.compare_digest(row[0], offered):
        return TokenCheck(None, problem="invalid")
    _hash, scopes, expires_at, revoked_at, app_id, clinic_id, name, active, limit, used, *clinic = row
    app = TokenApp(app_id, clinic_id, name, active, limit, used or 0, ClinicFacts(clinic_id, *clinic))
    if revoked_at is not None:
        return TokenCheck(app, problem="revoked")
    if expires_at <= now:
        return TokenCheck(app, problem="expired")
    if not active:
        return TokenCheck(app, problem="inactive")
    return TokenCheck(app, tuple(scopes))


#: The counter's UPSERT: one statement that adds the call and returns the minute's total. Written as SQL because
#: SQLAlchemy does not cache the compiled form of its dialects' ON CONFLICT constructs (each call compiled it
#: again); this SQL is the same on SQLite (3.35+) and PostgreSQL.
_COUNT = text('INSERT INTO partner_rate_window (app_id, "window", count) VALUES (:app_id, :window, 1) '
              'ON CONFLICT (app_id, "window") DO UPDATE SET count = partner_rate_window.count + 1 RETURNING count')
_PRUNE = delete(PartnerRateWindow.__table__).where(_COUNTER.app_id == bindparam("app_id"),
                                                   _COUNTER.window < bindparam("window"))


def seconds_to_next_window(now: datetime | None = None) -> int:
    """Seconds until the rate-limit window after `now` begins (Retry-After)."""
    return 60 - int((now or utcnow()).timestamp()) % 60


def count_request(session: Session, app: TokenApp | PartnerApp, now: datetime | None = None) -> tuple[int, int]:
    """Count one request of the application in the current minute, in the database every process shares;
    (requests so far in this minute, seconds until the next minute). In the caller's transaction: the caller
    commits it together with the call's access-log entries (one commit per call)."""
    now = now or utcnow()
    window = _window(now)
    values = {"app_id": app.id, "window": window}
    connection = session.connection()
    count = int(connection.execute(_COUNT, values).scalar_one())
    if count == 1:  # a new minute: the application's older counters are no longer read
        connection.execute(_PRUNE, values)
    return count, seconds_to_next_window(now)
