"""Simulator of the 電子カルテ情報共有サービス (reached over HTTP only; the app never imports it).

FHIR R4 over HTTP as the national service is described (jp-clins.md): per clinic /clinic/<医療機関コード>/fhir/…
with a bearer token.
- POST Bundle: a JP_Bundle_CLINS collection (6 information) or a JP_Bundle_eReferral document (診療情報提供書 to
  another institution). Refused with an OperationOutcome (422) when it is not such a bundle. A conditional create
  (`If-None-Exist: identifier=<system>|<value>` of the Bundle) that matches a registration already made is answered
  200 with the first answer and changes nothing (a retried delivery stays single).
- GET Bundle?identifier=<保険者番号:記号:番号:枝番>: every institution's 6 information of a patient (searchset);
  GET Observation?identifier=…&category=health-check: health-check results. Both need the patient's consent
  (403 OperationOutcome without it, or once it has expired).
- DELETE <kind>?identifier=<resourceInstance>&patient.identifier=<member>: 取消 of an item the institution
  registered (a change is 取消 then a new POST, as the service defines 変更).
- GET metadata: the CapabilityStatement, answered to an authenticated clinic only (the connection test).
- GET Composition?recipient=<own code>: documents other institutions addressed to this one, and the patient's
  退院時サマリー and 健康診断結果報告書 (JP_Bundle_eDischargeSummary, JP_Bundle_eCheckupGeneral: registered for the
  patient, not addressed) while the patient's consent is valid; GET Bundle/<id>: one document (a fetch by the
  recipient marks it read); GET Bundle/<id>/_status: whether the recipient read it.
Faults: down (503), slow (`seconds`), lost_reply (the work is done, the reply is lost: 504).
Harness for tests and the demo: /_sim/reset, /_sim/faults, /_sim/patients (consent + other institutions' data),
/_sim/registered.
"""

from __future__ import annotations

import copy
import time
import uuid
from datetime import date, datetime
from typing import Any

from flask import Flask, g, jsonify, request

from simulators.common import LOST_REPLY, add_reset_and_faults, bearer_ok, lost_reply, take_fault
from simulators.sharing_service import demo_data
from simulators.sharing_service.checkup import BUNDLE_PROFILE as CHECKUP_REPORT
from simulators.sharing_service.demo_data import INSTITUTION_EXT, INSTITUTION_NO
from simulators.sharing_service.discharge import BUNDLE_PROFILE as DISCHARGE
from simulators.sharing_service.harness import add_harness
from simulators.sharing_service.records import (  # noqa: F401 — DEMO_TOKENS, outcome are this package's API
    CLINS,
    DEMO_TOKENS,
    FHIR_JSON,
    INSTANCE,
    KINDS,
    MEMBER,
    MEMBER_PATTERN,
    REFERRAL,
    State,
    _fhir,
    _instance,
    _member_of,
    _profiles,
    outcome,
    registration_problems,
)


