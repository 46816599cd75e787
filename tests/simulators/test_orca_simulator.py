"""The ORCA simulator answers as the published API does (docs/standards/orca.md), over real HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import requests

from simulators.orca.data import DEFAULT_CLINICS, JST, age_on, check_digit, is_elderly_70, is_preschool, make_patients
from simulators.orca.testing import start_orca_simulator

A, B = "1310123458", "1310156789"
AUTH_A, AUTH_B = ("ormaster-a", "orca-demo-a"), ("ormaster-b", "orca-demo-b")
SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "orca"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim():
    server = start_orca_simulator()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh(sim):
    sim.reset()


def today() -> date:
    return datetime.now(JST).date()


def call(sim, path, body=None, *, code=A, auth=AUTH_A, fmt="json", method="POST", **params):
    """One API call; JSON in and out unless fmt="xml" (then `body` is sent as raw bytes)."""
    if fmt == "json":
        params["format"] = "json"
    url = f"{sim.base_url(code)}/{path}"
    if method == "GET":
        return requests.get(url, params=params, auth=auth, timeout=5)
    kwargs = {"json": body} if fmt == "json" else {"data": body or b""}
    return requests.post(url, params=params, auth=auth, timeout=5, **kwargs)


def record(response, root):
    assert response.status_code == 200
    return response.json()[root]


# --- data ----------------------------------------------------------------------------------------------

def test_the_fixed_demo_patients(sim):
    expected = [("00001", "山田　太郎", "ヤマダ　タロウ", "1", "1958-03-02"),
                ("00002", "髙橋　美咲", "タカハシ　ミサキ", "2", "1990-11-20"),
                ("00003", "佐々木　一郎", "ササキ　イチロウ", "1", "1945-01-05"),
                ("00004", "渡邉　さくら", "ワタナベ　サクラ", "2", "2019-05-01"),
                ("00005", "齋藤　健", "サイトウ　ケン", "1", "1989-01-07"),
                ("00006", "日野　ちよ", "ヒノ　チヨ", "2", "1925-02-11")]
    for patient_id, *fields in expected:
        p = record(call(sim, "api01rv2/patientgetv2", method="GET", id=patient_id), "patientinfores")
        info = p["Patient_Information"]
        assert [info["WholeName"], info["WholeName_inKana"], info["Sex"], info["BirthDate"]] == fields
        assert info["Patient_ID"] == patient_id and p["Api_Result"] == "00" and p["Reskey"] == "Patient Info"
    b = record(call(sim, "api01rv2/patientgetv2", method="GET", code=B, auth=AUTH_B, id="1"), "patientinfores")
    info = b["Patient_Information"]
    assert (info["WholeName"], info["BirthDate"]) == ("山田　太郎", "1972-08-15")


@pytest.mark.parametrize("clinic", DEFAULT_CLINICS, ids=lambda c: c.institution_code)
def test_two_hundred_patients_with_valid_insurance_numbers(clinic):
    patients = make_patients(clinic, today())
    assert len(patients) == 200 and list(patients)[0] == "00001" and list(patients)[-1] == "00200"
    assert len({p["WholeName"] for p in patients.values()}) > 150  # gimei names, not a handful repeated
    classes = set()
    for p in patients.values():
        age = age_on(date.fromisoformat(p["BirthDate"]), today())
        for combo in p["HealthInsurance_Information"]:
            number = combo.get("InsuranceProvider_Number", "")
            if number:
                assert len(number) == (6 if combo["InsuranceProvider_Class"] == "060" else 8)
                assert number[-1] == check_digit(number[:-1])
                assert (number[:2] == "39") == (age >= 75)
            for public in combo.get("PublicInsurance_Information", []):
                classes.add(public["PublicInsurance_Class"])
                payer = public["PublicInsurer_Number"]
                assert payer[-1] == check_digit(payer[:-1]) and payer[:2] == public["PublicInsurance_Class"][1:]
                recipient = public["PublicInsuredPerson_Number"]
                assert recipient[-1] == check_digit(recipient[:-1])
    assert classes >= {"054"} or classes >= {"012"}


def test_burden_follows_age():
    assert is_preschool(date(2019, 5, 1), date(2026, 3, 31)) and not is_preschool(date(2019, 5, 1), date(2026, 4, 1))
    assert is_preschool(date(2019, 4, 2), date(2026, 3, 31)) and not is_preschool(date(2019, 4, 1), date(2025, 4, 1))
    assert not is_elderly_70(date(1956, 5, 10), date(2026, 5, 31))
    assert is_elderly_70(date(1956, 5, 10), date(2026, 6, 1))
    assert is_elderly_70(date(1956, 5, 1), date(2026, 5, 1))  # born on the 1st: from the birthday's month
    spring = make_patients(DEFAULT_CLINICS[0], date(2026, 3, 15))["00004"]["HealthInsurance_Information"][0]
    autumn = make_patients(DEFAULT_CLINICS[0], date(2026, 11, 1))["00004"]["HealthInsurance_Information"][0]
    assert (spring["InsuranceCombination_Rate_Outpatient"], autumn["InsuranceCombination_Rate_Outpatient"]) == (
        "0.20", "0.30")  # 渡邉 さくら starts school in April 2026
    for p in make_patients(DEFAULT_CLINICS[1], today()).values():
        birth, combo = date.fromisoformat(p["BirthDate"]), p["HealthInsurance_Information"][0]
        if combo.get("InsuranceProvider_Number") and not combo.get("PublicInsurance_Information"):
            rate = combo["InsuranceCombination_Rate_Outpatient"]
            if is_preschool(birth, today()):
                assert rate == "0.20"
            elif age_on(birth, today()) < 70:
                assert rate == "0.30"


def test_todays_reception_list(sim):
    rows = record(call(sim, "api01rv2/acceptlstv2", {"acceptlstreq": {}}, **{"class": "03"}), "acceptlstres")
    rows = rows["Acceptlst_Information"]
    assert len(rows) == 25 and [r["Patient_Information"]["Patient_ID"] for r in rows[:5]] == [
        "00001", "00002", "00003", "00004", "00005"]
    assert all("09:00:00" <= r["Acceptance_Time"] < "12:30:00" for r in rows)
    assert [r["Acceptance_Id"] for r in rows] == [f"{n:05d}" for n in range(1, 26)]
    assert any(r.get("Account_Time") for r in rows) and not all(r.get("Account_Time") for r in rows)
    assert {r["Physician_Code"] for r in rows} == {"10001", "10002"} and rows[0]["Display_Order"]
    waiting = record(call(sim, "api01rv2/acceptlstv2", {"acceptlstreq": {}}, **{"class": "01"}), "acceptlstres")
    assert all("Account_Time" not in r for r in waiting["Acceptlst_Information"])
    assert "InsuranceCombination_Rate_Outpatient" not in rows[0]["HealthInsurance_Information"]  # not in §3b


def test_clinic_b_children_go_to_paediatrics(sim):
    rows = record(call(sim, "api01rv2/acceptlstv2", {"acceptlstreq": {}}, code=B, auth=AUTH_B, **{"class": "03"}),
                  "acceptlstres")["Acceptlst_Information"]
    for row in rows:
        child = age_on(date.fromisoformat(row["Patient_Information"]["BirthDate"]), today()) < 15
        assert (row["Department_Code"] == "09") == child


def test_past_future_and_closed_days(sim):
    def result(day):
        return record(call(sim, "api01rv2/acceptlstv2", {"acceptlstreq": {"Acceptance_Date": day.isoformat()}},
                           **{"class": "03"}), "acceptlstres")["Api_Result"]
    past = [today() - timedelta(days=n) for n in range(1, 8)]
    assert {result(d) for d in past if d.weekday() != 6} == {"00"}
    assert {result(d) for d in past if d.weekday() == 6} <= {"21"}
    assert result(today() + timedelta(days=3)) == "21" and result(date(2020, 1, 6)) == "21"


# --- wire formats ----------------------------------------------------------------------------------------

def test_xml2_is_the_default(sim):
    response = call(sim, "api01rv2/patientgetv2", fmt="xml", method="GET", id="2")
    body = response.content.decode()
    assert response.headers["Content-Type"].startswith("application/xml")
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<xmlio2><patientinfores type="record">')
    assert '<WholeName type="string">髙橋　美咲</WholeName>' in body
    assert '<HealthInsurance_Information type="array"><HealthInsurance_Information_child type="record">' in body
    assert 'type="string"></' not in body  # empty fields are left out


def test_xml2_request_body(sim):
    body = ('<data><acceptlstreq type="record"><Acceptance_Date type="string">'
            f'{today().isoformat()}</Acceptance_Date><Physician_Code type="string">10002</Physician_Code>'
            '</acceptlstreq></data>').encode()
    text = call(sim, "api01rv2/acceptlstv2", body, fmt="xml", **{"class": "03"}).content.decode()
    assert '<Api_Result type="string">00</Api_Result>' in text and "10001" not in text


def test_json_pads_fixed_tables(sim):
    doctors = record(call(sim, "api01rv2/system01lstv2", {"system01_managereq": {"Request_Number": "02"}}),
                     "physicianres")["Physician_Information"]
    assert len(doctors) == 100 and doctors[1]["WholeName"] == "田端　直子" and doctors[2] == {}
    changed = record(call(sim, "api01rv2/patientlst1v2", {"patientlst1req": {"Base_StartDate": "2000-01-01"}},
                          **{"class": "01"}), "patientlst1res")
    assert changed["Target_Patient_Count"] == "0200" and len(changed["Patient_Information"]) == 1000


def test_bad_bodies(sim):
    unreadable = call(sim, "orca11/acceptmodv2", b"<data><acceptreq>", fmt="xml", **{"class": "01"})
    assert "<Api_Result type=\"string\">98</Api_Result>" in unreadable.content.decode()
    wrong_root = record(call(sim, "orca11/acceptmodv2", {"acceptlstreq": {}}, **{"class": "01"}), "acceptres")
    assert (wrong_root["Api_Result"], wrong_root["Api_Result_Message"]) == ("97", "送信内容に誤りがあります")


def test_the_recorded_real_request_gets_the_recorded_real_answer(sim):
    """OpenDolphin's medicalmodv2 request (doctor 0001) got 14 from a real WebORCA; the simulator agrees."""
    text = call(sim, "api21/medicalmodv2", (SAMPLES / "medicalmodv2_request.xml").read_bytes(), fmt="xml",
                **{"class": "01"}).content.decode()
    assert '<medicalres type="record">' in text and '<Api_Result type="string">14</Api_Result>' in text
    assert "ドクターが存在しません" in text


