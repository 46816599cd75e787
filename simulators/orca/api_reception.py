"""受付 APIs: acceptlstv2 (§3b), acceptmodv2 (§3a) and pusheventgetv2 (§6a)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from simulators.orca.api_common import Call, combination_view
from simulators.orca.codec import Reply
from simulators.orca.data import JST
from simulators.orca.state import ClinicState, parse_day, parse_time
from simulators.orca.visits import MEDICAL_INFORMATION, Reception, usual_combination


def _row(state: ClinicState, r: Reception, with_account: bool) -> dict[str, Any]:
    patient = state.patients[r.patient_id]
    combo = state.combination(patient, r.combination)
    row = {"Acceptance_Time": r.at.strftime("%H:%M:%S"), "Acceptance_Id": r.acceptance_id,
           "Department_Code": r.department_code,
           "Department_WholeName": state.config.departments.get(r.department_code, ""),
           "Physician_Code": r.physician_code, "Physician_WholeName": state.config.physicians[r.physician_code].name,
           "Medical_Information": r.medical_information, "Claim_Infometion": "0",
           "Account_Time": r.account_time if with_account else "",
           "Appointment_Time": r.appointment_time, "Appointment_Id": r.appointment_id,
           "Patient_Information": ClinicState.brief(patient),
           "HealthInsurance_Information": combination_view(combo) if combo else {},
           "Display_Order": {"Display_Order_Number": "9999"}}
    return row


def acceptlst(call: Call) -> Reply:
    """受付一覧: class=01 受付中 (会計待ち), 02 会計済, 03 全受付; an empty day is code 21, not 00."""
    state, kind = call.state, call.query.get("class", "")
    if kind not in ("01", "02", "03"):
        return call.reply("acceptlstres", "91", "処理区分未設定")
    raw_day = call.field("Acceptance_Date")
    day = parse_day(raw_day) if raw_day else state.today()
    if day is None:
        return call.reply("acceptlstres", "11", "受付日が暦日ではありません", Acceptance_Date=raw_day)
    dept, doctor, info = call.field("Department_Code"), call.field("Physician_Code"), call.field("Medical_Information")
    if dept and dept not in state.config.departments:
        return call.reply("acceptlstres", "12", "診療科が存在しません", Acceptance_Date=day.isoformat())
    if doctor and doctor not in state.config.physicians:
        return call.reply("acceptlstres", "13", "ドクターが存在しません", Acceptance_Date=day.isoformat(),
                          Acceptlst_Information=[{"Physician_Code": doctor}])
    if info and info not in MEDICAL_INFORMATION:
        return call.reply("acceptlstres", "14", "診療内容情報がありません", Acceptance_Date=day.isoformat())
    rows = [r for r in state.day(day) if (not dept or r.department_code == dept)
            and (not doctor or r.physician_code == doctor) and (not info or r.medical_information == info)
            and (kind == "03" or (kind == "02") == bool(r.account_time))]
    offset = call.field("Sel_Offset")
    if kind == "03" and offset.isdigit():
        rows = rows[int(offset):]
    if not rows:
        return call.reply("acceptlstres", "21", "対象の受付はありませんでした", Acceptance_Date=day.isoformat())
    return call.reply("acceptlstres", "00", "処理終了", Acceptance_Date=day.isoformat(),
                      Acceptlst_Information=[_row(state, r, kind != "01") for r in rows])


def _insurance_choice(call: Call, patient: dict[str, Any]) -> tuple[str | None, str | None]:
    """The 保険組合せ of a registration, or an error code (21 / 23) — as 3a "Insurance matching" says."""
    wanted = call.record.get("HealthInsurance_Information")
    if not isinstance(wanted, dict) or not any(str(v).strip() for v in wanted.values() if isinstance(v, str)):
        previous = [r for rows in call.state.receptions.values() for r in rows if r.patient_id == patient["Patient_ID"]]
        return (max(previous, key=lambda r: (r.day, r.at)).combination if previous
                else usual_combination(patient)), None
    number = str(wanted.get("Insurance_Combination_Number", "")).strip()
    if number:
        return (number, None) if call.state.combination(patient, number) else (None, "23")
    provider = str(wanted.get("InsuranceProvider_Number", "")).strip()
    for combo in patient["HealthInsurance_Information"]:
        if provider and combo.get("InsuranceProvider_Number") == provider:
            return combo["Insurance_Combination_Number"], None
    return None, "21"


ACCEPT_ERRORS = {"21": "保険の一致する患者保険情報がありません", "23": "保険情報と一致する保険組合せがありません"}


def acceptmod(call: Call) -> Reply:
    """受付登録 (Request_Number 01) / 受付取消 (02), checked in the order the spec gives."""
    state = call.state
    number = call.request_number()
    echo = {k: call.field(k) for k in ("Acceptance_Date", "Acceptance_Time", "Acceptance_Id", "Department_Code",
                                       "Physician_Code")}
    echo["Patient_Information"] = {"Patient_ID": call.field("Patient_ID")}

    def fail(code: str, message: str) -> Reply:
        return call.reply("acceptres", code, message, "Acceptance_Info", **echo)

    if number not in ("01", "02"):
        return fail("91", "処理区分未設定")
    if not call.field("Patient_ID"):
        return fail("01", "患者番号が未設定です")
    warnings: list[tuple[str, str]] = []
    raw_day, raw_time = call.field("Acceptance_Date"), call.field("Acceptance_Time")
    day = parse_day(raw_day) if raw_day else state.today()
    if day is None:
        return fail("11", "受付日が暦日ではありません")
    if not raw_day:
        warnings.append(("K1", "受付日を自動設定しました"))
    at = parse_time(raw_time) if raw_time else state.now().time()
    if at is None:
        return fail("12", "受付時間設定誤り")
    if not raw_time:
        warnings.append(("K2", "受付時間を自動設定しました"))
    patient = state.find_patient(call.field("Patient_ID"))
    if patient is None:
        return fail("10", "患者番号に該当する患者が存在しません")
    if number == "02":
        return _cancel(call, patient, day, warnings, fail)
    dept, doctor = call.field("Department_Code"), call.field("Physician_Code")
    if not dept:
        return fail("02", "診療科が未設定です")
    if not doctor:
        return fail("03", "ドクターが未設定です")
    if dept not in state.config.departments:
        return fail("13", "診療科が存在しません")
    if doctor not in state.config.physicians:
        return fail("14", "ドクターが存在しません")
    info = call.field("Medical_Information")
    if info and info not in MEDICAL_INFORMATION:
        return fail("15", "診療内容情報が存在しません")
    if not info:
        info = "01"
        warnings.append(("K3", "診療内容情報を自動設定しました"))
    combination, error = _insurance_choice(call, patient)
    if error or combination is None:
        return fail(error or "23", ACCEPT_ERRORS.get(error or "23", ""))
    if any(r.patient_id == patient["Patient_ID"] and r.department_code == dept and r.combination == combination
           for r in state.day(day)):
        return fail("16", "診療科・保険組合せで受付登録済みです。二重登録疑い")
    reception = Reception(state.next_acceptance_id(day), patient["Patient_ID"], day, at.replace(microsecond=0),
                          dept, doctor, combination, info)
    state.day(day).append(reception)
    state.day(day).sort(key=lambda r: (r.at, r.acceptance_id))
    state.notify("patient_accept", state.accept_body("add", reception))
    return _accepted(call, patient, reception, "受付登録終了", warnings)


def _accepted(call: Call, patient: dict[str, Any], r: Reception, message: str,
              warnings: list[tuple[str, str]]) -> Reply:
    state = call.state
    combos = sorted(patient["HealthInsurance_Information"],
                    key=lambda c: c["Insurance_Combination_Number"] != r.combination)  # the accepted one first
    address = patient.get("Home_Address_Information") or {}
    info = {**ClinicState.brief(patient),
            "Home_Address_Information": {"Address_ZipCode": address.get("Address_ZipCode", ""),
                                         "WholeAddress": address.get("WholeAddress1", "")
                                         + address.get("WholeAddress2", "")},
            "HealthInsurance_Information": [combination_view(c) for c in combos]}
    result = warnings[0][0] if warnings else "00"  # the first warning's code stands for the result
    return call.reply(
        "acceptres", result, message, "Acceptance_Info", warnings=[text for _code, text in warnings],
        Acceptance_Date=r.day.isoformat(), Acceptance_Time=r.at.strftime("%H:%M:%S"), Acceptance_Id=r.acceptance_id,
        Department_Code=r.department_code, Department_WholeName=state.config.departments.get(r.department_code, ""),
        Physician_Code=r.physician_code, Physician_WholeName=state.config.physicians[r.physician_code].name,
        Medical_Information=r.medical_information, Patient_Information=info)


def _cancel(call: Call, patient: dict[str, Any], day: date, warnings: list[tuple[str, str]],
            fail: Callable[[str, str], Reply]) -> Reply:
    acceptance_id = call.field("Acceptance_Id")
    if not acceptance_id or not acceptance_id.isdigit():
        return fail("19", "受付ID設定誤り")
    target = call.state.find_reception(day, acceptance_id.zfill(5))
    if target is None:
        return fail("17", "削除対象の受付レコードが存在しません")
    if target.patient_id != patient["Patient_ID"]:
        return fail("20", "受付IDの受付患者番号と患者番号が一致しません")
    call.state.day(day).remove(target)
    call.state.notify("patient_accept", call.state.accept_body("delete", target))
    if not call.field("Medical_Information"):
        warnings.append(("K3", "診療内容情報を自動設定しました"))
    return call.reply(
        "acceptres", warnings[0][0] if warnings else "00", "受付削除終了", "Acceptance_Info",
        warnings=[text for _code, text in warnings], Acceptance_Date=day.isoformat(),
        Acceptance_Time=target.at.strftime("%H:%M:%S"), Acceptance_Id=target.acceptance_id,
        Department_Code=target.department_code, Physician_Code=target.physician_code,
        Medical_Information=target.medical_information, Patient_Information=ClinicState.brief(patient))


PUSH_ERRORS = {
    "0001": "イベント名に半角以外の文字が入力されています。", "0002": "ユーザ名に半角以外の文字が入力されています。",
    "0003": "期間開始日時の日付の入力に誤りがあります。", "0004": "期間開始日時の時刻の入力に誤りがあります。",
    "0005": "期間終了日時の日付の入力に誤りがあります。", "0006": "期間終了日時の時刻の入力に誤りがあります。",
    "0007": "対象となるＰＵＳＨ通知が存在しませんでした。", "0008": "期間開始日時＞期間終了日時です。",
}
#: start_time / end_time as the page gives them: "2018-01-24 13:00", or the date alone ("日付のみの指定も可能").
#: A time with seconds is not in the published format and is refused like any other wrong time.
_STAMP = re.compile(r"^(\S+)(?: (\S+))?$")
_CLOCK = re.compile(r"^\d\d:\d\d$")


def _moment(value: str, date_code: str, time_code: str, end: bool) -> datetime | str | None:
    """A start/end_time ("YYYY-MM-DD" or "YYYY-MM-DD HH:MM") as a JST datetime, or its error code.

    Minutes are the resolution: a start takes in its whole minute from :00, an end its whole minute to :59
    (the page's own example window is 13:00 to 12:59 the next day); a date alone is the whole day.
    """
    if not value:
        return None
    match = _STAMP.match(value)
    day = parse_day(match.group(1)) if match else None
    if day is None:
        return date_code
    clock = match.group(2) if match else None
    if clock is None:
        return datetime.combine(day, time.max if end else time.min, tzinfo=JST)
    if not _CLOCK.match(clock):
        return time_code
    try:
        parsed = time.fromisoformat(clock)
    except ValueError:
        return time_code
    if end:
        parsed = parsed.replace(second=59, microsecond=999999)
    return datetime.combine(day, parsed, tzinfo=JST)


def push_error(code: str, message: str | None = None) -> dict[str, Any]:
    """pusheventgetv2's error object."""
    return {"error": {"code": code, "message": message or PUSH_ERRORS.get(code, "")}}


def pusheventget(call: Call) -> Any:
    """PUSH通知一括取得 (JSON only): a JSON array of {"data": …}, or {"error": {code, message}}."""
    def error(code: str) -> dict[str, Any]:
        return push_error(code)

    event, user = call.field("event"), call.field("user")
    if event and not event.isascii():
        return error("0001")
    if user and not user.isascii():
        return error("0002")
    start = _moment(call.field("start_time"), "0003", "0004", end=False)
    end = _moment(call.field("end_time"), "0005", "0006", end=True)
    for bound in (start, end):
        if isinstance(bound, str):
            return error(bound)
    if isinstance(start, datetime) and isinstance(end, datetime) and start > end:
        return error("0008")
    hits = []
    for item in call.state.recent_events():
        data = item["data"]
        at = datetime.strptime(data["time"], "%Y-%m-%dT%H:%M:%S%z")
        if ((not event or data["event"] == event) and (not user or data["user"] == user)
                and (not isinstance(start, datetime) or at >= start) and (not isinstance(end, datetime) or at <= end)):
            hits.append(item)
    return copy.deepcopy(hits) if hits else error("0007")
