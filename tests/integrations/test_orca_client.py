"""The ORCA client against the simulator (real HTTP, JSON and xml2) and against recorded real ORCA replies."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import requests
from requests.adapters import BaseAdapter

from app.integrations.orca import (
    OrcaApiError,
    OrcaAuthError,
    OrcaClient,
    OrcaProtocolError,
    OrcaUnavailable,
)
from app.integrations.orca.parsing import JST, read_patient
from tests.integrations.conftest import CLINIC_A, CLINIC_B, japan_today

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "orca"
FIXED = [("00001", "山田\u3000太郎", "ヤマダ\u3000タロウ", "M", date(1958, 3, 2)),
         ("00002", "髙橋\u3000美咲", "タカハシ\u3000ミサキ", "F", date(1990, 11, 20)),
         ("00003", "佐々木\u3000一郎", "ササキ\u3000イチロウ", "M", date(1945, 1, 5)),
         ("00004", "渡邉\u3000さくら", "ワタナベ\u3000サクラ", "F", date(2019, 5, 1)),
         ("00005", "齋藤\u3000健", "サイトウ\u3000ケン", "M", date(1989, 1, 7)),
         ("00006", "日野\u3000ちよ", "ヒノ\u3000チヨ", "F", date(1925, 2, 11))]


def client_for(orca, code=CLINIC_A, **kw) -> OrcaClient:
    user, password = kw.pop("auth", orca.credentials(code))
    return OrcaClient(orca.base_url(code), user, password, **kw)


# --- patients ------------------------------------------------------------------------------------------

def test_the_six_fixed_patients(client_a):
    for patient_id, name, kana, sex, birth in FIXED:
        patient = client_a.get_patient(patient_id)
        assert (patient.patient_id, patient.name, patient.kana, patient.sex, patient.birth_date) == (
            patient_id, name, kana, sex, birth)


def test_insurance_and_public_expense_are_typed(client_a):
    yamada = client_a.get_patient("1")  # ORCA reads unpadded numbers
    [insurance] = yamada.insurances
    assert (insurance.name, insurance.relation, insurance.burden_percent, insurance.burden_ratio) == (
        "協会けんぽ", "本人", 30, 30)
    assert insurance.insurer_number == "01130012" and insurance.branch == "00" and insurance.valid_to is None
    hino = client_a.get_patient("00006")
    assert hino.insurances[0].name == "後期高齢者医療" and hino.insurances[0].burden_percent == 10
    [public] = hino.public_expenses
    assert (public.houbetsu, public.name, len(public.payer_number)) == ("15", "更生", 8)
    assert [c.summary() for c in hino.combinations] == ["後期高齢者医療 本人 1割", "後期高齢者医療 本人 1割 ＋更生"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        hino.name = "x"  # type: ignore[misc]


def test_unknown_patient_is_orca_error_10(client_a):
    with pytest.raises(OrcaApiError) as info:
        client_a.get_patient("99999")
    assert info.value.code == "10" and info.value.orca_message == "患者番号に該当する患者が存在しません"
    assert "患者番号に該当する患者が存在しません" in info.value.message_ja and not info.value.retryable


def test_name_search(client_a):
    assert [p.patient_id for p in client_a.search_patients_by_name("ヤマダ　タロウ")] == ["00001"]
    assert [p.patient_id for p in client_a.search_patients_by_name("日野")] == ["00006"]
    assert client_a.search_patients_by_name("ンンン") == []  # ORCA's 20 is an empty answer


def test_name_search_with_gaiji_is_refused_by_orca(client_a):
    with pytest.raises(OrcaApiError) as info:
        client_a.search_patients_by_name("髙橋")  # はしご高 is 外字 for ORCA: search by kana
    assert info.value.code == "10"
    assert [p.name for p in client_a.search_patients_by_name("タカハシ　ミサキ")] == ["髙橋\u3000美咲"]


def test_changed_patients_and_several_at_once(client_a):
    ids = client_a.list_patients_changed(date(2000, 1, 1), japan_today())
    assert len(ids) == 200 and "00001" in ids  # ORCA's {} padding up to 1000 is dropped
    patients = client_a.get_patients(ids + ["99999"])  # two calls of ≤ 100; the unknown number is left out
    assert len(patients) == 200 and {p.patient_id for p in patients} == set(ids)
    assert client_a.list_patients_changed(date(2000, 1, 1), date(2000, 1, 2)) == []


# --- reception ---------------------------------------------------------------------------------------------

def test_todays_list_starts_with_the_first_five_fixed_patients(client_a):
    receptions = client_a.list_receptions(japan_today())
    assert [r.patient_id for r in receptions[:5]] == [f[0] for f in FIXED[:5]]
    assert [r.reception_id for r in receptions[:5]] == ["00001", "00002", "00003", "00004", "00005"]
    assert 20 <= len(receptions) <= 30 and all(r.accepted_at.hour < 12 for r in receptions[:5])
    assert all(r.accepted_at.utcoffset() == timedelta(hours=9) for r in receptions)
    assert {r.status for r in receptions} == {"waiting", "paid"}
    assert receptions[0].physician_name == "上野\u3000誠" and receptions[0].department_name == "内科"
    assert receptions[0].insurance_summary == "協会けんぽ 本人"  # acceptlstv2 carries no 負担割合
    paid = client_a.list_receptions(japan_today(), which="paid")
    assert paid and all(r.is_paid and r.paid_at for r in paid)


def test_past_days_have_visits_and_an_empty_day_is_an_empty_list(client_a):
    today = japan_today()
    days = [today - timedelta(days=n) for n in range(1, 8)]
    assert any(client_a.list_receptions(d) for d in days if d.weekday() != 6)
    assert client_a.list_receptions(date(2020, 1, 5)) == []  # ORCA answers 21, not 00


def test_registration_is_listed_and_announced(client_a):
    at = datetime.now(JST).replace(microsecond=0)
    registered = client_a.register_reception("00006", "01", "10002", at)
    assert registered.patient_id == "00006" and registered.reception_id == "00026"
    assert registered.accepted_at == at and registered.insurance_combination
    listed = {r.reception_id: r for r in client_a.list_receptions(at.date())}
    assert listed[registered.reception_id].physician_name == "田端\u3000直子"
    [event] = [e for e in client_a.fetch_push_events("patient_accept") if e.body["Accept_Id"] == "00026"]
    assert (event.mode, event.patient_id, event.user) == ("add", "00006", "ormaster-a")


def test_cancel_removes_the_reception_and_announces_it(client_a):
    today = japan_today()
    client_a.cancel_reception("00005", "00005", today)
    assert "00005" not in {r.reception_id for r in client_a.list_receptions(today)}
    assert any(e.mode == "delete" and e.body["Accept_Id"] == "00005" for e in client_a.fetch_push_events())
    with pytest.raises(OrcaApiError) as info:
        client_a.cancel_reception("00005", "00005", today)
    assert info.value.code == "17"


@pytest.mark.parametrize("args,code", [(("00001", "01", "10001"), "16"), (("00006", "01", "99999"), "14"),
                                       (("00006", "77", "10001"), "13"), (("99999", "01", "10001"), "10")])
def test_registration_errors_carry_orcas_code(client_a, args, code):
    with pytest.raises(OrcaApiError) as info:
        client_a.register_reception(*args, at=datetime.now(JST))
    assert info.value.code == code and info.value.api == "acceptmodv2" and not info.value.retryable


def test_push_events_by_period(client_a):
    client_a.register_reception("00006", "01", "10001", datetime.now(JST))
    assert client_a.fetch_push_events(since=datetime.now(JST) - timedelta(minutes=5))
    assert client_a.fetch_push_events("no_such_event") == []  # 0007 is an empty answer
    with pytest.raises(OrcaApiError) as info:
        client_a.fetch_push_events(since=datetime.now(JST), until=datetime.now(JST) - timedelta(days=1))
    assert info.value.code == "0008"


# --- system settings and medical data ------------------------------------------------------------------------

def test_departments_doctors_and_institution(client_a, orca):
    assert client_a.list_departments() == [{"code": "01", "name": "内科"}]
    assert [d["code"] for d in client_a.list_physicians()] == ["10001", "10002"]
    assert client_a.get_institution().institution_code == CLINIC_A
    clinic_b = client_for(orca, CLINIC_B)
    assert clinic_b.get_institution().name == "みなと内科・小児科"
    assert [d["name"] for d in clinic_b.list_departments()] == ["内科", "小児科"]


def test_medical_data_is_sent_kept_and_announced(client_a, orca):
    payload = {"Patient_ID": "00001", "Perform_Date": japan_today().isoformat(), "Medical_Push": "Yes",
               "Diagnosis_Information": {
                   "Department_Code": "01", "Physician_Code": "10001",
                   "HealthInsurance_Information": {"Insurance_Combination_Number": "0001"},
                   "Medical_Information": [
                       {"Medical_Class": "120", "Medical_Class_Number": "1",
                        "Medication_info": [{"Medication_Code": "112007410", "Medication_Number": "1"}]},
                       {"Medical_Class": "210", "Medical_Class_Number": "7",
                        "Medication_info": [{"Medication_Code": "M001", "Medication_Number": "1"}]}]}}
    result = client_a.send_medical_data(payload)
    assert result.result_code == "00" and result.message == "登録処理終了" and len(result.medical_uid) == 36
    assert result.warnings == ("M01 点数マスタに登録がありません M001",)  # ORCA drops input codes
    kept = requests.get(f"{orca.url}/_sim/clinic/{CLINIC_A}/medical", timeout=5).json()
    assert [m["Medical_Uid"] for m in kept] == [result.medical_uid]
    assert any(e.event == "receive_medicalreq" for e in client_a.fetch_push_events())
    deleted = client_a.send_medical_data({**payload, "Medical_Uid": result.medical_uid}, request_class="02")
    assert deleted.medical_uid == result.medical_uid


def test_medical_data_for_an_unknown_doctor_is_refused(client_a):
    with pytest.raises(OrcaApiError) as info:
        client_a.send_medical_data({"Patient_ID": "00001", "Diagnosis_Information": {
            "Department_Code": "01", "Physician_Code": "0001", "Medical_Information": []}})
    assert info.value.code == "14" and "ドクターが存在しません" in info.value.message_ja


# --- authentication, isolation, faults --------------------------------------------------------------------

def test_wrong_password_is_an_auth_error(orca):
    with pytest.raises(OrcaAuthError) as info:
        client_for(orca, auth=("ormaster-a", "wrong")).get_patient("1")
    assert "HTTP 401" in info.value.message_ja and not info.value.retryable


def test_clinic_a_credentials_do_not_open_clinic_b(orca):
    with pytest.raises(OrcaAuthError):
        client_for(orca, CLINIC_B, auth=orca.credentials(CLINIC_A)).get_patient("1")
    assert client_for(orca, CLINIC_B).get_patient("1").birth_date == date(1972, 8, 15)  # B's own 山田 太郎
    assert client_for(orca, CLINIC_A).get_patient("1").birth_date == date(1958, 3, 2)


def test_orca_down_is_unavailable(orca, client_a):
    orca.set_fault("down")
    with pytest.raises(OrcaUnavailable) as info:
        client_a.list_receptions(japan_today())
    assert "HTTP 503" in info.value.message_ja and info.value.retryable


def test_fault_scoped_to_one_api_and_one_call(orca, client_a):
    orca.set_fault("down", clinic=CLINIC_A, api="acceptlstv2", times=1)
    assert client_a.get_patient("1").patient_id == "00001"
    with pytest.raises(OrcaUnavailable):
        client_a.list_receptions(japan_today())
    assert client_a.list_receptions(japan_today())  # the fault cleared itself


def test_slow_orca_times_out(orca):
    orca.set_fault("slow", delay=1.0)
    with pytest.raises(OrcaUnavailable) as info:
        client_for(orca, timeout=0.3).get_patient("1")
    assert "タイムアウト" in info.value.message_ja and info.value.code == "timeout"
    orca.clear_faults()


def test_unreachable_orca_is_unavailable():
    with pytest.raises(OrcaUnavailable) as info:
        OrcaClient("http://127.0.0.1:9/api", "u", "p", timeout=1).get_patient("1")
    assert "接続できません" in info.value.message_ja


def test_wrong_base_url_is_a_setting_problem(orca):
    client = OrcaClient(f"{orca.url}/clinic/{CLINIC_A}", *orca.credentials(CLINIC_A))  # /api missing
    with pytest.raises(OrcaUnavailable) as info:
        client.get_patient("1")
    assert "/api" in info.value.message_ja and not info.value.retryable


def test_busy_orca_is_a_retryable_api_error(orca, client_a):
    orca.set_fault("error_code", code="90", message="他端末使用中", api="acceptmodv2")
    with pytest.raises(OrcaApiError) as info:
        client_a.register_reception("00006", "01", "10001", datetime.now(JST))
    assert info.value.code == "90" and info.value.retryable and "他端末使用中" in info.value.message_ja


@pytest.mark.parametrize("kind,needle", [
    ("fields", "氏名（WholeName）がありません"), ("date", "BirthDate=1958-02-30"), ("insurance", "未対応の保険種別"),
    ("chars", "U+FFFD"), ("shape", "形"), ("syntax", "読み取れません"), ("encoding", "UTF-8"),
])
def test_malformed_replies_are_protocol_errors_naming_the_problem(orca, client_a, kind, needle):
    orca.set_fault("malformed", kind=kind)
    with pytest.raises(OrcaProtocolError) as info:
        client_a.get_patient("1")
    assert needle in info.value.message_ja and not info.value.retryable


def test_a_malformed_reception_list_is_refused_whole(orca, client_a):
    orca.set_fault("malformed", kind="date", api="acceptlstv2")
    with pytest.raises(OrcaProtocolError) as info:
        client_a.list_receptions(japan_today())
    assert "Acceptance_Time=25:61:00" in info.value.message_ja


@pytest.mark.parametrize("change,needle", [
    ({"BirthDate": "1958-02-30"}, "BirthDate=1958-02-30"), ({"BirthDate": "2999-01-01"}, "未来"),
    ({"Sex": "9"}, "Sex=9"), ({"WholeName": ""}, "WholeName"), ({"WholeName_inKana": "ヤマダ\x07"}, "U+0007"),
    ({"Patient_ID": "０１"}, "Patient_ID"),
    ({"HealthInsurance_Information": [{"Insurance_Combination_Number": "0001",
                                       "InsuranceProvider_Number": "01130013"}]}, "検証番号"),
    ({"HealthInsurance_Information": [{"Insurance_Combination_Number": "0001",
                                       "InsuranceProvider_Number": "98130012"}]}, "未対応の保険種別"),
    ({"HealthInsurance_Information": [{"Insurance_Combination_Number": "0001",
                                       "InsuranceProvider_Number": "01130012", "Certificate_StartDate": "2024/4/1"}]},
     "Certificate_StartDate=2024/4/1"),
])
def test_a_bad_patient_is_never_half_parsed(change, needle):
    record = {"Patient_ID": "00001", "WholeName": "山田　太郎", "WholeName_inKana": "ヤマダ　タロウ",
              "BirthDate": "1958-03-02", "Sex": "1", **change}
    with pytest.raises(OrcaProtocolError) as info:
        read_patient(record)
    assert needle in info.value.message_ja


# --- recorded replies of a real ORCA (tests/samples/orca, see PROVENANCE.md) -----------------------------------

class Recorded(BaseAdapter):
    """A transport that answers every request with one recorded reply."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.body = (SAMPLES / name).read_bytes()

    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code, response._content, response.url = 200, self.body, request.url
        response.headers["Content-Type"] = "application/xml"
        return response

    def close(self) -> None:
        pass


