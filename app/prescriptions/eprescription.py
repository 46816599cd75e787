"""The 電子処方箋管理サービス from the prescription's side (docs/standards/eprescription.md):

- before issuing, the service's 重複投薬等チェック (事前準備, then the check with records 101/111/201) runs among the
  other checks: each hit is a finding the doctor must give a 投与理由 for, kept with the prescription;
- issuing as 電子 (the CSV in the 処方箋XML, signed by the doctor's signer) or as 紙 with 引換番号 (registered,
  unsigned) registers it at once (a refusal issues nothing) or, when the service does not answer, through the
  outbox (never lost); our request identifier goes with it, so a retry after a lost reply registers nothing
  twice; 紙 without registration sends nothing;
- cancelling a registered one sends the cancellation the same way;
- the pharmacy's state and dispensing result, and the 控え of an electronic one, are read on demand.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.clinics.terminal import store_terminal_settings, terminal_settings
from app.core.audit import SYSTEM, record_audit, summarize_change
from app.core.errors import ValidationError
from app.core.urls import connection_url
from app.db import utcnow
from app.integrations.eprescription import messages
from app.integrations.eprescription.client import (
    EPrescriptionClient,
    EPrescriptionError,
    PatientKey,
    Registration,
    prescription_info,
)
from app.integrations.eprescription.signing import CommandSigner, Signer, SigningError, TestSigner
from app.integrations.national_gateway import GatewayError, gateway_for
from app.outbox.models import OutboxMessage
from app.outbox.services import DeliveryError, PermanentDeliveryError, enqueue, message_subject, register_handler
from app.prescriptions import remote_signing
from app.prescriptions.checks import CheckResult
from app.prescriptions.models import Prescription
from app.prescriptions.printing import draft_rps, service_csv
from app.prescriptions.services import Draft
from app.printing.prescription import build_check_csv

REGISTER, CANCEL = "eprescription.register", "eprescription.cancel"
#: How a prescription is issued; the ones the service registers, and their IssueType.
ISSUE_TYPES = {"electronic": messages.ISSUE_ELECTRONIC, "paper_exchange": messages.ISSUE_PAPER}
CONSENT_LABELS = {"card": "カードリーダーで同意", "oral": "口頭で同意", "": "同意なし"}
SERVICE = "電子処方箋管理サービス"


def settings_of(clinic: Clinic) -> dict[str, Any]:
    """The clinic's connection to the service (url of the terminal's folders or relay, token, signer), empty when
    not set up."""
    settings = stored_settings(clinic)
    return settings if settings.get("url") and clinic.institution_code else {}


def stored_settings(clinic: Clinic) -> dict[str, Any]:
    """What is stored, set up or not: the terminal's connection (shared with the other national services,
    app/clinics/terminal.py) and this service's own (signer)."""
    return {**clinic.integration("eprescription"), **terminal_settings(clinic)}


def is_available(clinic: Clinic) -> bool:
    """Whether the clinic can register prescriptions and run the service's check."""
    return bool(settings_of(clinic))


def client_for(clinic: Clinic, timeout: float | None = None) -> EPrescriptionClient:
    """The client of the clinic's connection (EPrescriptionError when it is not set up or names no transport);
    a reply is waited for `timeout` seconds, else the connection's `timeout_seconds` (30)."""
    settings = settings_of(clinic)
    if not settings:
        raise EPrescriptionError("電子処方箋管理サービスの接続が設定されていません")
    try:
        gateway = gateway_for(settings["url"], settings.get("token", ""))
    except GatewayError as exc:
        raise EPrescriptionError(exc.message_ja) from exc
    wait = min(timeout or 30.0, float(settings.get("timeout_seconds") or 30.0))
    return EPrescriptionClient(gateway, clinic.institution_code, timeout=wait)


def default_mode(clinic: Clinic, patient: Any) -> str:
    """How a new prescription is issued unless the doctor changes it: what the patient chose at the card reader
    (電子 or 紙 with 引換番号) when ORCA passed it and the clinic is connected; else 紙 without registration."""
    if not is_available(clinic):
        return "paper"
    return {"1": "electronic", "2": "paper_exchange"}.get(patient.prescription_issue_choice, "paper")


