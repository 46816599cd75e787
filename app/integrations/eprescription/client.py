"""Client of the 電子処方箋管理サービス over the 資格確認端末 (app/integrations/national_gateway.py): one request
file and one reply per operation, in the service's XmlMsg envelope (messages.py).

Operations (業務コード; docs/standards/eprescription.md §2 says which are read in public sources and which are
our guess until we hold the 外部IF仕様書): 重複投薬等チェック 事前準備 EPSsiDMP01 and the check EPSsiDMP02,
処方箋登録 EPSsiPIR01, 取消 EPSsiPIR02, 状況・調剤結果取得 EPSsiPIR04, 控え取得 EPSsiPIR06.

Each request's id is the caller's: the file name `<業務コード>req_<id>.xml` and the header's
ArbitraryFileIdentifier. Registering again with the same id after a lost reply gets the first registration
back, never a second prescription.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.integrations.eprescription import messages as m
from app.integrations.eprescription.signing import Signer
from app.integrations.errors import IntegrationError, Refused
from app.integrations.national_gateway import Gateway, GatewayError, exchange

PREPARE, CHECK, REGISTER, CANCEL, STATUS, REFERENCE = ("EPSsiDMP01", "EPSsiDMP02", "EPSsiPIR01", "EPSsiPIR02",
                                                       "EPSsiPIR04", "EPSsiPIR06")
#: The duplicate check's overall result: 1 重複等あり, 2 重複等なし.
CHECK_FOUND, CHECK_CLEAR = "1", "2"
#: 状況 as the service words it (PrescriptionStatus), and ours.
STATES = (("取消", "取消済"), ("回収済", "回収済"), ("調剤済", "調剤済"), ("調剤中", "調剤中"),
          ("受付されていません", "未受付"), ("受付", "受付済"))


class EPrescriptionError(IntegrationError):
    """The service could not be used; `message_ja` is for staff, `retryable` says whether to try later."""


class EPrescriptionUnavailable(EPrescriptionError):
    """The terminal or the service did not answer, or answered something unreadable: try later."""


class EPrescriptionRejected(Refused, EPrescriptionError):
    """The service refused the request; `problems` are its codes and messages (EPSB…)."""

    def __init__(self, message_ja: str, problems: list[str] | None = None) -> None:
        super().__init__(message_ja)
        self.problems = problems or []


@dataclass(frozen=True)
class PatientKey:
    """Whom the check is about: the insurance card's identifiers and the birth date, and the consent given to
    see other institutions' medicines (at the card reader, or orally to the doctor)."""

    insurer_number: str
    symbol: str
    number: str
    branch: str
    birth_date: str
    card_consent: bool = False
    oral_consent: bool = False

    def fields(self) -> dict[str, str]:
        """The body fields of the check requests."""
        return {"InsurerNumber": self.insurer_number, "InsuredCardSymbol": self.symbol,
                "InsuredIdentificationNumber": self.number, "InsuredBranchNumber": self.branch,
                "BirthDate": self.birth_date, "OnlineConsent": "1" if self.card_consent else "0",
                "OralBrowsingConsent": "1" if self.oral_consent else "0"}


@dataclass(frozen=True)
class CheckHit:
    """One finding of the service's 重複投薬等チェック: its category, our drug, and the other one with its dispensing
    date, the institution that prescribed it and the pharmacy that dispensed it."""

    message_id: str
    category: str
    ingredient: str
    message: str
    drug_code: str
    drug_name: str
    past_date: str
    past_drug_code: str
    past_drug_name: str
    past_institution: str
    past_pharmacy: str

    def as_record(self) -> dict[str, str]:
        """Plain values to keep."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Registration:
    """A registered prescription: the service's id, the 引換番号 and any warnings (W codes) it gave."""

    prescription_id: str
    access_code: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class DispensedLine:
    """One drug the pharmacy dispensed."""

    code: str
    name: str
    quantity: str
    unit: str


@dataclass(frozen=True)
class Status:
    """The prescription at the pharmacy: our state word, the service's text, the pharmacy and what it dispensed."""

    state: str
    text: str
    pharmacy_code: str
    pharmacy_name: str
    dispensed: tuple[DispensedLine, ...]


def _hit(element: Any) -> CheckHit:
    def text(name: str) -> str:
        return (element.findtext(name) or "").strip()

    return CheckHit(text("MessageId"), text("MessageCategory"), text("PharmaceuticalsIngredientName"),
                    text("Message"), text("TargetPharmaceuticalCode"), text("TargetPharmaceuticalName"),
                    text("PastDate"), text("PastPharmaceuticalCode"), text("PastPharmaceuticalName"),
                    text("PastMedicalInstitutionName"), text("PastInsurancePharmacyName"))


def _dispensed(csv_text: str) -> tuple[DispensedLine, ...]:
    lines = []
    for row in csv_text.split("\n"):
        fields = row.split(",")
        if fields[0] == "201" and len(fields) >= 10:
            lines.append(DispensedLine(fields[5], fields[6], fields[7], fields[9]))
    return tuple(lines)


def state_of(text: str) -> str:
    """Our word for the service's PrescriptionStatus text."""
    return next((state for needle, state in STATES if needle in text), "不明")


