"""請求金額シミュレーション: acsimulatev2 class 01 (orca.md §4b of the team notes): the points and the patient's share
of the lines asked, from the same 医科診療行為マスター the app ships (app/billing/data/procedures.csv, read as a
file: the simulator imports nothing of the app), checked as ORCA checks 診療行為: an unknown or ended code, an
exclusive pair in one visit, a closed (会計済) visit — each Api_Result 50 with the code and the reason."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from simulators.orca.api_common import Call, procedure_points
from simulators.orca.api_medical import _list, _text
from simulators.orca.codec import Reply
from simulators.orca.state import parse_day

#: Pairs ORCA refuses in one visit (小児科外来診療料 includes 外来管理加算 and 特定疾患療養管理料: 告示 B001-2 注).
EXCLUSIVE = {frozenset(p) for p in (("113003610", "112011010"), ("113003810", "112011010"),
                                    ("113003610", "113001810"), ("113003810", "113001810"))}
#: Ac_Point_Detail names by 診療種別区分's first digit(s), in ORCA's order (items 1–14 always present).
DETAIL_NAMES = (("11", "初・再診料"), ("12", "初・再診料"), ("13", "医学管理等"), ("14", "在宅医療"), ("2", "投薬"),
                ("3", "注射"), ("4", "処置"), ("5", "手術"), ("54", "麻酔"), ("6", "検査"), ("64", "病理診断"),
                ("7", "画像診断"), ("8", "リハビリ"), ("9", "その他"))
ORDER = ("初・再診料", "医学管理等", "在宅医療", "検査", "画像診断", "投薬", "注射", "リハビリテーション",
         "精神科専門療法", "処置", "手術", "麻酔", "放射線治療", "病理診断")


def _detail(medical_class: str) -> str:
    name = "その他"
    for prefix, label in DETAIL_NAMES:
        if medical_class.startswith(prefix):
            name = label
    return {"リハビリ": "リハビリテーション", "その他": "処置"}.get(name, name)


def acsimulate(call: Call) -> Reply:
    """The trial bill of the lines asked: total points, the patient's share by the combination's rate."""
    state = call.state
    diagnosis = call.record.get("Diagnosis_Information")
    diagnosis = diagnosis if isinstance(diagnosis, dict) else {}

    def fail(code: str, message: str) -> Reply:
        return call.reply("acsimulateres", code, message, "Medical Info")

    if not call.field("Patient_ID"):
        return fail("01", "患者番号の設定がありません")
    dept = _text(diagnosis, "Department_Code")
    if not dept:
        return fail("02", "診療科の設定がありません")
    patient = state.find_patient(call.field("Patient_ID"))
    if patient is None:
        return fail("10", "患者番号に該当する患者が存在しません")
    day = parse_day(call.field("Perform_Date")) if call.field("Perform_Date") else state.today()
    if day is None:
        return fail("11", "診療日が暦日ではありません")
    if dept not in state.config.departments:
        return fail("13", "診療科が存在しません")
    combination = state.combination(patient, _text(diagnosis, "Combination_Number"))
    if combination is None:
        return fail("12", "該当する保険組合せがありません")
    visits = [r for r in state.day(day) if r.patient_id == patient["Patient_ID"] and r.department_code == dept]
    if visits and all(r.account_time for r in visits):
        return fail("50", "会計済みの受診があります。診療行為は「21 診療行為」で確認してください")
    points: dict[str, Decimal] = {}
    codes: list[str] = []
    for item in _list(diagnosis.get("Medical_Information")):
        medical_class = _text(item, "Medical_Class")
        times = Decimal(_text(item, "Medical_Class_Number") or "1")
        for line in _list(item.get("Medication_info")):
            code = _text(line, "Medication_Code")
            if code[:1] != "1":
                continue  # drugs (6xxxxxxxx) are priced by the drug master, which this simulator does not keep
            if code not in procedure_points():
                return fail("50", f"コード：{code}　点数マスタに登録がありません")
            number = Decimal(_text(line, "Medication_Number") or "1")
            name = _detail(medical_class)
            points[name] = points.get(name, Decimal(0)) + procedure_points()[code] * number * times
            codes.append(code)
    for pair in EXCLUSIVE:
        if pair <= set(codes):
            first, second = sorted(pair)
            return fail("50", f"コード：{first}　{second}と同時に算定できません")
    total = sum(points.values(), Decimal(0)).to_integral_value(ROUND_HALF_UP)
    rate = Decimal(combination.get("InsuranceCombination_Rate_Outpatient") or "0.30")
    # 一部負担金: 10円未満四捨五入 (健康保険法施行令).
    share = (total * 10 * rate / 10).to_integral_value(ROUND_HALF_UP) * 10
    # Under a 公費 the patient's share is the 公費一部負担金 (Pi_Smoney) and the insurance part of it (Ai_Money) is
    # nothing, as in ORCA's field list's example (Ac_Money 340, Ai_Money 0, Pi_Smoney 340). The 公費's 月額上限 is
    # applied to this visit alone: the month's earlier payments are not summed (not simulated).
    money = {"Ac_Money": f"{share:>9}", "Ai_Money": f"{share:>9}", "Oe_Money": f"{0:>9}"}
    publics = combination.get("PublicInsurance_Information") or []
    if publics:
        cap = int(publics[0].get("Money_Outpatient") or 0)
        share = min(share, Decimal(cap)) if cap else share
        money = {"Ac_Money": f"{share:>9}", "Ai_Money": f"{0:>9}", "Oe_Money": f"{0:>9}"}
        if share:
            money["Pi_Smoney"] = f"{share:>9}"  # sent only when not zero, as ORCA does
    return call.reply(
        "acsimulateres", "00", "処理終了", "Medical Info", Perform_Date=day.isoformat(), Department_Code=dept,
        Department_Name=state.config.departments[dept],
        Patient_Information={"Patient_ID": patient["Patient_ID"], "WholeName": patient["WholeName"],
                             "HealthInsurance_Information": {"Combination_Number": combination[
                                 "Insurance_Combination_Number"]}},
        Cd_Information=money,
        Ac_Point_Information={"Ac_Ttl_Point": f"{total:>9}", "Ac_Point_Detail": [
            {"AC_Point_Name": name, "AC_Point": f"{points.get(name, Decimal(0)).to_integral_value(ROUND_HALF_UP):>9}"}
            for name in ORDER]})