def signer_for(session: Session, clinic: Clinic, user_id: int | None, instance_folder: str) -> Signer:
    """The signer of the clinic and doctor: a signing module run as a command (`signer: command`,
    `signer_command`: its path), the HPKIセカンド remote signer with the doctor's authentication of the day
    (`signer: remote`), or the project's test signer (`signer: test`; demo and tests). SigningError when none is
    set up or the doctor has not authenticated today."""
    settings = settings_of(clinic)
    kind = settings.get("signer", "")
    if kind == "command":
        return CommandSigner([settings.get("signer_command", "")])
    if kind == "remote":
        return remote_signing.signer_for(session, clinic, user_id)
    if kind == "test":
        return TestSigner(instance_folder)
    raise SigningError("電子署名の方法が設定されていません（電子処方箋の接続設定で署名モジュールを設定してください）")


SIGNERS = {"": "設定しない（電子処方箋は発行できません）",
           "command": "署名モジュール（HPKIカード・署名共通モジュール）",
           "remote": "HPKIセカンド電子証明書（リモート署名・1日1回認証）",
           "test": "テスト用認証局（デモ・検証用。本番では使えません）"}
SETTING_KEYS = ("url", "signer", "signer_command", "remote_url")


def update_settings(session: Session, clinic: Clinic, actor: Any, data: dict[str, Any]) -> None:
    """Set the connection: the terminal's folders (file:///…) or its relay (https://…), the relay's token (an
    empty one keeps the current), the signer. ValidationError names the field; audited without the token."""
    raw = (data.get("base_url") or "").strip()
    url = raw if raw.startswith("file:///") else connection_url(raw, "資格確認端末の中継", "処方箋と署名")
    signer = data.get("signer") or ""
    command = (data.get("signer_command") or "").strip()
    if signer not in SIGNERS:
        raise ValidationError("署名の方法の選択肢にない値です", field="signer")
    if signer == "command" and not command.startswith("/"):
        raise ValidationError("署名モジュールのコマンドを絶対パスで入力してください", field="signer_command")
    try:
        remote_url = connection_url(data.get("remote_url"), "リモート署名サービス", "処方箋")
    except ValidationError as exc:
        raise ValidationError(exc.message, field="remote_url") from exc
    if signer == "remote" and not remote_url:
        raise ValidationError("リモート署名サービスのURLを入力してください", field="remote_url")
    before = {k: settings_of(clinic).get(k) for k in SETTING_KEYS}
    settings = clinic.integration("eprescription")
    settings.update(signer=signer, signer_command=command, remote_url=remote_url)
    clinic.set_integration("eprescription", settings)
    store_terminal_settings(clinic, url, data.get("token"))
    settings = settings_of(clinic)
    session.flush()
    record_audit(session, actor, "clinic.eprescription_settings", clinic_id=clinic.id, entity_type="clinic",
                 entity_id=clinic.id, summary={**summarize_change(before, {k: settings.get(k) for k in SETTING_KEYS}),
                                               "token_changed": bool(data.get("token"))})


def test_connection(clinic: Clinic) -> tuple[bool, str]:
    """Ask the service through the configured terminal and say what it answered."""
    try:
        answer = client_for(clinic, timeout=10.0).ping(new_request_id("T"))
    except EPrescriptionError as exc:
        return False, exc.message_ja
    return True, f"資格確認端末を経由して電子処方箋管理サービスが応答しました: {answer}"


def remote_signing_state(session: Session, clinic: Clinic, user_id: int | None) -> bool | None:
    """For the order form: None when the clinic does not sign remotely, else whether the doctor has authenticated
    today."""
    if settings_of(clinic).get("signer") != "remote":
        return None
    return remote_signing.is_authenticated(session, clinic, user_id)


def new_request_id(prefix: str) -> str:
    """A fresh request identifier (letters and digits, as the terminal's file names allow)."""
    return f"{prefix}{secrets.token_hex(10)}"