def recorded(name: str) -> OrcaClient:
    session = requests.Session()
    session.mount("https://", Recorded(name))
    return OrcaClient("https://weborca.example/api", "trial", "weborcatrial", session=session)


def test_recorded_patient_reply_parses():
    patient = recorded("patientgetv2_00001_response.xml").get_patient("00001")
    assert (patient.name, patient.kana, patient.sex, patient.birth_date) == (
        "事例\u3000一", "ジレイ\u3000イチ", "M", date(2015, 5, 5))
    [insurance] = patient.insurances  # the 自費 combination is not an insurance
    assert (insurance.name, insurance.insurer_number, insurance.relation, insurance.burden_percent) == (
        "国民健康保険", "138057", "家族", 30)
    assert [(c.number, c.self_pay) for c in patient.combinations] == [("0005", False), ("0009", True)]


def test_recorded_reception_list_parses():
    [reception] = recorded("acceptlstv2_response_ok.xml").list_receptions(date(2025, 11, 22))
    assert (reception.reception_id, reception.patient_id, reception.physician_name) == (
        "00001", "00001", "テスト\u3000医師")
    assert reception.insurance_summary == "国民健康保険 本人" and reception.status == "waiting"


def test_recorded_reception_list_of_another_day_is_refused():
    with pytest.raises(OrcaProtocolError):
        recorded("acceptlstv2_response_ok.xml").list_receptions(date(2025, 11, 21))


@pytest.mark.parametrize("sample,call,code", [
    ("acceptlstv2_response_err13.xml", lambda c: c.list_receptions(date(2025, 11, 20), physician_code="0001"), "13"),
    ("acceptmodv2_response_err14.xml",
     lambda c: c.register_reception("00001", "01", "00000", datetime(2025, 11, 21, 10, 30, tzinfo=JST)), "14"),
    ("medicalmodv2_response_err14.xml", lambda c: c.send_medical_data({"Patient_ID": "00001"}), "14"),
    ("system01dailyv2_response_err91.xml",
     lambda c: c._ask("POST", "api01rv2/system01dailyv2", {}, "system01_dailyreq", {}, ("system01_dailyres",)),
     "91"),
])
def test_recorded_error_replies_become_api_errors(sample, call, code):
    with pytest.raises(OrcaApiError) as info:
        call(recorded(sample))
    assert info.value.code == code and info.value.orca_message in info.value.message_ja


def test_a_reply_under_the_wrong_record_name_is_refused():
    with pytest.raises(OrcaProtocolError) as info:
        recorded("acceptlstv2_response_ok.xml").get_patient("1")
    assert "acceptlstres" in info.value.message_ja