# --- reception, PUSH and 中途データ ------------------------------------------------------------------------

def test_registration_warnings_errors_and_cancel(sim):
    def accept(**fields):
        return record(call(sim, "orca11/acceptmodv2", {"acceptreq": fields}), "acceptres")
    done = accept(Request_Number="01", Patient_ID="6", Department_Code="01", Physician_Code="10001",
                  Acceptance_Date=today().isoformat(), Medical_Information="01")
    assert (done["Api_Result"], done["Api_Result_Message"], done["Acceptance_Id"]) == ("K2", "受付登録終了", "00026")
    assert done["Api_Warning_Message_Information"] == [{"Api_Warning_Message": "受付時間を自動設定しました"}]
    assert done["Patient_Information"]["HealthInsurance_Information"][0]["Insurance_Combination_Number"] == "0002"
    assert accept(Request_Number="01", Patient_ID="6", Department_Code="01", Physician_Code="10002")["Api_Result"] \
        == "16"
    for fields, code in [({"Patient_ID": "6"}, "91"), ({"Request_Number": "01"}, "01"),
                         ({"Request_Number": "01", "Patient_ID": "6", "Acceptance_Date": "2026-02-30"}, "11"),
                         ({"Request_Number": "01", "Patient_ID": "6", "Department_Code": "01",
                           "Physician_Code": "10001", "HealthInsurance_Information": {
                               "Insurance_Combination_Number": "0077"}}, "23"),
                         ({"Request_Number": "02", "Patient_ID": "1", "Acceptance_Id": "00002"}, "20")]:
        assert accept(**fields)["Api_Result"] == code, fields
    cancelled = accept(Request_Number="02", Patient_ID="6", Acceptance_Id="00026")
    assert (cancelled["Api_Result"], cancelled["Api_Result_Message"]) == ("K1", "受付削除終了")
    again = accept(Request_Number="01", Patient_ID="6", Department_Code="01", Physician_Code="10001",
                   Acceptance_Time="10:00:00", Medical_Information="01")
    assert again["Acceptance_Id"] == "00027"  # a cancelled number is not given again