def patient_key(patient: Any, consent: str) -> PatientKey | None:
    """The insurance card's identifiers the check is keyed by; None when the patient has no card on file."""
    card = (patient.insurances or [{}])[0] if patient.insurances else {}
    if not card.get("insurer_number") or not card.get("number"):
        return None
    return PatientKey(card["insurer_number"], card.get("symbol") or "", card["number"], card.get("branch") or "",
                      patient.birth_date.strftime("%Y%m%d"), card_consent=consent == "card",
                      oral_consent=consent == "oral")


def _finding(hit: Any) -> CheckResult:
    past = "、".join(p for p in (f"調剤日 {hit.past_date[:4]}-{hit.past_date[4:6]}-{hit.past_date[6:]}"
                                 if len(hit.past_date) == 8 else "", hit.past_institution, hit.past_pharmacy) if p)
    other = hit.past_drug_name or "他の処方"
    message = f"【{hit.category}】{hit.drug_name} ― {other}（{past}）。{hit.message}"
    return CheckResult("service_duplicate", "stop", message, SERVICE)


def service_check(clinic: Clinic, patient: Any, draft: Draft) -> list[CheckResult]:
    """The service's 重複投薬等チェック of a validated draft as findings (a hit needs the doctor's 投与理由);
    nothing when the clinic is not connected; 未確認 when the service cannot be asked."""
    if not is_available(clinic) or not draft.filled_lines():
        return []
    key = patient_key(patient, draft.consent)
    if key is None:
        return [CheckResult("service_duplicate", "unchecked", "保険証の記号・番号がないため、電子処方箋管理サービスの"
                            "重複投薬等チェックができません", SERVICE, "no_code")]
    try:
        client = client_for(clinic, timeout=10.0)
        client.prepare_check(new_request_id("P"), key)
        _, hits = client.check_duplicates(new_request_id("C"), key, build_check_csv(draft_rps(draft)))
    except EPrescriptionError as exc:
        return [CheckResult("service_duplicate", "unchecked", f"重複投薬等チェックができません: {exc.message_ja}",
                            SERVICE, "eprescription_unavailable")]
    return [_finding(hit) for hit in hits]


def register(session: Session, clinic: Clinic, prescription: Prescription, patient: Any,
             signer: Signer | None) -> OutboxMessage | None:
    """Register a prescription being issued, in the issuing transaction: the PrescriptionInfo is built now (signed
    with `signer` for 電子; SigningError or a ValidationError when it cannot be made) and sent at once, so the
    引換番号 is there to print. A refusal raises EPrescriptionRejected with the service's codes — the caller rolls
    back and nothing is issued; a service that does not answer (or whose answer is lost) gets the same request
    again through the outbox, which returns its message. Nothing for a paper prescription without registration."""
    issue_type = ISSUE_TYPES.get(prescription.mode)
    if issue_type is None:
        return None
    if issue_type == messages.ISSUE_ELECTRONIC and signer is None:
        raise SigningError("電子処方箋には医師の電子署名が必要です")
    info = prescription_info(service_csv(prescription, patient, clinic),
                             signer if issue_type == messages.ISSUE_ELECTRONIC else None)
    prescription.eprescription_request = new_request_id("R")
    try:
        result = client_for(clinic, timeout=10.0).register(prescription.eprescription_request, info, issue_type)
    except EPrescriptionError as exc:
        if not exc.retryable:
            raise
        prescription.eprescription_status = "sending"
        return enqueue(session, clinic_id=clinic.id, kind=REGISTER, payload={
            "prescription_id": prescription.id, "request_id": prescription.eprescription_request, "info": info,
            "issue_type": issue_type}, subject_type="prescription", subject_id=prescription.id,
            patient_id=prescription.patient_id)
    _registered(session, prescription, result, issue_type)
    return None


def _registered(session: Session, prescription: Prescription, result: Registration, issue_type: str) -> None:
    prescription.eprescription_status = "registered"
    prescription.eprescription_id = result.prescription_id
    prescription.exchange_number = result.access_code
    prescription.eprescription_warnings = list(result.warnings)
    prescription.eprescription_error = ""
    record_audit(session, SYSTEM, "prescription.eprescription_registered", clinic_id=prescription.clinic_id,
                 entity_type="prescription", entity_id=prescription.id, patient_id=prescription.patient_id,
                 summary={"after": {"exchange_number": result.access_code, "issue_type": issue_type}})


