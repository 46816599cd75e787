"""Simulator of the 電子処方箋管理サービス: handlers per 業務コード on the 資格確認端末 simulator
(simulators/oqs_terminal), speaking the service's XmlMsg envelope and code values (docs/standards/eprescription.md).

It refuses what the real service refuses, as far as public sources show: a CSV with CR line ends (EPSB0052E
改行コードはLFで記録してください。), one without its `SJ1` line or the records a prescription needs, Base64 or XML it
cannot read, an electronic prescription (IssueType 1) without a valid XAdES signature (VerifyResultList); the codes
of those other refusals are not public, so the simulator's own start with `SIM` (never mistaken for the service's).
It keeps state: registrations (the same ArbitraryFileIdentifier registers once — a retry gets the first reply),
6-digit 引換番号, cancellations (refused once a pharmacy has the prescription), the pharmacy's progress and
dispensing result (set through the harness, as a pharmacy would), and the 重複投薬等チェック against the patient's
registered prescriptions and dispensing history of other institutions (harness).

Harness (besides the terminal's /_sim/reset and /_sim/faults): GET /_sim/eprescription/prescriptions,
POST /_sim/eprescription/trust (a CA certificate PEM the signatures may chain to: HPKI in reality, the project's
test CA here), POST /_sim/eprescription/history (dispensing elsewhere), POST /_sim/eprescription/pharmacy.
"""

from __future__ import annotations

import base64
import secrets
import tempfile
import threading
import uuid
from datetime import date, timedelta
from typing import Any
from xml.etree import ElementTree

from flask import Flask, jsonify, request
from lxml import etree
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.xades import XAdESVerifier

from simulators.eprescription.reference import reference_pdf
from simulators.eprescription.wire import (
    CHECK_RECORDS,
    REQUIRED_RECORDS,
    Refusal,
    b64,
    drugs_of,
    parse_request,
    patient_of,
    read_csv,
    reply_xml,
)
from simulators.oqs_terminal import Handler
from simulators.oqs_terminal import create_app as terminal_app

DUPLICATE_WINDOW = timedelta(days=30)
STATUS_TEXT = {"registered": "薬局にて受付されていません。", "accepted": "薬局にて受付済です。",
               "dispensing": "薬局にて調剤中です。", "dispensed": "薬局にて調剤済です。",
               "cancelled": "当該処方箋は処方箋取消されています。"}
NO_CONSENT = "患者の閲覧同意がないため、他院の薬剤名・医療機関名は表示できません"


def _same_ingredient(code: str, other: str) -> bool:
    if code == other:
        return True
    return len(code) == 12 and len(other) == 12 and code[:7] == other[:7]


