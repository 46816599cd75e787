"""The ORCA simulator answers as the published API does (paths, xml2 and JSON, result codes, padding)."""

from __future__ import annotations

from datetime import date

import requests

AUTH = ("ormaster-a", "orca-demo-a")


def test_xml2_mode_by_default(orca):
    response = requests.get(orca.base_url("1310123458") + "/api01rv2/patientgetv2", params={"id": "1"}, auth=AUTH,
                            timeout=5)
    body = response.content.decode()
    assert response.headers["Content-Type"].startswith("application/xml")
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert '<patientinfores type="record">' in body and '<Api_Result type="string">00</Api_Result>' in body
    assert '<HealthInsurance_Information type="array"><HealthInsurance_Information_child type="record">' in body


def test_json_mode_pads_fixed_tables_with_empty_records(orca):
    response = requests.post(orca.base_url("1310123458") + "/api01rv2/system01lstv2",
                             params={"class": "02", "format": "json"}, auth=AUTH, timeout=5,
                             json={"system01_managereq": {"Request_Number": "02"}})
    doctors = response.json()["physicianres"]["Physician_Information"]
    assert len(doctors) == 100 and doctors[2] == {}


def test_empty_day_is_result_21(orca):
    response = requests.post(orca.base_url("1310123458") + "/api01rv2/acceptlstv2",
                             params={"class": "03", "format": "json"}, auth=AUTH, timeout=5,
                             json={"acceptlstreq": {"Acceptance_Date": "2020-01-05"}})
    assert response.json()["acceptlstres"]["Api_Result"] == "21"


def test_missing_api_prefix_is_404_as_on_weborca(orca):
    response = requests.get(f"{orca.root}/clinic/1310123458/api01rv2/patientgetv2", params={"id": "1"}, auth=AUTH,
                            timeout=5)
    assert response.status_code == 404


def test_wrong_method_is_not_found(orca):
    response = requests.get(orca.base_url("1310123458") + "/orca11/acceptmodv2", auth=AUTH, timeout=5)
    assert response.status_code == 404


def test_clinic_b_has_its_own_yamada_taro(orca):
    response = requests.get(orca.base_url("1310156789") + "/api01rv2/patientgetv2",
                            params={"id": "1", "format": "json"}, auth=("ormaster-b", "orca-demo-b"), timeout=5)
    patient = response.json()["patientinfores"]["Patient_Information"]
    assert (patient["WholeName"], patient["BirthDate"]) == ("山田　太郎", "1972-08-15")


def test_registration_without_time_warns_k2(orca):
    response = requests.post(orca.base_url("1310123458") + "/orca11/acceptmodv2", params={"format": "json"},
                             auth=AUTH, timeout=5,
                             json={"acceptreq": {"Request_Number": "01", "Patient_ID": "6", "Department_Code": "01",
                                                 "Physician_Code": "10001",
                                                 "Acceptance_Date": date.today().isoformat()}})
    record = response.json()["acceptres"]
    assert record["Api_Result"] == "K1" and record["Api_Result_Message"] == "受付登録終了"
    assert {"Api_Warning_Message": "受付時間を自動設定しました"} in record["Api_Warning_Message_Information"]


def test_two_hundred_patients_per_clinic(orca):
    for code, auth in (("1310123458", AUTH), ("1310156789", ("ormaster-b", "orca-demo-b"))):
        response = requests.post(orca.base_url(code) + "/api01rv2/patientlst1v2",
                                 params={"class": "01", "format": "json"}, auth=auth, timeout=5,
                                 json={"patientlst1req": {"Base_StartDate": "2000-01-01"}})
        assert response.json()["patientlst1res"]["Target_Patient_Count"] == "0200"
