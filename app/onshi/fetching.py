"""Fetching a patient's history through the 資格確認端末 (app.integrations.national_gateway): only with a valid
consent, each reply kept as received (bytes, name, time, who asked, request id) and read whole or marked unreadable
with the reason. Within the consent window the last reply is reused unless the doctor asks again. A request whose
reply did not come in time is kept; its reply is matched by the request id when it comes later, or discarded with
a log entry when the consent it was asked under has run out."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.clinics.terminal import terminal_settings
from app.core.audit import Actor, log_access, record_audit
from app.core.timeutil import japan_today
from app.db import scoped, utcnow
from app.integrations import national_gateway as ng
from app.integrations.onshi import (
    CHECKUP_CODE,
    MEDICATION_CODE,
    Identity,
    OnshiRefused,
    OnshiReplyError,
    checkup_request,
    medication_request,
    read_checkup_reply,
    read_medication_reply,
)
from app.integrations.onshi.messages import RequestError
from app.integrations.onshi.reading import as_plain
from app.onshi.consent import is_valid, latest_consents
from app.onshi.models import (
    ABANDONED,
    CHECKUP,
    DISCARDED,
    FAILED,
    MEDICATION,
    PDF,
    RECEIVED,
    REFUSED,
    UNREADABLE,
    XML,
    HistoryConsent,
    HistoryFetch,
)
from app.patients.models import Patient

log = logging.getLogger(__name__)
#: The receipts go back three years: the medication request always asks for 36 months, the screen narrows.
MONTHS_KEPT = 36
CODES = {MEDICATION: MEDICATION_CODE, CHECKUP: CHECKUP_CODE}
CONSENT_KIND = {MEDICATION: "drug", CHECKUP: "checkup"}


def gateway_settings(clinic: Clinic) -> dict[str, Any]:
    """The clinic's connection to its 資格確認端末 (url: file:///… or https://relay, token), empty when not set."""
    return terminal_settings(clinic)


def identity_of(clinic: Clinic, patient: Patient) -> Identity:
    """The clinic code and the patient's first health insurance with an insured-person number."""
    for insurance in patient.insurances or []:
        if insurance.get("insurer_number") and insurance.get("number"):
            return Identity(clinic.institution_code or "", str(insurance["insurer_number"]),
                            str(insurance.get("symbol") or ""), str(insurance["number"]),
                            str(insurance.get("branch") or ""))
    raise RequestError("保険者番号・被保険者番号がないため照会できません（医療扶助・自衛官診療証などは対象外です）")


def latest_fetch(session: Session, clinic_id: int, patient_id: int, kind: str) -> HistoryFetch | None:
    """The patient's last request of a kind for the XML the screens read, whatever came of it."""
    return session.scalar(scoped(HistoryFetch, clinic_id).where(HistoryFetch.patient_id == patient_id,
                                                                  HistoryFetch.kind == kind,
                                                                  HistoryFetch.reply_format == XML)
                          .order_by(HistoryFetch.requested_at.desc(), HistoryFetch.id.desc()).limit(1))


def latest_received(session: Session, clinic_id: int, patient_id: int, kind: str) -> HistoryFetch | None:
    """The patient's last reply of a kind that was read whole."""
    return session.scalar(scoped(HistoryFetch, clinic_id).where(
        HistoryFetch.patient_id == patient_id, HistoryFetch.kind == kind, HistoryFetch.status == RECEIVED,
        HistoryFetch.reply_format == XML).order_by(HistoryFetch.received_at.desc(), HistoryFetch.id.desc()).limit(1))


def pdf_fetches(session: Session, clinic_id: int, patient_id: int, kind: str, limit: int = 10) -> list[HistoryFetch]:
    """The patient's latest PDF requests of a kind (newest first), whatever came of them."""
    return list(session.scalars(scoped(HistoryFetch, clinic_id).where(
        HistoryFetch.patient_id == patient_id, HistoryFetch.kind == kind, HistoryFetch.reply_format == PDF)
        .order_by(HistoryFetch.requested_at.desc(), HistoryFetch.id.desc()).limit(limit)))