def queue_cancellation(session: Session, clinic: Clinic, prescription: Prescription) -> OutboxMessage | None:
    """Queue the cancellation of a prescription the service holds or is about to hold (nothing to send for one
    never registered)."""
    if not prescription.eprescription_request:
        return None
    prescription.eprescription_status = "cancelling"
    return enqueue(session, clinic_id=clinic.id, kind=CANCEL,
                   payload={"prescription_id": prescription.id, "request_id": new_request_id("X")},
                   subject_type="prescription", subject_id=prescription.id, patient_id=prescription.patient_id)


def _client(session: Session, message: OutboxMessage) -> EPrescriptionClient:
    clinic = session.get(Clinic, message.clinic_id)
    try:
        return client_for(clinic)
    except EPrescriptionError as exc:
        raise DeliveryError(exc.message_ja) from exc


def _prescription(session: Session, message: OutboxMessage) -> Prescription:
    return message_subject(session, message, Prescription, "prescription_id", "処方箋が見つかりません")


def _failed(session: Session, prescription: Prescription, exc: EPrescriptionError, status: str) -> None:
    if exc.retryable:
        raise DeliveryError(exc.message_ja) from exc
    prescription.eprescription_status = status
    prescription.eprescription_error = exc.message_ja[:500]
    session.commit()  # keep the reason on the prescription even though the message fails for good
    raise PermanentDeliveryError(exc.message_ja) from exc


def deliver_registration(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: register (the same request id on every attempt), keep the 引換番号 on the prescription."""
    prescription = _prescription(session, message)
    payload = message.payload
    try:
        result = _client(session, message).register(payload["request_id"], payload["info"], payload["issue_type"])
    except EPrescriptionError as exc:
        _failed(session, prescription, exc, "rejected")
    _registered(session, prescription, result, payload["issue_type"])
    return {"exchange_number": result.access_code, "prescription_id": result.prescription_id}


def deliver_cancellation(session: Session, message: OutboxMessage) -> dict[str, Any]:
    """Outbox delivery: cancel at the service (waits, by retrying, for a registration still on its way)."""
    prescription = _prescription(session, message)
    if not prescription.eprescription_id:
        if prescription.eprescription_status == "rejected":
            prescription.eprescription_status = "cancelled"
            return {"cancelled": "never registered"}
        raise DeliveryError("登録の完了を待って取り消します")
    try:
        _client(session, message).cancel(message.payload["request_id"], prescription.eprescription_id)
    except EPrescriptionError as exc:
        _failed(session, prescription, exc, "cancel_failed")
    prescription.eprescription_status = "cancelled"
    return {"cancelled": prescription.eprescription_id}


def refresh_state(session: Session, clinic: Clinic, prescription: Prescription) -> None:
    """Read the prescription's state, pharmacy and dispensing result from the service onto it
    (EPrescriptionError with the service's words when it cannot)."""
    if not prescription.eprescription_id:
        raise EPrescriptionError("電子処方箋管理サービスに登録されていない処方箋です")
    status = client_for(clinic, timeout=10.0).status(new_request_id("S"), prescription.eprescription_id)
    prescription.pharmacy_state = status.state
    prescription.pharmacy_name = status.pharmacy_name[:120]
    prescription.dispensed = [{"code": d.code, "name": d.name, "quantity": d.quantity, "unit": d.unit}
                              for d in status.dispensed]
    prescription.state_checked_at = utcnow()


def reference_pdf(clinic: Clinic, prescription: Prescription) -> bytes:
    """The service's 処方内容（控え） of an electronic prescription."""
    if prescription.mode != "electronic" or not prescription.eprescription_id:
        raise EPrescriptionError("控えは電子処方箋管理サービスに登録済みの電子処方箋にだけあります")
    return client_for(clinic, timeout=15.0).reference_pdf(new_request_id("H"), prescription.eprescription_id)


register_handler(REGISTER, deliver_registration)
register_handler(CANCEL, deliver_cancellation)
