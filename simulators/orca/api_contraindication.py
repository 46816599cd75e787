"""薬剤併用禁忌チェック (contraindicationcheckv2): the drugs sent, checked among themselves and against the patient's
中途データ held here, from ORCA's data in data/contraindications.json."""

from __future__ import annotations

import json
import re
from datetime import date
from functools import lru_cache
from pathlib import Path

from simulators.orca.api_common import Call
from simulators.orca.codec import Reply
from simulators.orca.state import ClinicState

DATA = Path(__file__).parent / "data" / "contraindications.json"
ROOT, RESKEY = "contraindication_checkres", "Medical Info"
MAX_DRUGS = 30


@lru_cache(maxsize=1)
def _data() -> tuple[dict[str, list[dict[str, str]]], dict[str, dict[str, str]]]:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    pairs: dict[str, list[dict[str, str]]] = {}
    for row in raw["Medical_Info"]:
        pairs.setdefault(row["Medication_Code"], []).append(row)
    return pairs, {s["Symptom_Code"]: s for s in raw["Symptom_Information"]}


def _recorded_codes(state: ClinicState, patient_id: str) -> dict[str, str]:
    """Drug codes (and names) of the patient's 中途データ held here: ORCA's record of the patient's medication."""
    found: dict[str, str] = {}
    for entry in state.medical:
        if entry["Patient_ID"] != patient_id:
            continue
        for item in entry.get("Medical_Information") or []:
            for line in item.get("Medication_info") or []:
                found.setdefault(str(line.get("Medication_Code", "")), str(line.get("Medication_Name", "")))
    return found


def contraindicationcheck(call: Call) -> Reply:
    """Check the sent drugs (at most 30) for 併用禁忌; unknown codes get their own Medical_Result."""
    state = call.state
    pid = call.field("Patient_ID")
    if not pid:
        return call.reply(ROOT, "01", "患者番号が未設定です", RESKEY)
    patient = state.find_patient(pid)
    if patient is None:
        return call.reply(ROOT, "10", "患者番号に該当する患者が存在しません", RESKEY)
    month = call.field("Perform_Month") or state.today().strftime("%Y-%m")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        return call.reply(ROOT, "11", "診療年月が誤っています", RESKEY)
    items = call.record.get("Medical_Information")
    items = [items] if isinstance(items, dict) else items
    drugs = [i for i in items if isinstance(i, dict) and i] if isinstance(items, list) else []
    if not drugs:
        return call.reply(ROOT, "20", "チェック薬剤情報がありません", RESKEY)
    if len(drugs) > MAX_DRUGS:
        return call.reply(ROOT, "21", f"チェック薬剤は{MAX_DRUGS}件までです", RESKEY)
    pairs, symptoms = _data()
    sent = {str(d.get("Medication_Code", "")).strip(): str(d.get("Medication_Name", "")).strip() for d in drugs}
    names = {**_recorded_codes(state, patient["Patient_ID"]), **sent}
    answered, used = [], []
    for code, name in sent.items():
        if not re.fullmatch(r"\d{9}", code) or not code.startswith("6"):
            answered.append({"Medication_Code": code, "Medication_Name": name, "Medical_Result": "01",
                             "Medical_Result_Message": "点数マスタに登録がありません（薬剤ではありません）"})
            continue
        found = [dict(row, Contra_Name=names.get(row["Contra_Code"], "")) for row in pairs.get(code, [])
                 if row["Contra_Code"] in names and row["Contra_Code"] != code]
        used += [row["Interact_Code"] for row in found]
        answered.append({"Medication_Code": code, "Medication_Name": name,
                         "Medical_Info": [{k: v for k, v in row.items() if k != "Medication_Code"} for row in found]})
    year, mon = map(int, month.split("-"))
    return call.reply(ROOT, "00", "処理終了", RESKEY, pad={"Medical_Information": MAX_DRUGS},
                      Perform_Month=date(year, mon, 1).strftime("%Y-%m"),
                      Patient_Information=ClinicState.brief(patient), Medical_Information=answered,
                      Symptom_Information=[symptoms[c] for c in dict.fromkeys(used) if c in symptoms])
