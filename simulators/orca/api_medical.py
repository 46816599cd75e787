"""中途データ: medicalmodv2 (§4a: 01 登録, 02 削除, 03 変更, 04 外来追加) and tmedicalgetv2 (§4c)."""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from simulators.orca.api_common import Call, combination_view, procedure_points
from simulators.orca.codec import Reply
from simulators.orca.state import ClinicState, parse_day, parse_time

MEDICAL_WARNINGS = {
    "W01": "診療日を設定しました", "W02": "保険組合せをゼロで登録しました", "M01": "点数マスタに登録がありません",
    "M05": "診療種別区分がありません",
}
#: Success messages: 01 is the spec's; 02–04 are not published (orca.md §10) — these follow its wording.
DONE = {"01": "登録処理終了", "02": "削除処理終了", "03": "置換処理終了", "04": "追加処理終了"}


def _list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        value = [value]
    return [v for v in value if isinstance(v, dict) and v] if isinstance(value, list) else []


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _medical_lines(diagnosis: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The 剤 ORCA keeps and the warnings of the lines it drops (no 診療種別区分 M05, unknown code M01)."""
    kept, warnings = [], []
    for position, item in enumerate(_list(diagnosis.get("Medical_Information")), start=1):
        if not _text(item, "Medical_Class"):
            warnings.append({"Medical_Warning": "M05", "Medical_Warning_Message": MEDICAL_WARNINGS["M05"],
                             "Medical_Warning_Position": f"{position:03d}"})
            continue
        lines = []
        for line_no, line in enumerate(_list(item.get("Medication_info")), start=1):
            code = _text(line, "Medication_Code")
            # A 診療行為 (1xxxxxxxx) must be in the 点数マスタ; drugs and materials are not checked (no master here).
            if re.fullmatch(r"\d{9}", code) and (code[0] != "1" or code in procedure_points()):
                lines.append(line)
            else:  # 入力コード (e.g. "M001") and anything else that is not a 9-digit 診療行為コード
                warnings.append({"Medical_Warning": "M01", "Medical_Warning_Message": MEDICAL_WARNINGS["M01"],
                                 "Medical_Warning_Position": f"{position:03d}",
                                 "Medical_Warning_Item_Position": f"{line_no:03d}", "Medical_Warning_Code": code})
        if lines:
            kept.append({**item, "Medication_info": lines})
    return kept, warnings


def _disease_check(diagnosis: dict[str, Any]) -> tuple[str, str] | None:
    """The first disease date error (17 / 18 / 19), if any."""
    for disease in _list(diagnosis.get("Disease_Information")):
        start, end = _text(disease, "Disease_StartDate"), _text(disease, "Disease_EndDate")
        start_day = parse_day(start)
        if start_day is None:
            return "17", "病名開始日付が暦日エラーです"
        end_day = parse_day(end) if end else None
        if end and end_day is None:
            return "18", "病名転帰日付が暦日エラーです"
        if end_day and start_day > end_day:
            return "19", "病名開始日付＞転帰日付です"
    return None


def medicalmod(call: Call) -> Reply:
    """中途データ: checked like ORCA checks it, kept for the clerk, answered with Medical_Uid."""
    state, number = call.state, call.request_number()
    diagnosis = call.record.get("Diagnosis_Information")
    diagnosis = diagnosis if isinstance(diagnosis, dict) else {}
    dept, doctor = _text(diagnosis, "Department_Code"), _text(diagnosis, "Physician_Code")
    echo = {"Request_Number": number, "Perform_Date": call.field("Perform_Date"),
            "Perform_Time": call.field("Perform_Time"), "Department_Code": dept, "Physician_Code": doctor,
            "Patient_Information": {"Patient_ID": call.field("Patient_ID")}}

    def fail(code: str, message: str) -> Reply:
        return call.reply("medicalres", code, message, "Medical Info", **echo)

    if number not in DONE:
        return fail("91", "処理区分未設定")
    if not call.field("Patient_ID"):
        return fail("01", "患者番号未設定")
    if not dept:
        return fail("02", "診療科未設定")
    if not doctor:
        return fail("03", "ドクター未設定")
    uid = call.field("Medical_Uid")
    if number in ("02", "03") and not uid:
        return fail("04", "UID未設定")
    patient = state.find_patient(call.field("Patient_ID"), exact=True)  # WebORCA wants the padded number here
    if patient is None:
        return fail("10", "患者番号に該当する患者が存在しません")
    warnings: list[dict[str, Any]] = []
    raw_day = call.field("Perform_Date")
    day = parse_day(raw_day) if raw_day else state.today()
    if day is None:
        return fail("11", "診療日設定誤り")
    if not raw_day:
        warnings.append({"Medical_Warning": "W01", "Medical_Warning_Message": MEDICAL_WARNINGS["W01"]})
    clock = parse_time(call.field("Perform_Time")) or state.now().time()
    if dept not in state.config.departments:
        return fail("13", "診療科が存在しません")
    if doctor not in state.config.physicians:
        return fail("14", "ドクターが存在しません")
    if call.field("InOut") == "I" and number == "04":
        return fail("40", "追加処理は、外来のみ可能です")
    key = (day.isoformat(), patient["Patient_ID"], dept)
    existing = next((m for m in state.medical if (m["Perform_Date"], m["Patient_ID"], m["Department_Code"]) == key
                     and (not uid or m["Medical_Uid"] == uid)), None)
    if existing is not None and existing["Medical_Mode"] == "1" and number in ("02", "03"):
        # The clerk has it open (展開中, orca.md §7c): "内容が更新されている可能性があります".
        if number == "02":
            return fail("31", "削除対象の中途終了データがありません。内容が更新されている可能性があります")
        return fail("33", "置換対象の中途終了データがありません。内容が更新されている可能性があります")
    if number == "02":
        if existing is None:
            return fail("30", "削除対象の中途終了データがありません")
        state.medical.remove(existing)
        return _done(call, patient, existing, number, [])
    if number == "03" and existing is None:
        return fail("32", "置換対象の中途終了データがありません")
    disease_error = _disease_check(diagnosis)
    if disease_error:
        return fail(*disease_error)
    lines, line_warnings = _medical_lines(diagnosis)
    warnings += line_warnings
    diseases = _list(diagnosis.get("Disease_Information"))
    if not lines and not diseases:
        return fail("22", "登録対象のデータがありません")
    if not lines:
        return fail("20", "病名登録処理終了。中途データが登録できませんでした")
    wanted = diagnosis.get("HealthInsurance_Information")
    combination = _text(wanted, "Insurance_Combination_Number") if isinstance(wanted, dict) else ""
    if not combination or state.combination(patient, combination) is None:
        combination = "0000"
        warnings.append({"Medical_Warning": "W02", "Medical_Warning_Message": MEDICAL_WARNINGS["W02"]})
    same_day = any((m["Perform_Date"], m["Patient_ID"], m["Department_Code"]) == key for m in state.medical)
    entry = {"Medical_Uid": str(uuid.uuid4()), "Perform_Date": day.isoformat(),
             "Perform_Time": clock.strftime("%H:%M:%S"), "Patient_ID": patient["Patient_ID"], "Department_Code": dept,
             "Physician_Code": doctor, "Insurance_Combination_Number": combination, "Medical_Information": lines,
             "Disease_Information": diseases if number == "01" else [], "Medical_Mode": "0", "Medical_Mode2": "0",
             "Medical_Time": state.now().strftime("%H:%M:%S")}
    if number == "03":
        state.medical.remove(existing)  # type: ignore[arg-type]
    if number == "04" and existing is not None and existing["Insurance_Combination_Number"] == combination:
        if existing["Physician_Code"] != doctor:
            return fail("41", "追加対象の中途終了データとドクターコードが違います")
        existing["Medical_Information"] = existing["Medical_Information"] + lines
        entry = existing
    else:
        state.medical.append(entry)
    if call.field("Medical_Push") == "Yes":
        now = state.now()
        state.notify("receive_medicalreq", {
            "Request_Number": str(int(number)), "InOut": "1" if call.field("InOut") == "I" else "2",
            "Patient_ID": patient["Patient_ID"], "Information_Date": now.date().isoformat(),
            "Information_Time": now.strftime("%H:%M:%S"), "Perform_Date": entry["Perform_Date"],
            "Perform_Time": entry["Perform_Time"], "Insurance_Combination_Number": combination,
            "Department_Code": dept, "Physician_Code": doctor})
    result = {"Medical_Result": "03", "Medical_Result_Message": "既に同日の診療データが登録されています"} \
        if same_day and number == "01" else {}
    return _done(call, patient, entry, number, warnings, result)


def _done(call: Call, patient: dict[str, Any], entry: dict[str, Any], number: str,
          warnings: list[dict[str, Any]], result: dict[str, str] | None = None) -> Reply:
    state = call.state
    combo = state.combination(patient, entry["Insurance_Combination_Number"])
    info = {**ClinicState.brief(patient), "HealthInsurance_Information": combination_view(combo) if combo else {}}
    messages = {**(result or {}), "Medical_Warning_Info": warnings} if (warnings or result) else {}
    return call.reply(
        "medicalres", "00", DONE[number], "Medical Info", Perform_Date=entry["Perform_Date"],
        Perform_Time=entry["Perform_Time"], Medical_Uid=entry["Medical_Uid"],
        Department_Code=entry["Department_Code"],
        Department_Name=state.config.departments[entry["Department_Code"]], Physician_Code=entry["Physician_Code"],
        Physician_WholeName=state.config.physicians[entry["Physician_Code"]].name, Patient_Information=info,
        Medical_Message_Information=messages)


def tmedicalget(call: Call) -> Reply:
    """中途終了患者一覧 of a day (optionally one department or patient)."""
    state = call.state
    raw_day = call.field("Perform_Date")
    day = parse_day(raw_day) if raw_day else state.today()
    if day is None:
        return call.reply("tmedicalgetres", "11", "診療日が暦日ではありません", "Medical Info")
    dept, pid = call.field("Department_Code"), call.field("Patient_ID")
    if dept and dept not in state.config.departments:
        return call.reply("tmedicalgetres", "13", "診療科が存在しません", "Medical Info")
    patient = state.find_patient(pid) if pid else None
    if pid and patient is None:
        return call.reply("tmedicalgetres", "10", "患者番号に該当する患者が存在しません", "Medical Info")
    rows = [m for m in state.medical if m["Perform_Date"] == day.isoformat() and (not dept or m["Department_Code"]
            == dept) and (not patient or m["Patient_ID"] == patient["Patient_ID"])]
    if not rows:
        return call.reply("tmedicalgetres", "15", "対象がありません", "Medical Info", Perform_Date=day.isoformat())
    listed = []
    for m in sorted(rows, key=lambda m: m["Medical_Time"]):
        owner = state.patients[m["Patient_ID"]]
        combo = state.combination(owner, m["Insurance_Combination_Number"])
        listed.append({"Patient_Information": ClinicState.brief(owner), "Department_Code": m["Department_Code"],
                       "Department_Name": state.config.departments[m["Department_Code"]],
                       "Physician_Code": m["Physician_Code"],
                       "Physician_WholeName": state.config.physicians[m["Physician_Code"]].name,
                       "Insurance_Combination_Number": m["Insurance_Combination_Number"],
                       "HealthInsurance_Information": copy.deepcopy(combination_view(combo)) if combo else {},
                       "Medical_Uid": m["Medical_Uid"], "Medical_Time": m["Medical_Time"],
                       "Medical_Mode": m["Medical_Mode"], "Medical_Mode2": m["Medical_Mode2"]})
    return call.reply("tmedicalgetres", "00", "処理終了", "Medical Info", Perform_Date=day.isoformat(),
                      InOut="2", Tmedical_List_Information=listed)