def test_push_events(sim):
    call(sim, "orca11/acceptmodv2", {"acceptreq": {"Request_Number": "01", "Patient_ID": "6",
                                                   "Department_Code": "01", "Physician_Code": "10001"}})
    events = call(sim, "api01rv2/pusheventgetv2", {"pusheventgetv2req": {"event": "patient_accept"}}).json()
    assert len(events) == 26 and events[-1]["data"]["body"]["Accept_Id"] == "00026"
    assert {"uuid", "id", "event", "user", "body", "time"} <= set(events[-1]["data"])
    assert events[-1]["data"]["time"].endswith("+0900")
    for req, code in [({"event": "受付"}, "0001"), ({"start_time": "2026-13-01"}, "0003"),
                      ({"start_time": "2026-01-01 25:00"}, "0004"),
                      ({"start_time": "2026-01-02", "end_time": "2026-01-01"}, "0008"),
                      ({"event": "patient_account"}, "0007")]:
        assert call(sim, "api01rv2/pusheventgetv2", {"pusheventgetv2req": req}).json()["error"]["code"] == code


def test_clerk_actions_in_orca_produce_events(sim):
    requests.post(f"{sim.url}/_sim/clinic/{A}/patients/00002", json={"WholeName": "髙橋　みさき"}, timeout=5)
    sim.account(A, today(), "00001")
    events = call(sim, "api01rv2/pusheventgetv2", {"pusheventgetv2req": {}}).json()
    assert [e["data"]["event"] for e in events[-2:]] == ["patient_information", "patient_account"]
    paid = record(call(sim, "api01rv2/acceptlstv2", {"acceptlstreq": {}}, **{"class": "02"}), "acceptlstres")
    assert "00001" in {r["Acceptance_Id"] for r in paid["Acceptlst_Information"]}
    changed = record(call(sim, "api01rv2/patientlst1v2", {"patientlst1req": {}}, **{"class": "01"}), "patientlst1res")
    assert "00002" in {p.get("Patient_ID") for p in changed["Patient_Information"]}


