"""HPKIセカンド電子証明書: the doctor authenticates with the remote signing service once a day; the day's token
(sealed at rest, one per doctor and day) then signs that doctor's electronic prescriptions without asking again.
The service's address is the clinic's 電子処方箋 connection setting `remote_url`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor, record_audit
from app.core.secrets import seal, unseal
from app.core.timeutil import japan_today
from app.db import scoped
from app.integrations.eprescription.signing import RemoteSession, RemoteSigner, SigningError
from app.prescriptions.models import RemoteSigningSession


def _url(clinic: Clinic) -> str:
    url = clinic.integration("eprescription").get("remote_url", "")
    if not url:
        raise SigningError("リモート署名サービスの接続先が設定されていません（電子処方箋の接続設定）")
    return url


def _today(session: Session, clinic_id: int, user_id: int) -> RemoteSigningSession | None:
    return session.scalar(scoped(RemoteSigningSession, clinic_id).where(
        RemoteSigningSession.user_id == user_id, RemoteSigningSession.day == japan_today())
        .order_by(RemoteSigningSession.id.desc()).limit(1))


def is_authenticated(session: Session, clinic: Clinic, user_id: int | None) -> bool:
    """Whether the doctor has authenticated today."""
    return user_id is not None and _today(session, clinic.id, user_id) is not None


def signer_for(session: Session, clinic: Clinic, user_id: int | None) -> RemoteSigner:
    """The doctor's remote signer with today's token (SigningError when they have not authenticated today)."""
    found = _today(session, clinic.id, user_id) if user_id is not None else None
    if found is None:
        raise SigningError("リモート署名の本日の認証がまだです。HPKIセカンド電子証明書で認証してください")
    return RemoteSigner(_url(clinic), RemoteSession(unseal(found.token), found.day))


def authenticate(session: Session, clinic: Clinic, actor: Actor, hpki_id: str, one_time_code: str) -> None:
    """The doctor's authentication of the day (SigningError with the service's refusal); audited without the
    token."""
    if not actor.user_id:
        raise SigningError("ログインしている医師だけが認証できます")
    remote = RemoteSession()
    RemoteSigner(_url(clinic), remote).authenticate(hpki_id.strip(), one_time_code.strip(), japan_today())
    _forget_older(session, clinic.id)
    session.add(RemoteSigningSession(clinic_id=clinic.id, user_id=actor.user_id, day=remote.day,
                                     token=seal(remote.token)))
    record_audit(session, actor, "prescription.remote_signing_authenticated", clinic_id=clinic.id,
                 entity_type="staff_user", entity_id=actor.user_id, summary={"day": remote.day.isoformat()})


def _forget_older(session: Session, clinic_id: int) -> None:
    """Drop the tokens of past days (they no longer sign)."""
    for old in session.scalars(select(RemoteSigningSession).where(RemoteSigningSession.clinic_id == clinic_id,
                                                                  RemoteSigningSession.day < japan_today())):
        session.delete(old)