def prescription_document(csv: str) -> bytes:
    """The 処方箋XML around the Base64 of the CSV (element names are our guess; eprescription.md §1.2)."""
    return ('<?xml version="1.0" encoding="UTF-8"?><PrescriptionDocument><PrescriptionCsv>'
            f"{m.b64(csv.encode('utf-8'))}</PrescriptionCsv></PrescriptionDocument>").encode()


def prescription_info(csv: str, signer: Signer | None) -> str:
    """MessageBody/PrescriptionInfo: Base64 of the 処方箋XML (CSV inside as Base64), signed when `signer` is given."""
    document = prescription_document(csv)
    return m.b64(signer.sign(document) if signer else document)


class EPrescriptionClient:
    """One clinic's connection: its gateway (folders or relay) and 医療機関コード."""

    def __init__(self, gateway: Gateway, institution_code: str, *, timeout: float = 30.0) -> None:
        self.gateway = gateway
        self.institution_code = institution_code
        self.timeout = timeout

    def _exchange(self, code: str, request_id: str, body: dict[str, Any]) -> m.ServiceReply:
        request = m.build_request(self.institution_code, request_id, body)
        try:
            reply = exchange(self.gateway, code, request_id, request, timeout=self.timeout)
        except GatewayError as exc:
            error = EPrescriptionUnavailable if exc.retryable else EPrescriptionRejected
            raise error(exc.message_ja) from exc
        if reply.is_pdf:
            raise EPrescriptionUnavailable("電子処方箋管理サービスがXMLでなくPDFを返しました")
        try:
            parsed = m.parse_reply(reply.body)
        except m.MessageError as exc:
            raise EPrescriptionUnavailable(str(exc)) from exc
        if parsed.segment == m.SEGMENT_PROCESSING:
            raise EPrescriptionUnavailable("電子処方箋管理サービスで処理中です。しばらくして再度お試しください")
        return parsed

    def _call(self, code: str, request_id: str, body: dict[str, Any]) -> m.ServiceReply:
        parsed = self._exchange(code, request_id, body)
        if not parsed.ok:
            problems = parsed.problems()
            raise EPrescriptionRejected("電子処方箋管理サービスが受け付けませんでした: " + "／".join(problems),
                                        problems)
        return parsed

    def ping(self, request_id: str) -> str:
        """A connection test: ask the state of a prescription that does not exist and return what the service
        answered, in its own words (EPrescriptionError when no answer comes)."""
        reply = self._exchange(STATUS, request_id, {"PrescriptionId": "0"})
        return "正常終了" if reply.ok else "／".join(reply.problems())

    def prepare_check(self, request_id: str, patient: PatientKey) -> None:
        """事前準備: ask the service to gather the patient's medicines for the check."""
        self._call(PREPARE, request_id, patient.fields())

    def check_duplicates(self, request_id: str, patient: PatientKey, check_csv: str) -> tuple[bool, list[CheckHit]]:
        """The 重複投薬等チェック of the drugs in `check_csv` (records 101, 111, 201): (found, hits)."""
        reply = self._call(CHECK, request_id, patient.fields() | {"DrugCsv": m.b64(check_csv.encode("utf-8"))})
        hits = [_hit(e) for e in reply.body.iter("CheckResultDetail")]
        return reply.text("CheckResult") == CHECK_FOUND or bool(hits), hits

    def register(self, request_id: str, info: str, issue_type: str) -> Registration:
        """処方箋登録 of a PrescriptionInfo (prescription_info) as 電子 (1) or 紙 (2)."""
        reply = self._call(REGISTER, request_id, {"PrescriptionInfo": info, "IssueType": issue_type})
        access_code, prescription_id = reply.text("AccessCode"), reply.text("PrescriptionId")
        if not prescription_id or not (access_code.isdigit() and len(access_code) == 6):
            raise EPrescriptionUnavailable("電子処方箋管理サービスの応答に処方箋IDか6桁の引換番号がありません")
        return Registration(prescription_id, access_code, tuple(i.display() for i in reply.results))

    def cancel(self, request_id: str, prescription_id: str) -> None:
        """処方箋取消 (refused by the service once the pharmacy has it)."""
        self._call(CANCEL, request_id, {"PrescriptionId": prescription_id})

    def status(self, request_id: str, prescription_id: str) -> Status:
        """処方箋の状況と調剤結果."""
        reply = self._call(STATUS, request_id, {"PrescriptionId": prescription_id})
        text = reply.text("PrescriptionStatus")
        result = reply.text("DispensingResult")
        dispensed = _dispensed(m.unb64(result, "調剤結果").decode("utf-8", "replace")) if result else ()
        return Status(state_of(text), text, reply.text("ReceptionPharmacyCode"), reply.text("ReceptionPharmacyName"),
                      dispensed)

    def reference_pdf(self, request_id: str, prescription_id: str) -> bytes:
        """控え取得: the 処方内容（控え） PDF the service makes for an electronic prescription."""
        reply = self._call(REFERENCE, request_id, {"PrescriptionId": prescription_id})
        pdf = m.unb64(reply.text("PrescriptionReferenceInformationFile"), "控え")
        if not pdf.startswith(b"%PDF"):
            raise EPrescriptionUnavailable("電子処方箋管理サービスの控えがPDFではありません")
        return pdf