def test_medical_data_register_list_replace_delete(sim):
    req = {"Patient_ID": "00003", "Perform_Date": today().isoformat(), "Diagnosis_Information": {
        "Department_Code": "01", "Physician_Code": "10002",
        "Medical_Information": [{"Medical_Class": "120", "Medication_info": [{"Medication_Code": "112007410"}]}],
        "Disease_Information": [{"Disease_Code": "8833421", "Disease_StartDate": "2026-01-10"}]}}
    first = record(call(sim, "api21/medicalmodv2", {"medicalreq": req}, **{"class": "01"}), "medicalres")
    assert (first["Api_Result"], first["Api_Result_Message"], first["Reskey"]) == ("00", "登録処理終了", "Medical Info")
    listed = record(call(sim, "api01rv2/tmedicalgetv2", {"tmedicalgetreq": {}}), "tmedicalgetres")
    assert [m["Medical_Uid"] for m in listed["Tmedical_List_Information"]] == [first["Medical_Uid"]]
    replaced = record(call(sim, "api21/medicalmodv2", {"medicalreq": {**req, "Medical_Uid": first["Medical_Uid"]}},
                           **{"class": "03"}), "medicalres")
    assert replaced["Medical_Uid"] != first["Medical_Uid"]
    gone = record(call(sim, "api21/medicalmodv2", {"medicalreq": {**req, "Medical_Uid": replaced["Medical_Uid"]}},
                       **{"class": "02"}), "medicalres")
    assert gone["Api_Result"] == "00"
    assert record(call(sim, "api01rv2/tmedicalgetv2", {"tmedicalgetreq": {}}), "tmedicalgetres")["Api_Result"] == "15"
    for change, code in [({"Patient_ID": "3"}, "10"), ({"Medical_Uid": ""}, "04"),
                         ({"Diagnosis_Information": {**req["Diagnosis_Information"], "Disease_Information": [
                             {"Disease_Code": "8833421", "Disease_StartDate": "2026-02-30"}]}}, "17")]:
        request_class = "02" if "Medical_Uid" in change else "01"
        answer = record(call(sim, "api21/medicalmodv2", {"medicalreq": {**req, **change}},
                             **{"class": request_class}), "medicalres")
        assert answer["Api_Result"] == code, change