def create_app() -> Flask:
    """The simulator as a WSGI app."""
    app = Flask(__name__)
    state = State()

    def authorised(code: str) -> bool:
        return bearer_ok(DEMO_TOKENS, code)

    def guard(code: str):
        mode = g.fault = take_fault(state)
        if mode == "down":
            return _fhir(outcome([("fatal", "transient", "サービス停止中です")]), 503)
        if mode == "slow":
            time.sleep(float(state.fault.get("seconds", 2)))
        if not authorised(code):
            return _fhir(outcome([("error", "security", "認証に失敗しました")]), 401)
        return None

    def consent_problem(member: str) -> Any:
        record = state.patients.get(member)
        until = record and record["consent_until"]
        if not until:
            return _fhir(outcome([("error", "forbidden", "患者の閲覧同意がありません")]), 403)
        if until < date.today():
            return _fhir(outcome([("error", "forbidden",
                                   f"患者の閲覧同意の有効期限（{until.isoformat()}）が過ぎています")]), 403)
        return None

    @app.after_request
    def lose_the_reply(response):
        return lost_reply() if g.get("fault") == LOST_REPLY else response

    @app.get("/")
    def root():
        return jsonify({"service": "電子カルテ情報共有サービス simulator"})

    @app.get("/clinic/<code>/fhir/metadata")
    def metadata(code: str):
        if (reply := guard(code)) is not None:
            return reply
        return _fhir({"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
                      "fhirVersion": "4.0.1", "format": ["application/fhir+json"],
                      "software": {"name": "電子カルテ情報共有サービス（シミュレーター）", "version": "1.0"},
                      "implementation": {"description": f"医療機関コード {code} として認証しました",
                                         "url": request.url_root.rstrip("/") + f"/clinic/{code}/fhir"}})

    @app.post("/clinic/<code>/fhir/Bundle")
    def register(code: str):
        if (reply := guard(code)) is not None:
            return reply
        bundle = request.get_json(silent=True)
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            return _fhir(outcome([("error", "structure", "FHIR の Bundle ではありません")]), 400)
        profiles = _profiles(bundle)
        if CLINS in profiles and bundle.get("type") == "collection":
            condition = request.headers.get("If-None-Exist", "")
            with state.lock:
                first = state.created.get((code, condition)) if condition else None
            if first is not None:  # FHIR conditional create: one match exists, so nothing is created (200)
                return _fhir(first, 200)
            problems = registration_problems(bundle, code)
            if problems:
                return _fhir(outcome([("error", "business-rule", p) for p in problems]), 422)
            entries = [e["resource"] for e in bundle["entry"]]
            member = _member_of(entries[1]) if len(entries) > 1 else ""
            member = member or next(i["value"] for i in entries[0]["identifier"] if i.get("system") == MEMBER)
            with state.lock:
                held = state.patient(member)["resources"]
                for resource in entries[1:]:
                    held[_instance(resource)] = copy.deepcopy(resource) | {
                        "id": uuid.uuid5(uuid.NAMESPACE_URL, _instance(resource)).hex}
                state.registrations += 1
                answer = {"resourceType": "Bundle", "type": "transaction-response", "entry": [
                    {"response": {"status": "201 Created", "location":
                                  f"{r['resourceType']}/{uuid.uuid5(uuid.NAMESPACE_URL, _instance(r)).hex}"}}
                    for r in entries[1:]]}
                if condition:
                    state.created[(code, condition)] = answer
            return _fhir(answer, 201)
        patients_own = DISCHARGE in profiles or CHECKUP_REPORT in profiles
        if (REFERRAL in profiles or patients_own) and bundle.get("type") == "document":
            return register_document(code, bundle, for_patient=patients_own)
        return _fhir(outcome([("error", "not-supported", "JP_Bundle_CLINS（collection）または JP_Bundle_eReferral"
                                                          "（document）ではありません")]), 422)

    @app.delete("/clinic/<code>/fhir/<kind>")
    def withdraw(code: str, kind: str):
        """取消 of an item the institution registered: conditional delete keyed, as the service keys a 取消, by the
        institution (URL), the patient's insurance member ID (patient.identifier) and the resource instance
        identifier (identifier); another institution's items are never touched. A change (変更) is this 取消
        followed by a new POST. Idempotent: nothing left to delete is success too."""
        if (reply := guard(code)) is not None:
            return reply
        value = request.args.get("identifier", "").split("|")[-1]
        member = request.args.get("patient.identifier", "").split("|")[-1]
        if kind not in KINDS or not value or not member:
            return _fhir(outcome([("error", "required", "resourceType、identifier（リソース識別子）と "
                                                        "patient.identifier（被保険者番号）を指定してください")]), 400)
        removed = 0
        with state.lock:
            record = state.patients.get(member, {"resources": {}})
            for instance, resource in list(record["resources"].items()):
                institution = next((e.get("valueIdentifier", {}).get("value") for e in resource.get("extension", [])
                                    if e.get("url") == INSTITUTION_EXT), None)
                if instance == value and resource.get("resourceType") == kind and institution == code:
                    del record["resources"][instance]
                    removed += 1
            state.withdrawals += removed
        return _fhir(outcome([("information", "informational", f"{removed}件を取り下げました")]), 200)

    def register_document(code: str, bundle: dict[str, Any], for_patient: bool = False):
        entries = [e.get("resource") or {} for e in bundle.get("entry") or []]
        if not entries or entries[0].get("resourceType") != "Composition":
            return _fhir(outcome([("error", "structure", "最初の entry が Composition ではありません")]), 422)
        patient = next((r for r in entries if r.get("resourceType") == "Patient"), {})
        member = next((i.get("value", "") for i in patient.get("identifier", []) if i.get("system") == MEMBER), "")
        recipient = next((i.get("value") for r in entries if r.get("resourceType") == "Organization"
                          and r.get("id") == "recipient" for i in r.get("identifier", [])), "")
        if not MEMBER_PATTERN.match(member):
            return _fhir(outcome([("error", "required", "患者の被保険者番号がありません")]), 422)
        if not recipient and not for_patient:  # a discharge summary is the patient's, for any institution consented
            return _fhir(outcome([("error", "required", "紹介先医療機関（Organization id=recipient）がありません")]),
                         422)
        document_id = (bundle.get("identifier") or {}).get("value") or uuid.uuid4().hex
        with state.lock:
            state.keep_document(document_id, copy.deepcopy(bundle), code, recipient, member, for_patient)
        return _fhir({"resourceType": "Bundle", "type": "transaction-response", "entry": [
            {"response": {"status": "201 Created", "location": f"Bundle/{document_id}"}}]}, 201)

    @app.get("/clinic/<code>/fhir/Bundle")
    def search(code: str):
        if (reply := guard(code)) is not None:
            return reply
        member = request.args.get("identifier", "")
        if "|" in member:
            member = member.split("|", 1)[1]
        if not MEMBER_PATTERN.match(member):
            return _fhir(outcome([("error", "required", "identifier（被保険者番号）を指定してください")]), 400)
        if (reply := consent_problem(member)) is not None:
            return reply
        with state.lock:
            resources = list(state.patients[member]["resources"].values())
        return _fhir(_searchset(resources, _organizations(resources)))

    @app.get("/clinic/<code>/fhir/Observation")
    def checkups(code: str):
        if (reply := guard(code)) is not None:
            return reply
        member = request.args.get("identifier", "").split("|")[-1]
        if request.args.get("category") != "health-check":
            return _fhir(outcome([("error", "not-supported", "category=health-check のみ検索できます")]), 400)
        if (reply := consent_problem(member)) is not None:
            return reply
        with state.lock:
            return _fhir(_searchset(list(state.patients[member]["checkups"])))

    @app.get("/clinic/<code>/fhir/Composition")
    def received(code: str):
        if (reply := guard(code)) is not None:
            return reply
        member = request.args.get("identifier", "").split("|")[-1]
        consented = bool(member) and consent_problem(member) is None
        with state.lock:
            found = [(doc_id, d) for doc_id, d in state.documents.items()
                     if (d["recipient"] == code or (d.get("for_patient") and consented))
                     and (not member or d["member"] == member)]
        entries = [{"fullUrl": f"Bundle/{doc_id}", "resource": d["bundle"]["entry"][0]["resource"]
                    | {"id": doc_id}, "search": {"mode": "match"}} for doc_id, d in found]
        return _fhir({"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries})

    @app.get("/clinic/<code>/fhir/Bundle/<document_id>")
    def fetch(code: str, document_id: str):
        if (reply := guard(code)) is not None:
            return reply
        with state.lock:
            document = state.documents.get(document_id)
            readable = document is not None and (code in (document["sender"], document["recipient"]) or (
                document.get("for_patient") and consent_problem(document["member"]) is None))
            if not readable:
                return _fhir(outcome([("error", "not-found", "文書が見つかりません")]), 404)
            if code == document["recipient"] and not document["read_at"]:
                document["read_at"] = datetime.now().isoformat(timespec="seconds")
            return _fhir(document["bundle"])

    @app.get("/clinic/<code>/fhir/Bundle/<document_id>/_status")
    def status(code: str, document_id: str):
        if (reply := guard(code)) is not None:
            return reply
        with state.lock:
            document = state.documents.get(document_id)
            if document is None or document["sender"] != code:
                return _fhir(outcome([("error", "not-found", "文書が見つかりません")]), 404)
            return jsonify({"id": document_id, "read_at": document["read_at"]})

    add_reset_and_faults(app, state)

    add_harness(app, state)
    return app


def _searchset(resources: list[dict[str, Any]], included: list[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r, "search": {"mode": "match"}}
                      for r in resources] + [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r,
                                              "search": {"mode": "include"}} for r in included]}


def _organizations(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Organization of each institution that registered one of `resources` (as a search with _include of the
    institution answers), so that a reader shows the institution's name, not only its code."""
    codes = sorted({e.get("valueIdentifier", {}).get("value", "") for r in resources for e in r.get("extension", [])
                    if e.get("url") == INSTITUTION_EXT} & demo_data.INSTITUTIONS.keys())
    return [{"resourceType": "Organization", "id": f"org-{code}",
             "identifier": [{"system": INSTITUTION_NO, "value": code}], "name": demo_data.INSTITUTIONS[code]}
            for code in codes]


