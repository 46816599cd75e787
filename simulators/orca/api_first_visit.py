"""初診算定日: medicalmodv23 Request_Number 00 (検索, orca.md §4e) — the patient's own 初診算定日 as ORCA keeps it.
A patient with one answers `WK1` (初診料が算定済みです…) with First_Calculation_Date, LastVisit_Date and the
診療科; one without answers `000` with the patient alone. 01 登録 and 02 削除 are not simulated (Kamikarte only
reads the date): they answer 91 処理区分未設定."""

from __future__ import annotations

from simulators.orca.api_common import Call
from simulators.orca.codec import Reply
from simulators.orca.state import ClinicState

ROOT = "medicalv2res3"


def first_calculation(call: Call) -> Reply:
    """The 初診算定日 of one patient (検索機能)."""
    state = call.state
    if call.request_number() != "00":
        return call.reply(ROOT, "91", "処理区分未設定", "Medical Info")
    if not call.field("Patient_ID"):
        return call.reply(ROOT, "01", "患者番号の設定がありません", "Medical Info")
    patient = state.find_patient(call.field("Patient_ID"))
    if patient is None:
        return call.reply(ROOT, "10", "患者番号に該当する患者が存在しません", "Medical Info")
    day = state.first_calculation.get(patient["Patient_ID"])
    brief = ClinicState.brief(patient)
    if day is None:
        return call.reply(ROOT, "000", "検索処理終了", "Medical Info", Patient_Information=brief)
    department = next(iter(state.config.departments))
    return call.reply(ROOT, "WK1", "初診料が算定済みです。初診算定日の登録はできません。", "Medical Info",
                      Patient_Information=brief, First_Calculation_Date=day.isoformat(),
                      LastVisit_Date=patient.get("LastVisit_Date") or day.isoformat(), Department_Code=department,
                      Department_Name=state.config.departments[department])
