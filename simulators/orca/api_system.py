"""システム管理情報: system01lstv2 (§5a) — 01 診療科, 02 ドクター, 03 職員, 04 医療機関, 06 診療内容."""

from __future__ import annotations

from simulators.orca.api_common import Call
from simulators.orca.codec import Reply
from simulators.orca.state import parse_day
from simulators.orca.visits import MEDICAL_INFORMATION

ROOTS = {"01": "departmentres", "02": "physicianres", "03": "physicianres", "04": "system1001res",
         "05": "incomeres", "06": "medicalinfres", "07": "ptconditionres"}


def root_for(number: str) -> str:
    """The response record name of a Request_Number (an unknown one answers under system01_manageres)."""
    return ROOTS.get(number, "system01_manageres")


def system01lst(call: Call) -> Reply:
    """The lists of ORCA's system settings as of Base_Date (unset: today)."""
    state, number = call.state, call.request_number()
    if number not in ROOTS:
        return call.reply(root_for(number), "91", "リクエスト番号がありません")
    base = parse_day(call.field("Base_Date")) or state.today()
    fields = {"Base_Date": base.isoformat()}
    root = root_for(number)
    config = state.config
    if number == "01":
        return call.reply(root, "00", "処理終了", pad={"Department_Information": 100}, **fields,
                          Department_Information=[{"Code": c, "WholeName": n, "Name1": n, "Name2": n, "Name3": n[:1],
                                                   "Receipt_Code": c} for c, n in config.departments.items()])
    if number == "02":
        doctors = []
        for p in config.physicians.values():
            doctor = {"Code": p.code, "WholeName": p.name, "WholeName_inKana": p.kana}
            doctor.update({f"Department_Code{i}": d for i, d in enumerate(p.departments, start=1)})
            doctors.append(doctor)
        return call.reply(root, "00", "処理終了", pad={"Physician_Information": 100}, **fields,
                          Physician_Information=doctors)
    if number == "03":
        staff = [{"Code": c, "WholeName": n, "WholeName_inKana": k} for c, n, k in config.clerks]
        return call.reply(root, "00", "処理終了", pad={"Physician_Information": 100}, **fields,
                          Physician_Information=staff)
    if number == "04":
        code = config.institution_code
        return call.reply(root, "00", "処理終了", **fields, Medical_Information={
            "Prefectures_Number": code[:2], "Point_list": code[2], "Institution_Code": code[3:],
            "Institution_Speciation": "2", "Institution_WholeName": config.name,
            "Short_Institution_WholeName": config.name, "Hospital_bed_Capacity": "0000", "Outside_Class": "1",
            "Address_Information": {"WholeAddress": config.address, "Address_ZipCode": config.zip_code,
                                    "PhoneNumber": config.phone}})
    if number == "06":
        return call.reply(root, "00", "処理終了", **fields, Medicalinf_Information=[
            {"Medical_Information": c, "Medical_Information_Name": n, "Medical_Information_Name2": n2}
            for c, (n, n2) in MEDICAL_INFORMATION.items()])
    return call.reply(root, "11", "対象がありません", **fields)
