"""Simulator of the 電子処方箋管理サービス, reached over HTTP only (the app never imports it).

The national service's API is not public (docs/standards/eprescription.md): this stand-in accepts the
FHIR document the JAMI 電子処方箋 examples describe, refuses one that is not such a document with an
OperationOutcome, answers a registration with an 引換番号 and the result of its 重複投薬等チェック (warnings
in an OperationOutcome), and cancels a registered prescription. Per clinic: /clinic/<医療機関コード>/…,
bearer-token authentication. Harness for tests: /_sim/reset, /_sim/faults.
"""

from __future__ import annotations

import random
import threading
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask, jsonify, request

from simulators.common import add_reset_and_faults, bearer_ok, take_fault

DEMO_TOKENS = {"1310123458": "demo-eprescription-a", "1310156789": "demo-eprescription-b"}
FHIR_JSON = "application/fhir+json"
YJ = "urn:oid:1.2.392.100495.20.1.73"
GENERAL_NAME = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode"
PROFILE = "http://jpfhir.jp/fhir/ePrescription/StructureDefinition/"
DUPLICATE_WINDOW = timedelta(days=30)


def _outcome(issues: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": text} for severity, code, text in issues]}


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e.get("resource", {}) for e in bundle.get("entry", []) if e.get("resource", {}).get("resourceType") == kind]


def _problems(bundle: dict[str, Any]) -> list[str]:
    """What makes a body not a 電子処方箋 document (checked as the published description says)."""
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "document":
        return ["Bundle（type=document）ではありません"]
    problems = []
    entries = bundle.get("entry") or []
    if not entries or entries[0].get("resource", {}).get("resourceType") != "Composition":
        problems.append("最初の entry が Composition ではありません")
    composition = entries[0].get("resource", {}) if entries else {}
    codes = [c.get("code") for c in composition.get("type", {}).get("coding", [])]
    if "57833-6" not in codes:
        problems.append("Composition.type が 57833-6（処方箋）ではありません")
    if PROFILE + "JP_Bundle_ePrescriptionData" not in bundle.get("meta", {}).get("profile", []):
        problems.append("Bundle のプロファイルが JP_Bundle_ePrescriptionData ではありません")
    if len(_resources(bundle, "Patient")) != 1:
        problems.append("Patient がちょうど1件ありません")
    requests = _resources(bundle, "MedicationRequest")
    if not requests:
        problems.append("MedicationRequest がありません")
    for index, med in enumerate(requests, start=1):
        codings = med.get("medicationCodeableConcept", {}).get("coding", [])
        if not any(c.get("system") in (YJ, GENERAL_NAME, "urn:oid:1.2.392.200119.4.403.1") and c.get("code")
                   for c in codings):
            problems.append(f"MedicationRequest {index}: 医薬品コード（YJ・HOT・一般名）がありません")
        if not med.get("dosageInstruction"):
            problems.append(f"MedicationRequest {index}: 用法（dosageInstruction）がありません")
    urls = {e.get("fullUrl") for e in entries}
    for reference in _references(bundle):
        if reference.startswith("urn:uuid:") and reference not in urls:
            problems.append(f"文書内で解決できない参照: {reference}")
    return problems


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return own + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def _ingredients(bundle: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for med in _resources(bundle, "MedicationRequest"):
        for coding in med.get("medicationCodeableConcept", {}).get("coding", []):
            if coding.get("system") in (YJ, GENERAL_NAME) and len(coding.get("code", "")) >= 7:
                found.append((coding["code"][:7], coding.get("display") or coding["code"]))
                break
    return found


class State:
    """Registered prescriptions of every clinic, and injected faults."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        self.prescriptions: dict[str, dict[str, Any]] = {}
        self.fault: dict[str, Any] = {}
        self.rng = random.Random(2026)


def create_app() -> Flask:
    """The simulator as a WSGI app."""
    app = Flask(__name__)
    state = State()

    def authorised(code: str) -> bool:
        return bearer_ok(DEMO_TOKENS, code)

    def fault_reply():
        if take_fault(state) == "down":
            return jsonify(_outcome([("fatal", "transient", "サービス停止中")])), 503
        return None

    @app.post("/clinic/<code>/prescriptions")
    def register(code: str):
        if (reply := fault_reply()) is not None:
            return reply
        if not authorised(code):
            return jsonify(_outcome([("error", "security", "認証に失敗しました")])), 401
        bundle = request.get_json(silent=True)
        if not isinstance(bundle, dict):
            return jsonify(_outcome([("error", "structure", "FHIR JSON ではありません")])), 400
        problems = _problems(bundle)
        if problems:
            return jsonify(_outcome([("error", "invariant", p) for p in problems])), 422
        patient = _resources(bundle, "Patient")[0]
        patient_key = (code, (patient.get("identifier") or [{}])[0].get("value", ""))
        today = date.today()
        warnings = []
        with state.lock:
            for other in state.prescriptions.values():
                if other["patient"] != patient_key or other["status"] != "registered":
                    continue
                if today - other["registered_on"] > DUPLICATE_WINDOW:
                    continue
                for ingredient, name in _ingredients(bundle):
                    for other_ingredient, other_name in other["ingredients"]:
                        if ingredient == other_ingredient:
                            warnings.append(("warning", "duplicate", f"重複投薬の可能性: {name} と {other_name}"
                                             f"（{other['registered_on'].isoformat()} 登録の処方箋）"))
            prescription_id = f"rx-{len(state.prescriptions) + 1:06d}"
            exchange = f"{state.rng.randrange(10**7, 10**8)}"
            state.prescriptions[prescription_id] = {"patient": patient_key, "status": "registered",
                                                    "ingredients": _ingredients(bundle), "registered_on": today,
                                                    "exchange": exchange, "registered_at": datetime.now().isoformat()}
        return jsonify({"id": prescription_id, "exchangeNumber": exchange, "outcome": _outcome(warnings)}), 201

    @app.post("/clinic/<code>/prescriptions/<prescription_id>/cancel")
    def cancel(code: str, prescription_id: str):
        if (reply := fault_reply()) is not None:
            return reply
        if not authorised(code):
            return jsonify(_outcome([("error", "security", "認証に失敗しました")])), 401
        with state.lock:
            item = state.prescriptions.get(prescription_id)
            if item is None or item["patient"][0] != code:
                return jsonify(_outcome([("error", "not-found", "処方箋が見つかりません")])), 404
            if item.get("dispensed"):
                return jsonify(_outcome([("error", "business-rule", "調剤済みのため取り消せません")])), 409
            item["status"] = "cancelled"
        return jsonify({"id": prescription_id, "status": "cancelled"})

    add_reset_and_faults(app, state)

    @app.get("/_sim/prescriptions")
    def listing():
        with state.lock:
            return jsonify({k: {**v, "registered_on": v["registered_on"].isoformat(), "patient": list(v["patient"])}
                            for k, v in state.prescriptions.items()})

    return app