class EPrescriptionService:
    """The service's state and its handlers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.trusted: list[bytes] = []
        self.reset()

    def reset(self) -> None:
        """Forget prescriptions, checks and history (trusted CAs stay: they are the service's configuration)."""
        self.prescriptions: dict[str, dict[str, Any]] = {}
        self.registrations: dict[tuple[str, str], bytes] = {}
        self.prepared: set[tuple[str, tuple[str, str, str, str]]] = set()
        self.history: list[dict[str, str]] = []
        self.rng = secrets.SystemRandom()

    # --- handlers (clinic code, request id, request bytes) → (".xml", reply) -------------------------------

    def handlers(self) -> dict[str, Handler]:
        """業務コード → handler, for the terminal simulator."""
        return {"EPSsiDMP01": self._guard(self.prepare), "EPSsiDMP02": self._guard(self.check),
                "EPSsiPIR01": self._guard(self.register), "EPSsiPIR02": self._guard(self.cancel),
                "EPSsiPIR04": self._guard(self.status), "EPSsiPIR06": self._guard(self.reference)}

    def _guard(self, operation):
        def handler(clinic: str, request_id: str, data: bytes) -> tuple[str, bytes]:
            file_id = request_id
            try:
                file_id, body = parse_request(data)
                with self.lock:
                    return ".xml", reply_xml(file_id, "1", operation(clinic, file_id or request_id, body))
            except _Repeat as repeat:
                return ".xml", repeat.reply
            except Refusal as refusal:
                return ".xml", reply_xml(file_id, "2", refusal=refusal)
        return handler

    @staticmethod
    def _patient_key(body: ElementTree.Element) -> tuple[str, str, str, str]:
        return tuple((body.findtext(name) or "").strip() for name in (  # type: ignore[return-value]
            "InsurerNumber", "InsuredCardSymbol", "InsuredIdentificationNumber", "InsuredBranchNumber"))

    def prepare(self, clinic: str, file_id: str, body: ElementTree.Element) -> dict[str, Any]:
        key = self._patient_key(body)
        if not key[0] or not key[2]:
            raise Refusal("ProcessingResult", ("SIMP0001E", "保険者番号と被保険者番号が必要です。"))
        self.prepared.add((clinic, key))
        return {}

    def check(self, clinic: str, file_id: str, body: ElementTree.Element) -> dict[str, Any]:
        key = self._patient_key(body)
        if (clinic, key) not in self.prepared:
            raise Refusal("ProcessingResult", ("SIMP0002E", "事前準備が行われていません。"))
        records = read_csv(b64(body.findtext("DrugCsv"), "薬剤情報CSV"), CHECK_RECORDS)
        if extra := sorted({r[0] for r in records} - CHECK_RECORDS, key=int):
            raise Refusal("CsvCheckResultList",
                          ("SIMC0004E", f"チェック用CSVに不要なレコードがあります: {','.join(extra)}"))
        consent = "1" in ((body.findtext("OnlineConsent") or ""), (body.findtext("OralBrowsingConsent") or ""))
        hits = []
        for code, name in drugs_of(records):
            for past in self._past(key):
                if _same_ingredient(code, past["code"]):
                    hits.append({
                        "MessageId": f"{len(hits) + 1:03d}", "MessageCategory": "重複投薬",
                        "PharmaceuticalsIngredientName": name if consent else "",
                        "Message": "同一成分の薬剤が処方・調剤されています。" if consent else NO_CONSENT,
                        "TargetPharmaceuticalCode": code, "TargetPharmaceuticalName": name,
                        "PastDate": past["date"], "PastPharmaceuticalCode": past["code"] if consent else "",
                        "PastPharmaceuticalName": past["name"] if consent else "",
                        "PastMedicalInstitutionName": past["institution"] if consent else "",
                        "PastInsurancePharmacyName": past["pharmacy"] if consent else ""})
        return {"CheckResult": "1" if hits else "2", "CheckResultDetail": hits}

    def _past(self, key: tuple[str, str, str, str]) -> list[dict[str, str]]:
        since = date.today() - DUPLICATE_WINDOW
        found = [h for h in self.history if tuple(h["patient"]) == key and h["date"] >= since.strftime("%Y%m%d")]
        for item in self.prescriptions.values():
            if item["patient"] == key and item["status"] != "cancelled" and item["registered_on"] >= since:
                found += [{"date": item["registered_on"].strftime("%Y%m%d"), "code": code, "name": name,
                           "institution": item["institution"], "pharmacy": item.get("pharmacy_name", "")}
                          for code, name in item["drugs"]]
        return found

    def _document_csv(self, info: bytes, issue_type: str) -> bytes:
        try:
            root = etree.fromstring(info, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            raise Refusal("XmlCheckResultList", ("SIMX0004E", "処方箋XMLの形式に誤りがあります。")) from exc
        signature = root.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
        if issue_type == "1":
            if signature is None:
                raise Refusal("VerifyResultList", ("SIMV0001E", "電子処方箋に電子署名がありません。"))
            self._verify(info)
        csv = root.findtext("PrescriptionCsv")
        if csv is None:
            raise Refusal("XmlCheckResultList", ("SIMX0005E", "処方箋XMLに処方箋CSVがありません。"))
        return b64(csv, "処方箋CSV")

    def _verify(self, document: bytes) -> None:
        if not self.trusted:
            raise Refusal("VerifyResultList",
                          ("SIMV0002E", "署名の証明書を検証できません（信頼する認証局がありません）。"))
        failures = []
        for ca in self.trusted:
            with tempfile.NamedTemporaryFile(suffix=".pem") as handle:
                handle.write(ca)
                handle.flush()
                try:
                    XAdESVerifier().verify(document, ca_pem_file=handle.name, expect_references=3)
                    return
                except (InvalidSignature, InvalidInput) as exc:
                    failures.append(str(exc))
        raise Refusal("VerifyResultList", ("SIMV0003E", f"電子署名の検証に失敗しました（{failures[-1][:120]}）。"))

    def register(self, clinic: str, file_id: str, body: ElementTree.Element) -> dict[str, Any]:
        if (clinic, file_id) in self.registrations:  # the same registration again: the first reply, no second one
            raise _Repeat(self.registrations[(clinic, file_id)])
        issue_type = (body.findtext("IssueType") or "").strip()
        if issue_type not in ("1", "2"):
            raise Refusal("XmlCheckResultList", ("SIMX0006E", "IssueType は 1（電子）か 2（紙）です。"))
        records = read_csv(self._document_csv(b64(body.findtext("PrescriptionInfo"), "PrescriptionInfo"),
                                              issue_type), REQUIRED_RECORDS)
        if not any(r[0] in ("22", "27") for r in records):
            raise Refusal("CsvCheckResultList",
                          ("SIMC0003E", "保険者番号レコード（22）か公費レコード（27）がありません。"))
        active = {p["access_code"] for p in self.prescriptions.values() if p["status"] != "cancelled"}
        access_code = next(c for c in (f"{self.rng.randrange(10**6):06d}" for _ in range(1000)) if c not in active)
        prescription_id = str(uuid.uuid4())
        clinic_name = next((r[4] for r in records if r[0] == "1" and len(r) > 4), clinic)
        self.prescriptions[prescription_id] = {
            "clinic": clinic, "file_id": file_id, "access_code": access_code, "issue_type": issue_type,
            "status": "registered", "patient": patient_of(records), "drugs": drugs_of(records),
            "registered_on": date.today(), "institution": clinic_name, "csv": [",".join(r) for r in records]}
        fields = {"PrescriptionId": prescription_id, "AccessCode": access_code}
        self.registrations[(clinic, file_id)] = reply_xml(file_id, "1", fields)
        return fields

    def _own(self, clinic: str, body: ElementTree.Element) -> dict[str, Any]:
        item = self.prescriptions.get((body.findtext("PrescriptionId") or "").strip())
        if item is None or item["clinic"] != clinic:
            raise Refusal("ProcessingResult", ("SIMP0003E", "該当する処方箋がありません。"))
        return item

    def cancel(self, clinic: str, file_id: str, body: ElementTree.Element) -> dict[str, Any]:
        item = self._own(clinic, body)
        if item["status"] in ("accepted", "dispensing", "dispensed"):
            raise Refusal("ProcessingResult", ("SIMP0004E", "薬局で受付済みのため取り消せません。"))
        item["status"] = "cancelled"
        return {}

    def status(self, clinic: str, file_id: str, body: ElementTree.Element) -> dict[str, Any]:
        item = self._own(clinic, body)
        fields: dict[str, Any] = {"PrescriptionStatus": STATUS_TEXT[item["status"]]}
        if item.get("pharmacy_name"):
            fields |= {"ReceptionPharmacyCode": item["pharmacy_code"], "ReceptionPharmacyName": item["pharmacy_name"],
                       "MessageFlg": "1"}
        if item["status"] == "dispensed":
            lines = ["SJ1"] + [line for line in item["csv"] if line.startswith("201,")]
            fields["DispensingResult"] = base64.b64encode("\n".join(lines + [""]).encode()).decode()
        return fields

    def reference(self, clinic: str, file_id: str, body: ElementTree.Element) -> dict[str, Any]:
        item = self._own(clinic, body)
        if item["issue_type"] != "1":
            raise Refusal("ProcessingResult", ("SIMP0005E", "紙の処方箋には控えがありません。"))
        return {"PrescriptionReferenceInformationFile": base64.b64encode(reference_pdf(item)).decode()}

    # --- harness ------------------------------------------------------------------------------------------

    def pharmacy(self, access_code: str, state: str, name: str, code: str) -> bool:
        """A pharmacy accepts, dispenses or finishes the prescription with this 引換番号."""
        with self.lock:
            for item in self.prescriptions.values():
                if item["access_code"] == access_code and item["status"] != "cancelled":
                    item.update(status=state, pharmacy_name=name, pharmacy_code=code)
                    return True
        return False


class _Repeat(Refusal):
    """Not a refusal: the stored reply of a registration repeated with the same identifier."""

    def __init__(self, reply: bytes) -> None:
        super().__init__("")
        self.reply = reply


def create_app(service: EPrescriptionService | None = None, extra_handlers: dict[str, Handler] | None = None,
               tokens: dict[str, str] | None = None) -> Flask:
    """The terminal simulator with the service's handlers (and any other service's) and the harness."""
    service = service or EPrescriptionService()
    app = terminal_app(service.handlers() | dict(extra_handlers or {}), tokens, on_reset=[service.reset])

    @app.get("/_sim/eprescription/prescriptions")
    def listing():
        with service.lock:
            return jsonify({k: {**v, "registered_on": v["registered_on"].isoformat(), "patient": list(v["patient"]),
                                "drugs": [list(d) for d in v["drugs"]]} for k, v in service.prescriptions.items()})

    @app.post("/_sim/eprescription/trust")
    def trust():
        pem = request.get_data()
        if b"BEGIN CERTIFICATE" not in pem:
            return jsonify({"error": "PEM certificate expected"}), 400
        with service.lock:
            if pem not in service.trusted:
                service.trusted.append(pem)
        return jsonify({"ok": True})

    @app.post("/_sim/eprescription/history")
    def history():
        entry = request.get_json(silent=True) or {}
        with service.lock:
            service.history.append({"patient": list(entry.get("patient", [])), "date": str(entry.get("date", "")),
                                    "code": str(entry.get("code", "")), "name": str(entry.get("name", "")),
                                    "institution": str(entry.get("institution", "")),
                                    "pharmacy": str(entry.get("pharmacy", ""))})
        return jsonify({"ok": True})

    @app.post("/_sim/eprescription/pharmacy")
    def pharmacy():
        data = request.get_json(silent=True) or {}
        if data.get("state") not in ("accepted", "dispensing", "dispensed"):
            return jsonify({"error": "state must be accepted, dispensing or dispensed"}), 400
        found = service.pharmacy(str(data.get("access_code", "")), data["state"], str(data.get("name", "")),
                                 str(data.get("code", "")))
        return jsonify({"ok": found}), 200 if found else 404

    return app
