"""The 電子カルテ情報共有サービス simulator's harness for tests and the demo: /_sim/patients (consent and other
institutions' data), /_sim/documents, /_sim/discharge-summaries, /_sim/checkup-reports and /_sim/registered."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from flask import Flask, jsonify, request

from simulators.sharing_service import demo_data
from simulators.sharing_service.checkup import BUNDLE_PROFILE as CHECKUP_REPORT
from simulators.sharing_service.checkup import checkup_report
from simulators.sharing_service.discharge import BUNDLE_PROFILE as DISCHARGE
from simulators.sharing_service.discharge import discharge_summary
from simulators.sharing_service.records import MEMBER, MEMBER_PATTERN, State, _instance, _profiles


def add_harness(app: Flask, state: State) -> None:
    """Register the /_sim routes that arrange what the service holds and report what it received."""

    @app.post("/_sim/patients")
    def seed_patient():
        """{member_id, consent_until (YYYY-MM-DD or null), other_institutions: bool, checkups: [kinds],
        medications: [{yj, name, days_ago}] (active prescriptions the fictitious hospital registered)}."""
        body = request.get_json(silent=True) or {}
        member = body.get("member_id", "")
        if not MEMBER_PATTERN.match(member):
            return jsonify({"error": "member_id"}), 400
        today = date.today()
        with state.lock:
            record = state.patient(member)
            if "consent_until" in body:
                record["consent_until"] = date.fromisoformat(body["consent_until"]) if body["consent_until"] else None
            if body.get("other_institutions"):
                for resource in demo_data.six_information(member, today):
                    record["resources"][_instance(resource)] = resource | {"id": uuid.uuid4().hex}
            for n, med in enumerate(body.get("medications") or [], start=1):
                resource = demo_data.medication(member, demo_data.HOSPITAL, f"rx-{n}", str(med["yj"]),
                                                str(med["name"]), today - timedelta(days=int(med["days_ago"])))
                record["resources"][_instance(resource)] = resource | {"id": uuid.uuid4().hex}
            if body.get("checkups"):
                record["checkups"] = demo_data.health_checks(member, today, tuple(body["checkups"]))
        return jsonify({"ok": True})

    @app.post("/_sim/documents")
    def seed_document():
        """{"bundle": a referral document, "sender": code, "recipient": code}: a letter another institution sent."""
        body = request.get_json(silent=True) or {}
        bundle = body["bundle"]
        document_id = (bundle.get("identifier") or {}).get("value") or uuid.uuid4().hex
        with state.lock:
            patient = next((e["resource"] for e in bundle.get("entry", [])
                            if e.get("resource", {}).get("resourceType") == "Patient"), {})
            member = next((i.get("value", "") for i in patient.get("identifier", []) if i.get("system") == MEMBER), "")
            state.keep_document(document_id, bundle, body["sender"], body["recipient"], member,
                                for_patient=bool({DISCHARGE, CHECKUP_REPORT} & set(_profiles(bundle))))
        return jsonify({"id": document_id})

    @app.post("/_sim/discharge-summaries")
    def seed_discharge_summary():
        """{"member_id", "name", "kana"}: the fictitious hospital registers a 退院時サマリー of the patient (readable by
        any institution the patient consented to); {"bundle": …} stores that bundle as it is instead."""
        body = request.get_json(silent=True) or {}
        member = body.get("member_id", "")
        # The built summary of a patient has one id: told again (the demo at each start), it is replaced, not doubled.
        document_id = (uuid.uuid4() if body.get("bundle")
                       else uuid.uuid5(uuid.NAMESPACE_URL, f"discharge:{member}")).hex
        bundle = body.get("bundle") or discharge_summary(member, body.get("name", ""), body.get("kana", ""),
                                                          date.today(), document_id)
        with state.lock:
            state.keep_document(document_id, bundle, demo_data.HOSPITAL[1], "", member, for_patient=True)
        return jsonify({"id": document_id})

    @app.post("/_sim/checkup-reports")
    def seed_checkup_reports():
        """{"member_id", "name", "years"}: the hospital's 健康診断結果報告書 of the patient's yearly 特定健診, the last
        a month ago (one id per patient and year: told again, they are replaced)."""
        body = request.get_json(silent=True) or {}
        member, years = body.get("member_id", ""), int(body.get("years", 5))
        ids = []
        with state.lock:
            for year in range(years):
                day = date.today() - timedelta(days=30 + 365 * (years - 1 - year))
                document_id = uuid.uuid5(uuid.NAMESPACE_URL, f"checkup:{member}:{year}").hex
                state.keep_document(document_id, checkup_report(member, body.get("name", ""), day, year, document_id),
                                    demo_data.HOSPITAL[1], "", member, for_patient=True)
                ids.append(document_id)
        return jsonify({"ids": ids})

    @app.get("/_sim/registered")
    def registered():
        with state.lock:
            return jsonify({"registrations": state.registrations, "withdrawals": state.withdrawals,
                            "patients": {m: {"consent_until": p["consent_until"] and p["consent_until"].isoformat(),
                                             "resources": list(p["resources"].values())}
                                         for m, p in state.patients.items()},
                            "documents": {k: {kk: vv for kk, vv in v.items() if kk != "bundle"}
                                          for k, v in state.documents.items()}})
