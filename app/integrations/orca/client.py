"""A client of the WebORCA / 日レセ HTTP API (JSON mode, with xml2 replies understood too). Never CLAIM."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

import requests

from app.core.timeutil import JST
from app.integrations.orca.errors import (
    OrcaApiError,
    OrcaAuthError,
    OrcaError,
    OrcaProtocolError,
    OrcaUnavailable,
)
from app.integrations.orca.models import (
    OrcaPatient,
    OrcaPushEvent,
    OrcaReception,
    _records,
    parse_patient,
    parse_reception,
)
from app.integrations.orca.xml2 import parse_xml2

#: Api_Result values that mean success (the width varies by API: "00", "000", "0000"; W… and K… are warnings).
_SUCCESS = re.compile(r"^(W?0+|K\d|W\d+)$")
#: "Nothing found" results that are an empty answer, not a failure.
EMPTY_RESULTS = {"acceptlstv2": {"21"}, "patientlst3v2": {"20"}, "patientlst1v2": {"20"}, "pusheventgetv2": {"0007"}}


class OrcaClient:
    """One clinic's ORCA: base URL (on WebORCA ending in /api), Basic auth, optional TLS client certificate."""

    def __init__(self, base_url: str, user: str, password: str, *, verify: bool | str = True,
                 cert: str | tuple[str, str] | None = None, timeout: float = 5.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = session or requests.Session()
        self.http.auth = (user, password)
        self.http.verify = verify
        self.http.cert = cert
        self.timeout = timeout

    # --- transport ---------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, params: dict[str, str] | None = None,
              body: dict[str, Any] | None = None, api: str) -> Any:
        params = {**(params or {}), "format": "json"}
        try:
            response = self.http.request(method, self.base_url + path, params=params, timeout=self.timeout,
                                         data=json.dumps(body, ensure_ascii=False).encode() if body else None,
                                         headers={"Content-Type": "application/json; charset=utf-8",
                                                  "Accept": "application/json"})
        except requests.Timeout as exc:
            raise OrcaUnavailable("ORCAの応答がありません（タイムアウト）") from exc
        except requests.RequestException as exc:
            raise OrcaUnavailable("ORCAに接続できません。ネットワークとORCAの稼働を確認してください") from exc
        if response.status_code == 401:
            raise OrcaAuthError("ORCAの認証に失敗しました。接続設定のユーザーとパスワード（APIキー）を確認してください")
        if response.status_code >= 500:
            raise OrcaUnavailable(f"ORCAでエラーが発生しました（HTTP {response.status_code}）")
        if response.status_code != 200:
            raise OrcaProtocolError(f"ORCAが想定外の応答を返しました（HTTP {response.status_code}、{api}）")
        return _decode(response)

    def _record(self, payload: Any, api: str, response_name: str) -> dict[str, Any]:
        """The response record of a JSON or xml2 reply, with Api_Result checked."""
        if isinstance(payload, tuple):  # xml2: (record name, record)
            _name, record = payload
        elif isinstance(payload, dict) and len(payload) == 1:
            record = next(iter(payload.values()))
        else:
            raise OrcaProtocolError(f"ORCAの応答の形が正しくありません（{api}）")
        if not isinstance(record, dict):
            raise OrcaProtocolError(f"ORCAの応答の形が正しくありません（{api}）")
        result = str(record.get("Api_Result", "")).strip()
        if not result:
            raise OrcaProtocolError(f"ORCAの応答に処理結果（Api_Result）がありません（{api}）")
        if not _SUCCESS.match(result) and result not in EMPTY_RESULTS.get(api, set()):
            message = str(record.get("Api_Result_Message", "")).strip() or "エラー"
            raise OrcaApiError(f"ORCAがエラーを返しました: {message}（コード {result}）", code=result, api=api)
        return record

    # --- patients ------------------------------------------------------------------------------------

    def get_patient(self, patient_id: str) -> OrcaPatient:
        """患者基本情報 (patientgetv2)."""
        payload = self._call("GET", "/api01rv2/patientgetv2", params={"id": patient_id}, api="patientgetv2")
        record = self._record(payload, "patientgetv2", "patientinfores")
        return parse_patient(record.get("Patient_Information"))  # type: ignore[arg-type]

    def get_patients(self, patient_ids: list[str]) -> list[OrcaPatient]:
        """複数患者情報 (patientlst2v2); unknown numbers are skipped as ORCA marks them."""
        body = {"patientlst2req": {"Patient_ID_Information": [{"Patient_ID": pid} for pid in patient_ids[:100]]}}
        record = self._record(self._call("POST", "/api01rv2/patientlst2v2", params={"class": "01"}, body=body,
                                         api="patientlst2v2"), "patientlst2v2", "patientlst2res")
        return [parse_patient(r) for r in _records(record.get("Patient_Information"))
                if r.get("WholeName") != "【患者番号がありません】"]

    def search_patients_by_name(self, name: str) -> list[OrcaPatient]:
        """患者氏名検索 (patientlst3v2)."""
        body = {"patientlst3req": {"WholeName": name}}
        record = self._record(self._call("POST", "/api01rv2/patientlst3v2", params={"class": "01"}, body=body,
                                         api="patientlst3v2"), "patientlst3v2", "patientlst2res")
        return [parse_patient(r) for r in _records(record.get("Patient_Information"))]

    def list_patients_changed(self, since: date, until: date | None = None) -> list[str]:
        """Numbers of patients created or updated in a period (patientlst1v2 class=01)."""
        req = {"Base_StartDate": since.isoformat(), "Contain_TestPatient_Flag": "1"}
        if until:
            req["Base_EndDate"] = until.isoformat()
        record = self._record(self._call("POST", "/api01rv2/patientlst1v2", params={"class": "01"},
                                         body={"patientlst1req": req}, api="patientlst1v2"),
                              "patientlst1v2", "patientlst1res")
        return [str(r.get("Patient_ID", "")).strip() for r in _records(record.get("Patient_Information"))
                if str(r.get("Patient_ID", "")).strip()]

    # --- reception -----------------------------------------------------------------------------------

    def list_receptions(self, day: date) -> list[OrcaReception]:
        """受付一覧 of a day, every reception (acceptlstv2 class=03); an empty day is an empty list."""
        body = {"acceptlstreq": {"Acceptance_Date": day.isoformat()}}
        record = self._record(self._call("POST", "/api01rv2/acceptlstv2", params={"class": "03"}, body=body,
                                         api="acceptlstv2"), "acceptlstv2", "acceptlstres")
        if str(record.get("Api_Result")) == "21":
            return []
        return [parse_reception(r, day) for r in _records(record.get("Acceptlst_Information"))]

    def register_reception(self, patient_id: str, department_code: str, physician_code: str,
                           at: datetime | None = None, insurance_combination: str | None = None,
                           medical_information: str = "01") -> OrcaReception:
        """受付登録 (acceptmodv2 Request_Number=01); returns the reception with ORCA's Acceptance_Id."""
        at = (at or datetime.now(JST)).astimezone(JST)
        req: dict[str, Any] = {"Request_Number": "01", "Patient_ID": patient_id,
                               "Acceptance_Date": at.date().isoformat(), "Acceptance_Time": at.strftime("%H:%M:%S"),
                               "Department_Code": department_code, "Physician_Code": physician_code,
                               "Medical_Information": medical_information}
        if insurance_combination:
            req["HealthInsurance_Information"] = {"Insurance_Combination_Number": insurance_combination}
        record = self._record(self._call("POST", "/orca11/acceptmodv2", params={"class": "01"},
                                         body={"acceptreq": req}, api="acceptmodv2"), "acceptmodv2", "acceptres")
        day = date.fromisoformat(str(record.get("Acceptance_Date") or at.date().isoformat()))
        return parse_reception(record, day)

    def cancel_reception(self, patient_id: str, acceptance_id: str, day: date) -> None:
        """受付取消 (acceptmodv2 Request_Number=02)."""
        req = {"Request_Number": "02", "Patient_ID": patient_id, "Acceptance_Id": acceptance_id,
               "Acceptance_Date": day.isoformat()}
        self._record(self._call("POST", "/orca11/acceptmodv2", params={"class": "02"}, body={"acceptreq": req},
                                api="acceptmodv2"), "acceptmodv2", "acceptres")

    def fetch_push_events(self, event: str = "patient_accept", start: datetime | None = None,
                          end: datetime | None = None) -> list[OrcaPushEvent]:
        """PUSH notifications already sent (pusheventgetv2), for catching up after a disconnection."""
        req: dict[str, str] = {"event": event}
        if start:
            req["start_time"] = start.astimezone(JST).strftime("%Y-%m-%d %H:%M")
        if end:
            req["end_time"] = end.astimezone(JST).strftime("%Y-%m-%d %H:%M")
        payload = self._call("POST", "/api01rv2/pusheventgetv2", body={"pusheventgetv2req": req},
                             api="pusheventgetv2")
        if isinstance(payload, dict) and "error" in payload:
            error = payload["error"] or {}
            code = str(error.get("code", ""))
            if code == "0007":
                return []
            raise OrcaApiError(f"ORCAがエラーを返しました: {error.get('message', '')}（コード {code}）", code=code,
                               api="pusheventgetv2")
        if not isinstance(payload, list):
            raise OrcaProtocolError("ORCAのPUSH通知一覧の形が正しくありません")
        events = []
        for item in payload:
            data = item.get("data") if isinstance(item, dict) else None
            if not isinstance(data, dict) or "event" not in data:
                raise OrcaProtocolError("ORCAのPUSH通知に event がありません")
            events.append(OrcaPushEvent(int(data.get("id", 0)), str(data.get("uuid", "")), str(data["event"]),
                                        str(data.get("time", "")), dict(data.get("body") or {})))
        return events

    # --- system and medical data ------------------------------------------------------------------------

    def list_departments(self) -> list[dict[str, str]]:
        """診療科 (system01lstv2 Request_Number=01)."""
        return self._system_list("01", "Department_Information", "Code", "WholeName")

    def list_physicians(self) -> list[dict[str, str]]:
        """ドクター (system01lstv2 Request_Number=02)."""
        return self._system_list("02", "Physician_Information", "Code", "WholeName")

    def _system_list(self, number: str, key: str, code_key: str, name_key: str) -> list[dict[str, str]]:
        body = {"system01_managereq": {"Request_Number": number, "Base_Date": datetime.now(JST).date().isoformat()}}
        record = self._record(self._call("POST", "/api01rv2/system01lstv2", params={"class": number}, body=body,
                                         api="system01lstv2"), "system01lstv2", "system01_manageres")
        return [{"code": str(r.get(code_key, "")).strip(), "name": str(r.get(name_key, "")).strip()}
                for r in _records(record.get(key))]

    def send_medical_data(self, medical_request: dict[str, Any]) -> dict[str, Any]:
        """中途データ登録 (medicalmodv2 class=01): the day's orders for the clerk to finish in ORCA."""
        return self._record(self._call("POST", "/api21/medicalmodv2", params={"class": "01"},
                                       body={"medicalreq": medical_request}, api="medicalmodv2"),
                            "medicalmodv2", "medicalres")


def _decode(response: requests.Response) -> Any:
    """JSON, or xml2 when ORCA answered in XML; anything else is a protocol error."""
    content_type = response.headers.get("Content-Type", "")
    raw = response.content
    if "xml" in content_type or raw.lstrip().startswith(b"<"):
        return parse_xml2(raw)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise OrcaProtocolError("ORCAの応答を読み取れません（JSONとして解釈できません）") from exc


__all__ = ["OrcaClient", "OrcaError"]