# --- names, lists, system ---------------------------------------------------------------------------------

def test_name_search(sim):
    def search(**fields):
        return record(call(sim, "api01rv2/patientlst3v2", {"patientlst3req": fields}, **{"class": "01"}),
                      "patientlst2res")
    found = search(WholeName="ｻｻｷ")  # half-width kana is read as full-width
    assert [p["Patient_ID"] for p in found["Patient_Information"]][:1] == ["00003"]
    assert found["Target_Patient_Count"] == f"{len(found['Patient_Information']):03d}"
    assert "PublicInsurance_Information" in search(WholeName="ヒノ　チヨ")["Patient_Information"][0]
    assert search(WholeName="ヤ*タロウ", Sex="1", Birth_StartDate="1958-03-02")["Target_Patient_Count"] == "001"
    for fields, code in [({"WholeName": "髙橋"}, "10"), ({"WholeName": ""}, "17"), ({"WholeName": "ンンン"}, "20"),
                         ({"WholeName": "ヤマダ", "Birth_EndDate": "2000-01-01"}, "13"),
                         ({"WholeName": "ヤマダ", "Birth_StartDate": "2000-01-02",
                           "Birth_EndDate": "2000-01-01"}, "14"),
                         ({"WholeName": "ヤマダ", "Sex": "3"}, "15")]:
        assert search(**fields)["Api_Result"] == code, fields


def test_several_patients_marks_unknown_numbers(sim):
    body = {"patientlst2req": {"Patient_ID_Information": [{"Patient_ID": "1"}, {"Patient_ID": "99999"}]}}
    answer = record(call(sim, "api01rv2/patientlst2v2", body, **{"class": "01"}), "patientlst2res")
    assert (answer["Target_Patient_Count"], answer["No_Target_Patient_Count"]) == ("001", "001")
    assert answer["Patient_Information"][1]["WholeName"] == "【患者番号がありません】"


