"""A client of the WebORCA / 日医標準レセプトソフト HTTP API (docs/standards/orca.md). Never CLAIM.

JSON mode (`format=json`) by default; `mode="xml"` speaks xml2. Replies are read in either format whatever
was asked, so the recorded xml2 replies of a real ORCA parse the same way.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any, Literal

import requests

from app.integrations.orca.errors import OrcaApiError, OrcaAuthError, OrcaProtocolError, OrcaUnavailable
from app.integrations.orca.models import (
    OrcaBillSimulation,
    OrcaContraindicationCheck,
    OrcaInstitution,
    OrcaInteraction,
    OrcaMedicalResult,
    OrcaPatient,
    OrcaPushEvent,
    OrcaReception,
)
from app.integrations.orca.parsing import (
    JST,
    read_code_list,
    read_patient,
    read_push_event,
    read_reception,
)
from app.integrations.orca.reader import Reader
from app.integrations.orca.xml2 import build_xml2, parse_xml2

#: Api_Result values that are a success: "00"/"000"/"0000" (the width varies by API), "W00", and the
#: K1…K5 warnings of acceptmodv2 / patientmodv2 (a warning, the work was done).
_SUCCESS = re.compile(r"^(W?0+|K\d)$")
#: Results that mean "nothing found" for a list: an empty answer, not a failure.
EMPTY_RESULTS = {"acceptlstv2": {"21"}, "patientlst1v2": {"20"}, "patientlst3v2": {"20"},
                 "system01lstv2": {"11"}, "pusheventgetv2": {"0007"}, "tmedicalgetv2": {"15"},
                 # 初診算定日 検索: WK1 "初診料が算定済みです" is the answer that carries the date.
                 "medicalmodv23": {"WK1"}}
NOT_FOUND_NAME = "【患者番号がありません】"
RECEPTION_CLASSES = {"waiting": "01", "paid": "02", "all": "03"}


class OrcaClient:
    """One clinic's ORCA: base URL (on WebORCA ending in /api), Basic auth, optional TLS client certificate."""

    def __init__(self, base_url: str, user: str, password: str, *, verify: bool | str = True,
                 cert: str | tuple[str, str] | None = None, timeout: float = 5.0,
                 session: requests.Session | None = None, mode: Literal["json", "xml"] = "json") -> None:
        if mode not in ("json", "xml"):
            raise ValueError("mode must be 'json' or 'xml'")
        self.base_url = base_url.rstrip("/")
        self.http = session or requests.Session()
        self.http.auth = (user, password)
        self.http.verify = verify
        self.http.cert = cert
        self.timeout = timeout
        self.mode = mode

    # --- patients --------------------------------------------------------------------------------------

    def get_patient(self, patient_id: str) -> OrcaPatient:
        """Fetch one patient with insurances and 公費 (patientgetv2)."""
        record = self._ask("GET", "api01rv2/patientgetv2", {"id": str(patient_id).strip()}, None, None,
                           ("patientinfores",))
        return read_patient(record.get("Patient_Information"))

    def get_patients(self, patient_ids: list[str]) -> list[OrcaPatient]:
        """Fetch several patients (patientlst2v2, 100 a call); numbers ORCA does not know are left out."""
        patients: list[OrcaPatient] = []
        ids = [str(i).strip() for i in patient_ids]
        for start in range(0, len(ids), 100):
            body = {"Patient_ID_Information": [{"Patient_ID": pid} for pid in ids[start:start + 100]]}
            record = self._ask("POST", "api01rv2/patientlst2v2", {"class": "01"}, "patientlst2req", body,
                               ("patientlst2res",))
            for item in Reader(record, "複数患者情報").records("Patient_Information", "患者情報"):
                if item.text("WholeName", "氏名") != NOT_FOUND_NAME:
                    patients.append(read_patient(item.record))
        return patients

    def search_patients_by_name(self, name: str, *, birth_from: date | None = None, birth_to: date | None = None,
                                sex: str | None = None) -> list[OrcaPatient]:
        """Find patients whose name or kana starts with `name` (patientlst3v2; ORCA refuses 外字 with code 10)."""
        body = {"WholeName": name, "Birth_StartDate": birth_from.isoformat() if birth_from else "",
                "Birth_EndDate": birth_to.isoformat() if birth_to else "",
                "Sex": {"M": "1", "F": "2"}.get(sex or "", "")}
        record = self._ask("POST", "api01rv2/patientlst3v2", {"class": "01"}, "patientlst3req", body,
                           ("patientlst2res",))
        return [read_patient(item.record)
                for item in Reader(record, "氏名検索").records("Patient_Information", "患者情報")]

    def list_patients_changed(self, since: date, until: date, *, new_only: bool = False) -> list[str]:
        """List the numbers of patients created or changed in a period (patientlst1v2; ORCA refuses ≥ 1000: 10)."""
        body = {"Base_StartDate": since.isoformat(), "Base_EndDate": until.isoformat(),
                "Contain_TestPatient_Flag": "1"}
        record = self._ask("POST", "api01rv2/patientlst1v2", {"class": "02" if new_only else "01"},
                           "patientlst1req", body, ("patientlst1res",))
        return [item.text("Patient_ID", "患者番号", required=True)
                for item in Reader(record, "患者番号一覧").records("Patient_Information", "患者")]

    # --- reception -------------------------------------------------------------------------------------

    def list_receptions(self, day: date, *, which: Literal["all", "waiting", "paid"] = "all",
                        department_code: str = "", physician_code: str = "") -> list[OrcaReception]:
        """List a day's 受付 (acceptlstv2 class 03 all / 01 waiting / 02 paid); an empty day is []."""
        body = {"Acceptance_Date": day.isoformat(), "Department_Code": department_code,
                "Physician_Code": physician_code}
        record = self._ask("POST", "api01rv2/acceptlstv2", {"class": RECEPTION_CLASSES[which]}, "acceptlstreq",
                           body, ("acceptlstres",))
        if record.get("Api_Result") == "21":
            return []
        answered = Reader(record, "受付一覧").required_day("Acceptance_Date", "受付日")
        if answered != day:
            raise OrcaProtocolError(f"ORCAが別の日の受付一覧を返しました（{day.isoformat()} を求めて {answered}）")
        return [read_reception(item.record, day)
                for item in Reader(record, "受付一覧").records("Acceptlst_Information", "受付")]

    def register_reception(self, patient_id: str, department_code: str, physician_code: str, at: datetime,
                           insurance_combination: str | None = None,
                           medical_information: str = "01") -> OrcaReception:
        """Register a 受付 (acceptmodv2 Request_Number 01); the result carries ORCA's Acceptance_Id."""
        at = at.astimezone(JST) if at.tzinfo else at.replace(tzinfo=JST)
        body: dict[str, Any] = {
            "Request_Number": "01", "Patient_ID": str(patient_id).strip(), "Acceptance_Date": at.date().isoformat(),
            "Acceptance_Time": at.strftime("%H:%M:%S"), "Department_Code": department_code,
            "Physician_Code": physician_code, "Medical_Information": medical_information}
        if insurance_combination:
            body["HealthInsurance_Information"] = {"Insurance_Combination_Number": insurance_combination}
        record = self._ask("POST", "orca11/acceptmodv2", {"class": "01"}, "acceptreq", body, ("acceptres",))
        return read_reception(record, Reader(record, "受付登録").required_day("Acceptance_Date", "受付日"))

    def cancel_reception(self, patient_id: str, reception_id: str, day: date) -> None:
        """Cancel a 受付 (acceptmodv2 Request_Number 02); ORCA deletes it from its list."""
        body = {"Request_Number": "02", "Patient_ID": str(patient_id).strip(), "Acceptance_Id": reception_id,
                "Acceptance_Date": day.isoformat()}
        self._ask("POST", "orca11/acceptmodv2", {"class": "02"}, "acceptreq", body, ("acceptres",))

    def fetch_push_events(self, event: str | None = None, *, user: str | None = None,
                          since: datetime | None = None, until: datetime | None = None) -> list[OrcaPushEvent]:
        """Fetch PUSH notifications already sent (pusheventgetv2, JSON only; ORCA keeps about 7 days)."""
        body = {key: value for key, value in (
            ("event", event or ""), ("user", user or ""),
            ("start_time", since.astimezone(JST).strftime("%Y-%m-%d %H:%M") if since else ""),
            ("end_time", until.astimezone(JST).strftime("%Y-%m-%d %H:%M") if until else "")) if value}
        payload = self._send("POST", "api01rv2/pusheventgetv2", {}, json.dumps(
            {"pusheventgetv2req": body}, ensure_ascii=False).encode(), "application/json")
        if isinstance(payload, dict) and "error" in payload:
            error = Reader(payload["error"], "PUSH通知一括取得のエラー")
            code = error.text("code", "コード", required=True)
            if code in EMPTY_RESULTS["pusheventgetv2"]:
                return []
            raise _api_error("pusheventgetv2", code, error.text("message", "メッセージ"))
        if not isinstance(payload, list):
            raise OrcaProtocolError("ORCAのPUSH通知一括取得の応答が配列ではありません（pusheventgetv2）")
        return [read_push_event(item) for item in payload]

    # --- system settings and medical data --------------------------------------------------------------

    def list_departments(self) -> list[dict[str, str]]:
        """List ORCA's 診療科 as {"code", "name"} (system01lstv2 Request_Number 01)."""
        return read_code_list(self._system("01", ("departmentres",)), "Department_Information", "診療科")

    def list_physicians(self) -> list[dict[str, str]]:
        """List ORCA's doctors as {"code", "name"} (system01lstv2 Request_Number 02)."""
        return read_code_list(self._system("02", ("physicianres",)), "Physician_Information", "ドクター")

    def get_institution(self) -> OrcaInstitution:
        """Read the clinic's own settings (system01lstv2 Request_Number 04): which clinic this ORCA serves."""
        info = Reader(self._system("04", ("system1001res",)), "医療機関情報").required_sub(
            "Medical_Information", "医療機関情報")
        code = (info.text("Prefectures_Number", "都道府県番号", required=True)
                + info.text("Point_list", "点数表", required=True)
                + info.text("Institution_Code", "医療機関コード", required=True))
        address = info.sub("Address_Information", "所在地")
        return OrcaInstitution(code, info.text("Institution_WholeName", "医療機関名称", required=True),
                               address.text("Address_ZipCode", "郵便番号") if address else "",
                               address.text("WholeAddress", "所在地") if address else "",
                               address.text("PhoneNumber", "電話番号") if address else "")

    def send_medical_data(self, payload: dict[str, Any], *, request_class: str = "01") -> OrcaMedicalResult:
        """Send 中途データ (medicalmodv2 class 01 登録 / 02 削除 / 03 変更 / 04 外来追加) for the clerk."""
        record = self._ask("POST", "api21/medicalmodv2", {"class": request_class}, "medicalreq", payload,
                           ("medicalres",))
        r = Reader(record, "中途データ登録の結果")
        messages = r.sub("Medical_Message_Information", "メッセージ")
        warnings = tuple(
            " ".join(x for x in (w.text("Medical_Warning", "警告コード"), w.text("Medical_Warning_Message", "警告"),
                                 w.text("Medical_Warning_Code", "コード")) if x)
            for w in (messages.records("Medical_Warning_Info", "警告") if messages else []))
        return OrcaMedicalResult(
            medical_uid=r.text("Medical_Uid", "Medical_Uid", required=request_class != "02"),
            perform_date=r.day("Perform_Date", "診療日"), result_code=str(record["Api_Result"]),
            message=r.text("Api_Result_Message", "メッセージ"), warnings=warnings,
            notice=messages.text("Medical_Result_Message", "結果") if messages else "")

    def simulate_bill(self, patient_id: str, day: date, department_code: str, combination: str,
                      medical_information: list[dict[str, Any]]) -> OrcaBillSimulation:
        """ORCA's 請求金額シミュレーション of some lines (acsimulatev2 class 01): points and the patient's share."""
        body = {"Patient_ID": str(patient_id).strip(), "Perform_Date": day.isoformat(),
                "Diagnosis_Information": {"Department_Code": department_code, "Combination_Number": combination,
                                          "Medical_Information": medical_information}}
        record = self._ask("POST", "api01rv2/acsimulatev2", {"class": "01"}, "acsimulatereq", body,
                           ("acsimulateres",))
        r = Reader(record, "請求金額シミュレーションの結果")
        money = r.sub("Cd_Information", "金額")
        points = r.sub("Ac_Point_Information", "点数")

        def number(reader: Any, key: str, label: str) -> int:
            text = reader.text(key, label) if reader else ""
            try:
                return int(text or "0")
            except ValueError as exc:
                raise OrcaProtocolError(f"ORCAの{label}「{text}」が数ではありません") from exc

        return OrcaBillSimulation(
            total_points=number(points, "Ac_Ttl_Point", "合計点数"),
            patient_money=number(money, "Ac_Money", "請求金額"),
            insured_money=number(money, "Ai_Money", "保険適用金額"), own_money=number(money, "Oe_Money", "自費金額"),
            public_money=number(money, "Pi_Smoney", "公費一部負担金"),
            drug_share_money=number(money, "Dg_Smoney", "薬剤一部負担金"),
            elderly_share_money=number(money, "Om_Smoney", "老人一部負担金"),
            details=tuple((d.text("AC_Point_Name", "区分"), number(d, "AC_Point", "点数"))
                          for d in (points.records("Ac_Point_Detail", "点数の内訳") if points else [])))

    def first_calculation_date(self, patient_id: str) -> date | None:
        """ORCA's own 初診算定日 of a patient (medicalmodv23 検索, Request_Number 00); None when it holds none."""
        record = self._ask("POST", "api21/medicalmodv23", {}, "medicalv2req3",
                           {"Request_Number": "00", "Patient_ID": str(patient_id).strip()}, ("medicalv2res3",))
        return Reader(record, "初診算定日").day("First_Calculation_Date", "初診算定日")

    def list_interim_uids(self, day: date, patient_id: str, department_code: str) -> set[str]:
        """The Medical_Uid of each 中途データ ORCA holds for a patient, day and 診療科 (tmedicalgetv2)."""
        body = {"Perform_Date": day.isoformat(), "InOut": "O", "Department_Code": department_code,
                "Patient_ID": str(patient_id).strip()}
        record = self._ask("POST", "api01rv2/tmedicalgetv2", {}, "tmedicalgetreq", body, ("tmedicalgetres",))
        return {item.text("Medical_Uid", "Medical_Uid") for item in
                Reader(record, "中途データ一覧").records("Tmedical_List_Information", "中途データ")} - {""}

    def check_contraindications(self, patient_id: str, drugs: list[tuple[str, str]], month: date,
                                check_term: str = "") -> OrcaContraindicationCheck:
        """Ask ORCA's 薬剤併用禁忌チェック (contraindicationcheckv2) about drugs (9-digit code, name) for a patient:
        among them and against ORCA's record of the patient's medication within the check term (months; ORCA's
        system setting when blank). At most 30 drugs a call, as the API takes."""
        if not drugs or len(drugs) > 30:
            raise ValueError("contraindicationcheckv2 takes 1 to 30 drugs")
        body = {"Request_Number": "01", "Patient_ID": str(patient_id).strip(), "Perform_Month": month.strftime("%Y-%m"),
                "Check_Term": check_term,
                "Medical_Information": [{"Medication_Code": code, "Medication_Name": name} for code, name in drugs]}
        record = self._ask("POST", "api01rv2/contraindicationcheckv2", {}, "contraindication_checkreq", body,
                           ("contraindication_checkres",))
        r = Reader(record, "併用禁忌チェックの結果")
        symptoms = {s.text("Symptom_Code", "症状コード", required=True): s
                    for s in r.records("Symptom_Information", "症状詳記")}
        found: list[OrcaInteraction] = []
        unchecked: list[tuple[str, str, str]] = []
        for drug in r.records("Medical_Information", "チェック薬剤"):
            code = drug.text("Medication_Code", "薬剤コード", required=True)
            name = drug.text("Medication_Name", "薬剤名称")
            result = drug.text("Medical_Result", "薬剤のエラーコード")
            if result and not _SUCCESS.match(result):
                unchecked.append((code, name, drug.text("Medical_Result_Message", "薬剤のエラー") or result))
                continue
            for info in drug.records("Medical_Info", "併用禁忌情報"):
                interact = info.text("Interact_Code", "相互作用コード", required=True)
                symptom = symptoms.get(interact)
                found.append(OrcaInteraction(
                    code, name, info.text("Contra_Code", "併用禁忌の薬剤コード", required=True),
                    info.text("Contra_Name", "併用禁忌の薬剤名称"), interact,
                    symptom.text("Symptom_Content", "症状", multiline=True) if symptom else "",
                    symptom.text("Symptom_Detail", "症状詳細", multiline=True) if symptom else "",
                    info.text("Context_Class", "区分")))
        return OrcaContraindicationCheck(r.text("Perform_Month", "診療年月"), tuple(found), tuple(unchecked))

    def _system(self, number: str, roots: tuple[str, ...]) -> dict[str, Any]:
        body = {"Request_Number": number, "Base_Date": datetime.now(JST).date().isoformat()}
        return self._ask("POST", "api01rv2/system01lstv2", {"class": number}, "system01_managereq", body,
                         (*roots, "system01_manageres"))

    # --- transport -------------------------------------------------------------------------------------

    def _ask(self, method: str, path: str, params: dict[str, str], request_root: str | None,
             body: dict[str, Any] | None, roots: tuple[str, ...]) -> dict[str, Any]:
        """One API call: the reply record, its Api_Result checked (errors raise OrcaApiError)."""
        api = path.rsplit("/", 1)[-1]
        data, content_type = None, None
        if request_root is not None:
            if self.mode == "json":
                data = json.dumps({request_root: body or {}}, ensure_ascii=False).encode("utf-8")
                content_type = "application/json"
            else:
                data, content_type = build_xml2(request_root, body or {}), "application/xml"
        payload = self._send(method, path, {**params, "format": "json"} if self.mode == "json" else params, data,
                             content_type)
        if isinstance(payload, tuple):
            name, record = payload
        elif isinstance(payload, dict) and len(payload) == 1:
            name, record = next(iter(payload.items()))
        else:
            raise OrcaProtocolError(f"ORCAの応答の形が正しくありません（{api}: 応答レコードが1つではありません）")
        if name not in roots:
            raise OrcaProtocolError(f"ORCAの応答レコード名が想定と違います（{api}: {name}、想定は {'・'.join(roots)}）")
        result = Reader(record, f"{api} の応答").text("Api_Result", "処理結果", required=True)
        if not _SUCCESS.match(result) and result not in EMPTY_RESULTS.get(api, set()):
            raise _api_error(api, result, Reader(record, f"{api} の応答").text("Api_Result_Message", "メッセージ"))
        return record

    def _send(self, method: str, path: str, params: dict[str, str], data: bytes | None,
              content_type: str | None) -> Any:
        headers = {"Accept": "application/json, application/xml"}
        if content_type:
            headers["Content-Type"] = f"{content_type}; charset=UTF-8"
        api = path.rsplit("/", 1)[-1]
        try:
            response = self.http.request(method, f"{self.base_url}/{path}", params=params, data=data,
                                         headers=headers, timeout=self.timeout)
        except requests.Timeout as exc:
            raise OrcaUnavailable(f"ORCAの応答がありません（タイムアウト {self.timeout:g}秒、{api}）",
                                  code="timeout") from exc
        except requests.exceptions.SSLError as exc:
            raise OrcaUnavailable("ORCAとのTLS接続に失敗しました。クライアント証明書とCAの設定を確認してください",
                                  code="tls", retryable=False) from exc
        except requests.RequestException as exc:
            raise OrcaUnavailable("ORCAに接続できません。ネットワークとORCAの稼働を確認してください",
                                  code="connection") from exc
        status = response.status_code
        if status in (401, 403):
            raise OrcaAuthError(f"ORCAの認証に失敗しました（HTTP {status}）。接続設定のユーザーとパスワード"
                                "（APIキー）、証明書を確認してください", code=f"HTTP {status}")
        if status >= 500:
            raise OrcaUnavailable(f"ORCAでエラーが発生しました（HTTP {status}、{api}）", code=f"HTTP {status}")
        if status in (404, 405):
            raise OrcaUnavailable(f"ORCAにAPIが見つかりません（HTTP {status}、{api}）。"
                                  "接続先URL（WebORCAでは末尾が /api）を確認してください",
                                  code=f"HTTP {status}", retryable=False)
        if status != 200:
            raise OrcaProtocolError(f"ORCAが想定外のHTTPステータスを返しました（HTTP {status}、{api}）",
                                    code=f"HTTP {status}")
        return _decode(response.content, api)