def _read(fetch: HistoryFetch, patient: Patient, reply: ng.Reply) -> None:
    """Keep the reply as received, then read it whole (or say why not)."""
    fetch.reply_name, fetch.reply_body, fetch.received_at = reply.file_name, reply.body, utcnow()
    fetch.reply_sha256 = hashlib.sha256(reply.body).hexdigest()
    if reply.is_pdf:
        if fetch.reply_format != PDF:
            fetch.status, fetch.reason = UNREADABLE, "XMLを求めたのにPDFが届きました（保存のみ）"
        elif not reply.body.startswith(b"%PDF-"):
            fetch.status, fetch.reason = UNREADABLE, "PDFとして開けないファイルが届きました（保存のみ）"
        else:
            fetch.status, fetch.reason = RECEIVED, ""  # kept and shown as received; a PDF is never read
        return
    reader = read_medication_reply if fetch.kind == MEDICATION else read_checkup_reply
    try:  # an XML reply to a PDF request is still read: the service refuses (no consent …) in XML
        values = reader(reply.body, fetch.request_id, patient.birth_date, patient.sex)
    except OnshiRefused as exc:
        fetch.status, fetch.reason = REFUSED, str(exc)
        return
    except OnshiReplyError as exc:
        fetch.status, fetch.reason = UNREADABLE, str(exc)
        return
    if fetch.reply_format == PDF:
        fetch.status, fetch.reason = UNREADABLE, "PDFを求めたのにXMLが届きました（保存のみ）"
        return
    fetch.status, fetch.reason = RECEIVED, ""
    fetch.content = as_plain(values)


def _within_consent(fetch: HistoryFetch, consent: HistoryConsent | None) -> bool:
    """Whether a request was made under the consent that still holds."""
    return bool(is_valid(consent) and consent.given_at is not None and fetch.requested_at >= consent.given_at)


def _discard(session: Session, clinic: Clinic, fetch: HistoryFetch, reason: str, body: bytes | None) -> None:
    fetch.status, fetch.reason = DISCARDED, reason
    log.warning("onshi: request %s: %s", fetch.request_id, reason)
    summary = {"request_id": fetch.request_id}
    if body is not None:
        fetch.received_at = utcnow()
        summary["sha256"] = hashlib.sha256(body).hexdigest()
    record_audit(session, Actor(None, "onshi", clinic.id), "onshi.discard_late_reply", clinic_id=clinic.id,
                 entity_type="onshi_fetch", entity_id=fetch.id, patient_id=fetch.patient_id, summary=summary)


def collect_late(session: Session, clinic: Clinic, patient: Patient) -> int:
    """Look for the replies of this patient's abandoned requests: one that comes while its consent still holds is
    matched by its request id and read; one that comes after is discarded with a log entry, and so is a request
    whose consent ran out with no reply (it is not looked for again). Commits what it changed; how many came."""
    settings = gateway_settings(clinic)
    pending = list(session.scalars(scoped(HistoryFetch, clinic.id).where(
        HistoryFetch.patient_id == patient.id, HistoryFetch.status == ABANDONED)))
    if not settings or not pending:
        return 0
    gateway = ng.gateway_for(settings["url"], settings.get("token", ""))
    consents = latest_consents(session, clinic.id, patient.id)
    came = 0
    for fetch in pending:
        try:
            reply = gateway.collect(fetch.business_code, fetch.request_id)
        except ng.GatewayError:
            break
        in_time = _within_consent(fetch, consents.get(CONSENT_KIND[fetch.kind]))
        if reply is None:
            if not in_time:
                _discard(session, clinic, fetch, "同意の有効な間に応答が届かなかったため、待つのをやめました", None)
            continue
        came += 1
        if in_time:
            _read(fetch, patient, reply)
            log.info("onshi: late reply %s matched to its request", fetch.request_id)
        else:
            _discard(session, clinic, fetch, "同意の有効期限が過ぎてから届いた応答のため破棄しました", reply.body)
    session.commit()
    return came