def test_system_settings(sim):
    def system(number, root):
        return record(call(sim, "api01rv2/system01lstv2", {"system01_managereq": {"Request_Number": number}}), root)
    assert system("01", "departmentres")["Department_Information"][0] == {
        "Code": "01", "WholeName": "内科", "Name1": "内科", "Name2": "内科", "Name3": "内", "Receipt_Code": "01"}
    assert system("04", "system1001res")["Medical_Information"]["Institution_Code"] == "0123458"
    assert system("06", "medicalinfres")["Medicalinf_Information"][0]["Medical_Information_Name2"] == "診察１"
    assert system("", "system01_manageres")["Api_Result"] == "91"


# --- auth, routing, faults ----------------------------------------------------------------------------------

def test_authentication_per_clinic(sim):
    assert call(sim, "api01rv2/patientgetv2", method="GET", auth=None, id="1").status_code == 401
    assert call(sim, "api01rv2/patientgetv2", method="GET", auth=("ormaster-a", "x"), id="1").status_code == 401
    assert call(sim, "api01rv2/patientgetv2", method="GET", code=B, auth=AUTH_A, id="1").status_code == 401
    assert call(sim, "api01rv2/patientgetv2", method="GET", code=B, auth=AUTH_B, id="1").status_code == 200
    assert requests.get(f"{sim.url}/clinic/9999999999/api/api01rv2/patientgetv2", auth=AUTH_A, timeout=5
                        ).status_code == 404


def test_routing_as_on_weborca(sim):
    no_prefix = f"{sim.url}/clinic/{A}/api01rv2/acceptlstv2"
    assert requests.get(no_prefix, auth=AUTH_A, timeout=5).status_code == 404
    refused = requests.post(no_prefix, auth=AUTH_A, timeout=5)
    assert refused.status_code == 405 and refused.headers["Allow"] == "OPTIONS, GET"
    unknown = requests.post(f"{sim.base_url(A)}/api11/acceptmodv2", auth=AUTH_A, timeout=5)
    assert unknown.status_code == 404 and unknown.json() == {"message": "APIが存在しません"}
    assert requests.get(f"{sim.base_url(A)}/orca11/acceptmodv2", auth=AUTH_A, timeout=5).status_code == 405


def test_faults(sim):
    sim.set_fault("down", clinic=B)
    assert call(sim, "api01rv2/patientgetv2", method="GET", id="1").status_code == 200
    assert call(sim, "api01rv2/patientgetv2", method="GET", code=B, auth=AUTH_B, id="1").status_code == 503
    sim.set_fault("error_code", code="90", message="他端末使用中", api="acceptmodv2")
    busy = record(call(sim, "orca11/acceptmodv2", {"acceptreq": {}}), "acceptres")
    assert (busy["Api_Result"], busy["Reskey"]) == ("90", "Acceptance_Info")
    sim.set_fault("malformed", kind="fields", times=1)
    assert "WholeName" not in record(call(sim, "api01rv2/patientgetv2", method="GET", id="1"),
                                     "patientinfores")["Patient_Information"]
    assert "WholeName" in record(call(sim, "api01rv2/patientgetv2", method="GET", id="1"),
                                 "patientinfores")["Patient_Information"]
    assert requests.post(f"{sim.url}/_sim/faults", json={"mode": "explode"}, timeout=5).status_code == 400
    sim.set_fault("slow", delay=0.5)
    started = time.monotonic()
    call(sim, "api01rv2/patientgetv2", method="GET", id="1")
    assert time.monotonic() - started >= 0.5
    sim.reset()
    assert requests.get(f"{sim.url}/_sim/faults", timeout=5).json() == {"fault": None}


def test_command_line_serves_the_simulator():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "simulators.orca", "--port", str(port)], cwd=ROOT,  # noqa: S603
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/clinic/{A}/api/api01rv2/patientgetv2",
                                      params={"id": "1", "format": "json"}, auth=AUTH_A, timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, process.stderr.read().decode() if process.poll() else "no answer"
                time.sleep(0.1)
        assert answer.json()["patientinfores"]["Patient_Information"]["WholeName"] == "山田　太郎"
    finally:
        process.terminate()
        process.wait(timeout=10)