def _api_error(api: str, code: str, orca_message: str) -> OrcaApiError:
    return OrcaApiError(f"ORCAがエラーを返しました: {orca_message or '（メッセージなし）'}（{api} コード {code}）",
                        code=code, orca_message=orca_message, api=api)


def _decode(raw: bytes, api: str) -> Any:
    """A reply's body: xml2 as (record name, record), JSON as parsed; ORCA writes UTF-8."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OrcaProtocolError(f"ORCAの応答がUTF-8の文字列ではありません（{api}、{exc.start}バイト目）") from exc
    if text.lstrip().startswith("<"):
        return parse_xml2(raw)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise OrcaProtocolError(f"ORCAの応答を読み取れません（{api}: JSONでもXMLでもありません）") from exc


def client_from_settings(settings: dict[str, Any] | None, timeout: float = 5.0) -> OrcaClient | None:
    """The client a clinic's ORCA settings describe (base_url, user, password, verify, cert), None without a URL."""
    settings = settings or {}
    if not settings.get("base_url"):
        return None
    cert = settings.get("cert")
    return OrcaClient(settings["base_url"], settings.get("user", ""), settings.get("password", ""),
                      verify=settings.get("verify", True), cert=tuple(cert) if isinstance(cert, list) else cert,
                      timeout=timeout)
