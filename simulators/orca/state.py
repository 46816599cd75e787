"""One simulated ORCA's data and its API handlers, answering as the published API does."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from flask import Response, request

from simulators.orca.data import JST, ClinicConfig, Reception, make_patients, make_receptions, push_event
from simulators.orca.responses import header, reply, request_record

NOT_FOUND_NAME = "【患者番号がありません】"


class ClinicState:
    """Patients, receptions by day, PUSH events and medical data of one clinic's ORCA."""

    def __init__(self, config: ClinicConfig, today: date | None = None) -> None:
        self.config = config
        self.fixed_today = today
        self.patients = make_patients(config, self.today())
        self.receptions: dict[date, list[Reception]] = {}
        self.events: list[dict[str, Any]] = []
        self.medical: list[dict[str, Any]] = []

    def today(self) -> date:
        """The clinic's day in Japan."""
        return self.fixed_today or datetime.now(JST).date()

    def day(self, day: date) -> list[Reception]:
        """A day's receptions (made on first look, then kept)."""
        if day not in self.receptions:
            self.receptions[day] = make_receptions(self.config, self.patients, day, self.today())
            if day == self.today():
                for r in self.receptions[day]:
                    self._event("patient_accept", self._accept_body("add", r))
        return self.receptions[day]

    def handler(self, path: str, method: str) -> Callable[[], Response] | None:
        """The handler of an API path (the only GET API is patientgetv2)."""
        routes = {
            ("api01rv2/patientgetv2", "GET"): self.patientget, ("api01rv2/patientlst1v2", "POST"): self.patientlst1,
            ("api01rv2/patientlst2v2", "POST"): self.patientlst2, ("api01rv2/patientlst3v2", "POST"): self.patientlst3,
            ("api01rv2/acceptlstv2", "POST"): self.acceptlst, ("orca11/acceptmodv2", "POST"): self.acceptmod,
            ("api01rv2/pusheventgetv2", "POST"): self.pusheventget,
            ("api01rv2/system01lstv2", "POST"): self.system01lst,
            ("api21/medicalmodv2", "POST"): self.medicalmod,
        }
        return routes.get((path, method))

    # --- helpers -------------------------------------------------------------------------------------

    def _event(self, event: str, body: dict[str, Any]) -> None:
        self.events.append(push_event(event, body, len(self.events) % 65535 + 1, self.config.user))

    def _accept_body(self, mode: str, r: Reception) -> dict[str, Any]:
        return {"Patient_Mode": mode, "Patient_ID": r.patient_id, "Accept_Date": r.day.isoformat(),
                "Accept_Time": r.at.strftime("%H:%M:%S"), "Accept_Id": r.acceptance_id,
                "Department_Code": r.department_code, "Physician_Code": r.physician_code,
                "Insurance_Combination_Number": "0001"}

    def find_patient(self, raw_id: str) -> dict[str, Any] | None:
        """A patient by number, padded or not ("12" finds "00012")."""
        raw_id = (raw_id or "").strip()
        return self.patients.get(raw_id.zfill(5)) if raw_id.isdigit() else None

    def update_patient(self, patient_id: str, changes: dict[str, Any]) -> None:
        """Change a patient and announce it (patient_information)."""
        self.patients[patient_id].update(changes)
        self.patients[patient_id]["UpdateDate"] = self.today().isoformat()
        now = datetime.now(JST)
        self._event("patient_information", {"Patient_Mode": "modify", "Patient_ID": patient_id,
                                            "Information_Date": now.date().isoformat(),
                                            "Information_Time": now.strftime("%H:%M:%S")})

    @staticmethod
    def _brief(patient: dict[str, Any]) -> dict[str, Any]:
        return {k: patient[k] for k in ("Patient_ID", "WholeName", "WholeName_inKana", "BirthDate", "Sex")}

    def _listed(self, patient: dict[str, Any]) -> dict[str, Any]:
        """A patient as the list APIs show it: insurances and 公費 listed separately, not as combinations."""
        listed = self._brief(patient)
        listed["Home_Address_Information"] = patient["Home_Address_Information"]
        listed["Outpatient_Class"] = "2"
        insurances = copy.deepcopy(patient["HealthInsurance_Information"])
        publics = [p for i in insurances for p in i.pop("PublicInsurance_Information", [])]
        listed["HealthInsurance_Information"] = insurances
        listed["PublicInsurance_Information"] = publics
        return listed

    @staticmethod
    def _date(value: str) -> date | None:
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            return None

    # --- APIs ----------------------------------------------------------------------------------------

    def patientget(self) -> Response:
        """2a 患者基本情報取得."""
        raw = request.args.get("id", "")
        if not raw:
            return reply("patientinfores", header("01", "患者番号の設定がありません"))
        patient = self.find_patient(raw)
        if patient is None:
            return reply("patientinfores", header("10", "患者番号に該当する患者が存在しません"))
        record = header("00", "処理終了")
        record["Patient_Information"] = {k: v for k, v in patient.items() if k not in ("CreateDate", "UpdateDate")}
        return reply("patientinfores", record, pad={})

    def patientlst1(self) -> Response:
        """2d 患者番号一覧 (created/updated in a period)."""
        req = request_record("patientlst1req")
        start = self._date(req.get("Base_StartDate") or self.today().isoformat())
        end = self._date(req.get("Base_EndDate") or "9999-12-31")
        if start is None or end is None or start > end:
            return reply("patientlst1res", header("01", "開始日付＞終了日付です"))
        hits = [p for p in self.patients.values()
                if start <= date.fromisoformat(max(p["UpdateDate"], p["CreateDate"])) <= end]
        if not hits:
            return reply("patientlst1res", header("20", "該当患者がありません"))
        if len(hits) >= 1000:
            return reply("patientlst1res", header("10", "該当患者が１０００件以上となります"))
        record = header("00", "処理終了")
        record["Target_Patient_Count"] = f"{len(hits):04d}"
        record["Patient_Information"] = [{**self._brief(p), "CreateDate": p["CreateDate"],
                                          "UpdateDate": p["UpdateDate"], "TestPatient_Flag": "0"} for p in hits]
        return reply("patientlst1res", record, pad={"Patient_Information": 1000})

    def patientlst2(self) -> Response:
        """2e 複数患者情報: one entry per requested number; unknown ones marked, not an error."""
        req = request_record("patientlst2req")
        ids = [str(i.get("Patient_ID", "")) for i in (req.get("Patient_ID_Information") or []) if isinstance(i, dict)]
        if not ids:
            return reply("patientlst2res", header("97", "送信内容に誤りがあります"))
        entries, missing = [], 0
        for raw in ids[:100]:
            patient = self.find_patient(raw)
            if patient is None:
                missing += 1
                entries.append({"Patient_ID": raw, "WholeName": NOT_FOUND_NAME})
            else:
                entries.append(self._listed(patient))
        record = header("00", "処理終了")
        record.update({"Target_Patient_Count": f"{len(entries) - missing:03d}",
                       "No_Target_Patient_Count": f"{missing:03d}", "Patient_Information": entries})
        return reply("patientlst2res", record)

    def patientlst3(self) -> Response:
        """2c 患者氏名検索 (kanji or kana, spaces ignored)."""
        req = request_record("patientlst3req")
        name = (req.get("WholeName") or "").replace("　", "").replace(" ", "")
        if not name:
            return reply("patientlst2res", header("17", "検索氏名を設定して下さい"))
        hits = [p for p in self.patients.values()
                if name in p["WholeName"].replace("　", "") or name in p["WholeName_inKana"].replace("　", "")]
        if not hits:
            return reply("patientlst2res", header("20", "該当患者が存在しません"))
        if len(hits) >= 100:
            return reply("patientlst2res", header("21", "該当患者が１００件以上となります"))
        record = header("00", "処理終了")
        record.update({"Target_Patient_Count": f"{len(hits):03d}", "No_Target_Patient_Count": "000",
                       "Patient_Information": [self._listed(p) for p in hits]})
        return reply("patientlst2res", record)

    def _reception_record(self, r: Reception) -> dict[str, Any]:
        patient = self.patients[r.patient_id]
        name, kana, _dept = self.config.physicians.get(r.physician_code, ("", "", ""))
        insurance = {k: v for k, v in patient["HealthInsurance_Information"][0].items()}
        record = {"Acceptance_Time": r.at.strftime("%H:%M:%S"), "Acceptance_Id": r.acceptance_id,
                  "Department_Code": r.department_code,
                  "Department_WholeName": self.config.departments.get(r.department_code, ""),
                  "Physician_Code": r.physician_code, "Physician_WholeName": name, "Medical_Information": "01",
                  "Claim_Infometion": "0", "Patient_Information": self._brief(patient),
                  "HealthInsurance_Information": insurance}
        if r.account_time:
            record["Account_Time"] = r.account_time
        return record

    def acceptlst(self) -> Response:
        """3b 受付一覧 (class 01 not yet paid, 02 paid, 03 all); an empty day is code 21."""
        req = request_record("acceptlstreq")
        day = self._date(req.get("Acceptance_Date") or self.today().isoformat())
        if day is None:
            return reply("acceptlstres", header("11", "受付日が暦日ではありません"))
        dept, doctor = req.get("Department_Code") or "", req.get("Physician_Code") or ""
        if dept and dept not in self.config.departments:
            return reply("acceptlstres", header("12", "診療科が存在しません"))
        if doctor and doctor not in self.config.physicians:
            return reply("acceptlstres", header("13", "ドクターが存在しません"))
        kind = request.args.get("class", "01")
        rows = [r for r in self.day(day) if (not dept or r.department_code == dept)
                and (not doctor or r.physician_code == doctor)
                and (kind == "03" or (kind == "02") == bool(r.account_time))]
        record = header("00" if rows else "21", "処理終了" if rows else "対象の受付はありませんでした")
        record["Acceptance_Date"] = day.isoformat()
        if rows:
            record["Acceptlst_Information"] = [self._reception_record(r) for r in rows]
        return reply("acceptlstres", record)

    def acceptmod(self) -> Response:
        """3a 受付登録 (01) / 受付取消 (02), with the spec's checks in the spec's order."""
        req = request_record("acceptreq")
        if req.get("__unreadable__"):
            return reply("acceptres", header("98", "送信内容の読込ができませんでした"))
        number = req.get("Request_Number") or request.args.get("class", "")
        if number not in ("01", "02"):
            return reply("acceptres", header("91", "処理区分未設定"))
        if not req.get("Patient_ID"):
            return reply("acceptres", header("01", "患者番号が未設定です"))
        patient = self.find_patient(req["Patient_ID"])
        if patient is None:
            return reply("acceptres", header("10", "患者番号に該当する患者が存在しません"))
        warnings = []
        day = self._date(req.get("Acceptance_Date", "")) if req.get("Acceptance_Date") else None
        if req.get("Acceptance_Date") and day is None:
            return reply("acceptres", header("11", "受付日が暦日ではありません"))
        if day is None:
            day, warnings = self.today(), warnings + ["受付日を自動設定しました"]
        if number == "02":
            return self._cancel(req, patient, day, warnings)
        if not req.get("Department_Code"):
            return reply("acceptres", header("02", "診療科が未設定です"))
        if not req.get("Physician_Code"):
            return reply("acceptres", header("03", "ドクターが未設定です"))
        try:
            at = time.fromisoformat(req["Acceptance_Time"]) if req.get("Acceptance_Time") else None
        except ValueError:
            return reply("acceptres", header("12", "受付時間設定誤り"))
        if at is None:
            at, warnings = datetime.now(JST).time().replace(microsecond=0), warnings + ["受付時間を自動設定しました"]
        if req["Department_Code"] not in self.config.departments:
            return reply("acceptres", header("13", "診療科が存在しません"))
        if req["Physician_Code"] not in self.config.physicians:
            return reply("acceptres", header("14", "ドクターが存在しません"))
        rows = self.day(day)
        if any(r.patient_id == patient["Patient_ID"] and r.department_code == req["Department_Code"]
               and not r.account_time for r in rows):
            return reply("acceptres", header("16", "診療科・保険組合せで受付登録済みです。二重登録疑い"))
        reception = Reception(f"{len(rows) + 1:05d}", patient["Patient_ID"], day, at, req["Department_Code"],
                              req["Physician_Code"])
        rows.append(reception)
        self._event("patient_accept", self._accept_body("add", reception))
        result = header("K1" if warnings else "00", "受付登録終了", "Acceptance_Info")
        if warnings:
            result["Api_Warning_Message_Information"] = [{"Api_Warning_Message": w} for w in warnings]
        result.update(self._reception_record(reception))
        result["Acceptance_Date"] = day.isoformat()
        result["Patient_Information"]["HealthInsurance_Information"] = patient["HealthInsurance_Information"]
        result.pop("HealthInsurance_Information", None)
        return reply("acceptres", result)

    def _cancel(self, req: dict[str, Any], patient: dict[str, Any], day: date, warnings: list[str]) -> Response:
        acceptance_id = req.get("Acceptance_Id") or ""
        if not acceptance_id:
            return reply("acceptres", header("19", "受付ID設定誤り"))
        rows = self.day(day)
        target = next((r for r in rows if r.acceptance_id == acceptance_id), None)
        if target is None:
            return reply("acceptres", header("17", "削除対象の受付レコードが存在しません"))
        if target.patient_id != patient["Patient_ID"]:
            return reply("acceptres", header("20", "受付IDの受付患者番号と患者番号が一致しません"))
        rows.remove(target)
        self._event("patient_accept", self._accept_body("delete", target))
        result = header("K1" if warnings else "00", "受付削除終了", "Acceptance_Info")
        result.update({"Acceptance_Date": day.isoformat(), "Acceptance_Id": acceptance_id,
                       "Patient_Information": self._brief(patient)})
        return reply("acceptres", result)

    def pusheventget(self) -> Response:
        """6a PUSH通知一括取得 (JSON only): an array of {"data": …}, or {"error": …}."""
        req = request_record("pusheventgetv2req")
        event = req.get("event") or ""
        if event and not event.isascii():
            return Response('{"error": {"code": "0001", "message": "イベント名に半角以外の文字が入力されています。"}}',
                            mimetype="application/json")
        self.day(self.today())
        start = req.get("start_time") or ""
        end = req.get("end_time") or ""
        hits = [e for e in self.events if (not event or e["data"]["event"] == event)
                and (not start or e["data"]["time"][:16].replace("T", " ") >= start)
                and (not end or e["data"]["time"][:16].replace("T", " ") <= end)]
        if not hits:
            return Response('{"error": {"code": "0007", "message": "対象となるＰＵＳＨ通知が存在しませんでした。"}}',
                            mimetype="application/json")
        import json

        return Response(json.dumps(hits, ensure_ascii=False), mimetype="application/json")

    def system01lst(self) -> Response:
        """5a システム管理情報: 01 診療科, 02 ドクター."""
        req = request_record("system01_managereq")
        number = req.get("Request_Number") or request.args.get("class", "")
        if number == "01":
            record = header("00", "処理終了")
            record["Department_Information"] = [{"Code": c, "WholeName": n, "Name1": n, "Receipt_Code": c}
                                                for c, n in self.config.departments.items()]
            return reply("departmentres", record, pad={"Department_Information": 100})
        if number == "02":
            record = header("00", "処理終了")
            record["Physician_Information"] = [{"Code": c, "WholeName": n, "WholeName_inKana": k,
                                                 "Department_Code1": d}
                                                for c, (n, k, d) in self.config.physicians.items()]
            return reply("physicianres", record, pad={"Physician_Information": 100})
        return reply("system01_manageres", header("91", "リクエスト番号がありません"))

    def medicalmod(self) -> Response:
        """4a 中途データ登録 (class=01): checked and kept for the clerk; answers a Medical_Uid."""
        req = request_record("medicalreq")
        if not req.get("Patient_ID"):
            return reply("medicalres", header("01", "患者番号が未設定です"))
        patient = self.find_patient(req["Patient_ID"])
        if patient is None:
            return reply("medicalres", header("10", "患者番号に該当する患者が存在しません"))
        diagnosis = req.get("Diagnosis_Information") or {}
        if diagnosis.get("Department_Code") not in self.config.departments:
            return reply("medicalres", header("13", "診療科が存在しません"))
        if diagnosis.get("Physician_Code") not in self.config.physicians:
            return reply("medicalres", header("14", "ドクターが存在しません"))
        if req.get("Perform_Date") and self._date(req["Perform_Date"]) is None:
            return reply("medicalres", header("11", "診療日が暦日ではありません"))
        uid = str(uuid.uuid4())
        self.medical.append({"Medical_Uid": uid, **req})
        record = header("00", "登録処理終了", "Medical Info")
        record.update({"Perform_Date": req.get("Perform_Date") or self.today().isoformat(), "Medical_Uid": uid,
                       "Department_Code": diagnosis["Department_Code"],
                       "Physician_Code": diagnosis["Physician_Code"], "Patient_Information": self._brief(patient)})
        return reply("medicalres", record)