def consent_problem(consents: dict[str, HistoryConsent], kind: str) -> str | None:
    """Why this history may not be asked for now (Japanese), or None, from the patient's latest consents."""
    consent = consents.get(CONSENT_KIND[kind])
    if is_valid(consent):
        return None
    what = "薬剤情報" if kind == MEDICATION else "特定健診情報"
    if consent is None:
        return (f"{what}の閲覧同意が記録されていません。受付で顔認証付きカードリーダーにマイナ保険証をかざし、"
                "同意を確認してもらってください。")
    return (f"{what}の閲覧同意がないか有効期限が過ぎています。受付で顔認証付きカードリーダーにマイナ保険証をかざし、"
            "もう一度同意を確認してもらってください。")


def current_attempt(session: Session, clinic: Clinic, patient: Patient, kind: str,
                    consents: dict[str, HistoryConsent]) -> HistoryFetch | None:
    """The last request made since the current consent was given (while it holds), whatever came of it — a
    reply read whole is reused; a failed one is shown with its reason until the doctor asks again. `consents`:
    the patient's latest (latest_consents)."""
    consent = consents.get(CONSENT_KIND[kind])
    found = latest_fetch(session, clinic.id, patient.id, kind)
    if not is_valid(consent) or found is None:
        return None
    if consent.given_at is not None and found.requested_at < consent.given_at:
        return None
    if kind == MEDICATION and not found.with_diagnosis and is_valid(consents.get("diagnosis")):
        return None  # 診療 has been agreed to since: ask again, with it
    return found


def fetch_history(session: Session, clinic: Clinic, actor: Actor, actor_name: str, patient: Patient, kind: str,
                  *, again: bool = False, pdf: bool = False, today: date | None = None
                  ) -> tuple[HistoryFetch | None, str | None]:
    """The patient's history of a kind (MEDICATION / CHECKUP): reused within the consent window unless `again`,
    else asked for now; `pdf` asks now for the service's PDF of it (kept and shown as received). Returns the fetch
    (None when nothing could be asked) and a problem for staff, if any.
    Commits: the request is on record before it is handed over, the reply as soon as it comes."""
    settings = gateway_settings(clinic)
    if not settings:
        return None, "資格確認端末との接続が設定されていません（管理者の設定が必要です）"
    collect_late(session, clinic, patient)  # commits only when a request was waiting (most openings: none)
    consents = latest_consents(session, clinic.id, patient.id)  # read once: the rules below all look at them
    problem = consent_problem(consents, kind)
    if problem:
        return None, problem
    if not again and not pdf and (found := current_attempt(session, clinic, patient, kind, consents)):
        return found, (None if found.status == RECEIVED else found.reason)
    today = today or japan_today()
    with_diagnosis = kind == MEDICATION and is_valid(consents.get("diagnosis"))
    request_id = uuid.uuid4().hex[:24]
    first = date(today.year - MONTHS_KEPT // 12, today.month, 1)
    try:
        identity = identity_of(clinic, patient)
        encoding = settings.get("encoding", "UTF-8")
        body = (medication_request(identity, request_id, first, today, with_diagnosis=with_diagnosis,
                                   encoding=encoding, pdf=pdf) if kind == MEDICATION
                else checkup_request(identity, request_id, encoding=encoding, pdf=pdf))
    except RequestError as exc:
        return None, str(exc)
    fetch = HistoryFetch(clinic_id=clinic.id, patient_id=patient.id, kind=kind, business_code=CODES[kind],
                         request_id=request_id, period_from=first if kind == MEDICATION else None,
                         period_to=today if kind == MEDICATION else None, with_diagnosis=with_diagnosis,
                         reply_format=PDF if pdf else XML, requested_by_id=actor.user_id,
                         requested_by_name=actor_name, request_body=body)
    session.add(fetch)
    log_access(session, actor, patient_id=patient.id, action="fetch",
               resource=f"onshi.{kind}{'.pdf' if pdf else ''} {request_id}")
    session.commit()
    try:
        reply = ng.exchange(ng.gateway_for(settings["url"], settings.get("token", "")), CODES[kind], request_id,
                            body, timeout=float(settings.get("timeout", 10)))
    except ng.GatewayTimeout as exc:
        fetch.status, fetch.reason = ABANDONED, exc.message_ja
    except ng.GatewayError as exc:
        fetch.status, fetch.reason = FAILED, exc.message_ja
    else:
        _read(fetch, patient, reply)
    session.commit()
    if fetch.status == RECEIVED:
        return fetch, None
    return fetch, fetch.reason
