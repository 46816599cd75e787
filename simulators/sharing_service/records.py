"""The 電子カルテ情報共有サービス simulator's state and rules: what it holds (`State`), what it refuses in a
6-information registration (`registration_problems`), and the small FHIR helpers its routes and harness share."""

from __future__ import annotations

import re
import threading
from datetime import datetime
from typing import Any

from flask import jsonify

from simulators.sharing_service.demo_data import INSTITUTION_EXT

FHIR_JSON = "application/fhir+json"
#: Bearer tokens: the demo clinics, and the fictitious hospital of demo_data (so tests can act as a recipient).
DEMO_TOKENS = {"1310123458": "demo-sharing-a", "1310156789": "demo-sharing-b", "1310000009": "demo-sharing-hospital"}
CLINS = "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS"
REFERRAL = "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eReferral"
MEMBER = "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID"
INSTANCE = "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier"
DISEASE_SYSTEMS = {"http://medis.or.jp/CodeSystem/master-disease-keyNumber",
                   "http://medis.or.jp/CodeSystem/master-disease-exCode"}
MEMBER_PATTERN = re.compile(r"^\d{6,8}:[^:]*:[^:]+:\d{2}$")
KINDS = ("Condition", "AllergyIntolerance", "Observation", "MedicationRequest")


def outcome(issues: list[tuple[str, str, str]]) -> dict[str, Any]:
    """An OperationOutcome with (severity, code, diagnostics) issues."""
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": s, "code": c, "diagnostics": d} for s, c, d in issues]}


def _fhir(body: dict[str, Any], status: int = 200):
    response = jsonify(body)
    response.status_code = status
    response.mimetype = FHIR_JSON
    return response


def _profiles(resource: dict[str, Any]) -> list[str]:
    return [p.split("|", 1)[0] for p in (resource.get("meta") or {}).get("profile", [])]


def _member_of(resource: dict[str, Any]) -> str:
    holder = resource.get("subject") or resource.get("patient") or {}
    identifier = holder.get("identifier") or {}
    return identifier.get("value", "") if identifier.get("system") == MEMBER else ""


def _instance(resource: dict[str, Any]) -> str:
    return next((i.get("value", "") for i in resource.get("identifier", []) if i.get("system") == INSTANCE), "")


def registration_problems(bundle: dict[str, Any], code: str) -> list[str]:
    """Why the service refuses a 6-information registration (empty when it accepts it)."""
    entries = [e.get("resource") or {} for e in bundle.get("entry") or []]
    if not entries or entries[0].get("resourceType") != "Patient":
        return ["最初の entry が Patient ではありません"]
    member = next((i.get("value", "") for i in entries[0].get("identifier", []) if i.get("system") == MEMBER), "")
    if not MEMBER_PATTERN.match(member):
        return [f"被保険者番号（{MEMBER}）が 保険者番号:記号:番号:枝番 の形ではありません: {member}"]
    problems = []
    for n, resource in enumerate(entries[1:], start=2):
        kind = resource.get("resourceType")
        where = f"entry[{n}] {kind}"
        if kind not in KINDS:
            problems.append(f"{where}: 6情報として登録できないリソースです")
            continue
        if _member_of(resource) != member:
            problems.append(f"{where}: 患者の被保険者番号が Patient と一致しません")
        institution = next((e.get("valueIdentifier", {}).get("value") for e in resource.get("extension", [])
                            if e.get("url") == INSTITUTION_EXT), None)
        if institution != code:
            problems.append(f"{where}: 医療機関コード（JP_eCS_InstitutionNumber）が送信元 {code} と一致しません")
        if not _instance(resource):
            problems.append(f"{where}: リソース識別子（resourceInstance-identifier）がありません")
        if kind == "Condition" and not any(c.get("system") in DISEASE_SYSTEMS
                                           for c in (resource.get("code") or {}).get("coding", [])):
            problems.append(f"{where}: 標準病名コード（MEDIS 病名管理番号・交換用コード）のない傷病名は登録できません"
                            f"（{(resource.get('code') or {}).get('text', '')}）")
    return problems


class State:
    """Everything the service holds, and injected faults."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        #: member ID → {"consent_until": date | None, "resources": {instance: resource}, "checkups": [...]}
        self.patients: dict[str, dict[str, Any]] = {}
        #: document id → {"bundle", "sender", "recipient", "member", "read_at", "registered_at"}
        self.documents: dict[str, dict[str, Any]] = {}
        self.fault: dict[str, Any] = {}
        self.registrations = 0
        self.withdrawals = 0
        #: (clinic, If-None-Exist) → the answer of the conditional create that matched nothing and created.
        self.created: dict[tuple[str, str], dict[str, Any]] = {}

    def keep_document(self, document_id: str, bundle: dict[str, Any], sender: str, recipient: str, member: str,
                      for_patient: bool) -> None:
        """Hold a document as registered now (unread); call with the lock held."""
        self.documents[document_id] = {"bundle": bundle, "sender": sender, "recipient": recipient, "member": member,
                                       "read_at": None, "for_patient": for_patient,
                                       "registered_at": datetime.now().isoformat(timespec="seconds")}

    def patient(self, member: str) -> dict[str, Any]:
        """The service's record of an insured person (created on first mention)."""
        return self.patients.setdefault(member, {"consent_until": None, "resources": {}, "checkups": []})
