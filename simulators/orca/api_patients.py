"""患者 APIs: patientgetv2 (§2a), patientlst1v2 (§2d), patientlst2v2 (§2e), patientlst3v2 (§2c)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from simulators.orca.api_common import Call, has_gaiji, listed_patient, name_key
from simulators.orca.codec import Reply
from simulators.orca.state import ClinicState, parse_day

NOT_FOUND_NAME = "【患者番号がありません】"


def patientget(call: Call) -> Reply:
    """患者基本情報取得: GET …/patientgetv2?id=N (the only GET API)."""
    raw = call.query.get("id", "").strip()
    if not raw:
        return call.reply("patientinfores", "01", "患者番号の設定がありません")
    patient = call.state.find_patient(raw)
    if patient is None:
        return call.reply("patientinfores", "10", "患者番号に該当する患者が存在しません")
    return call.reply("patientinfores", "00", "処理終了", Patient_Information=ClinicState.public(patient))


def patientlst1(call: Call) -> Reply:
    """患者番号一覧: class=01 新規・更新対象, class=02 新規対象, within Base_StartDate–Base_EndDate."""
    kind = call.query.get("class", "")
    if kind not in ("01", "02"):
        return call.reply("patientlst1res", "91", "処理区分未設定")
    start_raw, end_raw = call.field("Base_StartDate"), call.field("Base_EndDate")
    start = parse_day(start_raw) if start_raw else call.state.today()
    end = parse_day(end_raw) if end_raw else date.max
    if start is None or end is None:
        return call.reply("patientlst1res", "97", "送信内容に誤りがあります")
    if start > end:
        return call.reply("patientlst1res", "01", "開始日付＞終了日付です")
    if call.field("Contain_TestPatient_Flag") not in ("", "0", "1"):
        return call.reply("patientlst1res", "02", "テスト患者区分がありません")

    def within(value: str) -> bool:
        return start <= date.fromisoformat(value) <= end

    patients = call.state.patients.values()
    if kind == "01":
        hits = sorted((p for p in patients if within(p["CreateDate"]) or within(p["UpdateDate"])),
                      key=lambda p: (p["UpdateDate"], p["UpdateTime"], p["CreateDate"], p["Patient_ID"]))
    else:
        hits = sorted((p for p in patients if within(p["CreateDate"])),
                      key=lambda p: (p["CreateDate"], p["Patient_ID"]))
    if call.field("Contain_TestPatient_Flag") == "1":
        hits = [p for p in hits if p.get("TestPatient_Flag") != "1"]
    if not hits:
        return call.reply("patientlst1res", "20", "該当患者がありません")
    if len(hits) >= 1000:
        return call.reply("patientlst1res", "10", "該当患者が１０００件以上となります")
    rows = [{**ClinicState.brief(p), "CreateDate": p["CreateDate"], "UpdateDate": p["UpdateDate"],
             "UpdateTime": p["UpdateTime"], "TestPatient_Flag": p.get("TestPatient_Flag", "0")} for p in hits]
    return call.reply("patientlst1res", "00", "処理終了", pad={"Patient_Information": 1000},
                      Target_Patient_Count=f"{len(rows):04d}", Patient_Information=rows)


def patientlst2(call: Call) -> Reply:
    """複数患者情報: one entry per requested number (≤ 100); an unknown number is marked, not an error."""
    ids = call.record.get("Patient_ID_Information")
    if isinstance(ids, dict):
        ids = [ids]
    if not isinstance(ids, list) or not ids or len(ids) > 100 or not all(isinstance(i, dict) for i in ids):
        return call.reply("patientlst2res", "97", "送信内容に誤りがあります")
    entries: list[dict[str, Any]] = []
    missing = 0
    for item in ids:
        raw = str(item.get("Patient_ID", "")).strip()
        patient = call.state.find_patient(raw)
        if patient is None:
            missing += 1
            entries.append({"Patient_ID": raw, "WholeName": NOT_FOUND_NAME})
        else:
            entries.append(listed_patient(patient))
    return call.reply("patientlst2res", "00", "処理終了", Target_Patient_Count=f"{len(entries) - missing:03d}",
                      No_Target_Patient_Count=f"{missing:03d}", Patient_Information=entries)


def patientlst3(call: Call) -> Reply:
    """患者氏名検索: 前方一致 on the name or the kana ("*" as a wildcard), optional birth-date range and sex."""
    name = call.field("WholeName")
    if not name_key(name):
        return call.reply("patientlst2res", "17", "検索氏名を設定して下さい")
    if has_gaiji(name):
        return call.reply("patientlst2res", "10", "検索氏名に外字があります")
    start_raw, end_raw = call.field("Birth_StartDate"), call.field("Birth_EndDate")
    start = parse_day(start_raw) if start_raw else None
    end = parse_day(end_raw) if end_raw else start
    if start_raw and start is None:
        return call.reply("patientlst2res", "11", "開始生年月日が暦日ではありません")
    if end_raw and end is None:
        return call.reply("patientlst2res", "12", "終了生年月日が暦日ではありません")
    if end_raw and not start_raw:
        return call.reply("patientlst2res", "13", "開始生年月日の設定がありません")
    if start and end and start > end:
        return call.reply("patientlst2res", "14", "開始生年月日＞終了生年月日です")
    sex, in_out = call.field("Sex"), call.field("InOut")
    if sex not in ("", "1", "2"):
        return call.reply("patientlst2res", "15", "性別が存在しません")
    if in_out not in ("", "1", "2"):
        return call.reply("patientlst2res", "16", "入外区分が存在しません")
    pattern = re.compile(".*".join(re.escape(part) for part in name_key(name).split("*")))
    hits = [p for p in call.state.patients.values()
            if (pattern.match(name_key(p["WholeName"])) or pattern.match(name_key(p["WholeName_inKana"])))
            and (not start or start <= date.fromisoformat(p["BirthDate"]) <= (end or start))
            and (not sex or p["Sex"] == sex) and in_out != "1"]  # a clinic without beds has no 入院中 patient
    if not hits:
        return call.reply("patientlst2res", "20", "該当患者が存在しません")
    if len(hits) > 100:
        return call.reply("patientlst2res", "21", "該当患者が１００件以上となります")
    return call.reply("patientlst2res", "00", "処理終了", Target_Patient_Count=f"{len(hits):03d}",
                      No_Target_Patient_Count="000", Patient_Information=[listed_patient(p) for p in hits])
