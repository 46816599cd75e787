"""The ORCA client against the simulator (real HTTP) and against real ORCA replies (tests/samples/orca)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.integrations.orca import (
    OrcaApiError,
    OrcaAuthError,
    OrcaClient,
    OrcaProtocolError,
    OrcaUnavailable,
)
from app.integrations.orca.models import parse_patient, parse_reception
from app.integrations.orca.xml2 import parse_xml2

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "orca"
CLINIC_A = "1310123458"


def client_for(orca, code=CLINIC_A, user="ormaster-a", password="orca-demo-a", **kw) -> OrcaClient:
    return OrcaClient(orca.base_url(code), user, password, **kw)


def test_fixed_demo_patient_is_read_with_insurance(orca):
    patient = client_for(orca).get_patient("00002")
    assert (patient.name, patient.kana, patient.sex, patient.birth_date) == (
        "髙橋\u3000美咲", "タカハシ\u3000ミサキ", "F", date(1990, 11, 20))
    insurance = patient.insurances[0]
    assert insurance.name == "組合健保" and insurance.relation == "本人" and insurance.burden_percent == 30
    assert len(insurance.insurer_number) == 8


def test_unpadded_patient_number_is_accepted(orca):
    assert client_for(orca).get_patient("3").patient_id == "00003"


def test_unknown_patient_is_orca_error_10(orca):
    with pytest.raises(OrcaApiError) as info:
        client_for(orca).get_patient("99999")
    assert info.value.code == "10" and "該当する患者が存在しません" in info.value.message_ja


def test_todays_reception_list_holds_the_first_five_fixed_patients(orca):
    receptions = client_for(orca).list_receptions(date.today())
    ids = [r.patient_id for r in receptions]
    assert ids[:5] == ["00001", "00002", "00003", "00004", "00005"]
    assert all(r.accepted_at.tzinfo is not None for r in receptions)
    assert receptions[2].insurance_summary == "後期高齢者医療 本人 1割"


def test_an_empty_day_is_an_empty_list_not_an_error(orca):
    assert client_for(orca).list_receptions(date(2020, 1, 5)) == []  # a Sunday: code 21 from ORCA


def test_registration_appears_in_the_list_and_as_a_push_event(orca):
    client = client_for(orca)
    registered = client.register_reception("00006", "01", "10002")
    assert registered.patient_id == "00006" and registered.reception_id
    listed = {r.reception_id: r for r in client.list_receptions(registered.accepted_at.date())}
    assert listed[registered.reception_id].physician_name == "田端\u3000直子"
    events = client.fetch_push_events("patient_accept")
    assert any(e.body.get("Accept_Id") == registered.reception_id and e.body["Patient_Mode"] == "add"
               for e in events)


def test_double_registration_is_refused_with_code_16(orca):
    client = client_for(orca)
    client.register_reception("00006", "01", "10001")
    with pytest.raises(OrcaApiError) as info:
        client.register_reception("00006", "01", "10001")
    assert info.value.code == "16"


def test_unknown_doctor_is_refused_with_code_14(orca):
    with pytest.raises(OrcaApiError) as info:
        client_for(orca).register_reception("00006", "01", "99999")
    assert info.value.code == "14" and "ドクターが存在しません" in info.value.message_ja


def test_cancel_removes_the_reception(orca):
    client = client_for(orca)
    registered = client.register_reception("00006", "01", "10001")
    client.cancel_reception("00006", registered.reception_id, registered.accepted_at.date())
    assert registered.reception_id not in {r.reception_id for r in client.list_receptions(date.today())}


def test_name_search_and_changed_patients(orca):
    client = client_for(orca)
    assert [p.patient_id for p in client.search_patients_by_name("ヤマダ　タロウ")] == ["00001"]
    assert len(client.list_patients_changed(date(2020, 1, 1))) == 200  # ORCA's padding {} is dropped


def test_departments_and_doctors(orca):
    client = client_for(orca)
    assert client.list_departments() == [{"code": "01", "name": "内科"}]
    assert [d["code"] for d in client.list_physicians()] == ["10001", "10002"]


def test_wrong_password_is_an_auth_error(orca):
    with pytest.raises(OrcaAuthError):
        client_for(orca, password="wrong").get_patient("1")


def test_clinic_a_credentials_do_not_open_clinic_b(orca):
    with pytest.raises(OrcaAuthError):
        client_for(orca, code="1310156789").get_patient("1")


def test_orca_down_is_unavailable(orca):
    orca.set_fault("down")
    with pytest.raises(OrcaUnavailable):
        client_for(orca).list_receptions(date.today())


def test_orca_slow_times_out(orca):
    orca.set_fault("slow", delay=1.5)
    with pytest.raises(OrcaUnavailable) as info:
        client_for(orca, timeout=0.5).get_patient("1")
    assert "タイムアウト" in info.value.message_ja
    orca.clear_faults()


def test_unreachable_orca_is_unavailable():
    with pytest.raises(OrcaUnavailable):
        OrcaClient("http://127.0.0.1:9/api", "u", "p", timeout=1).get_patient("1")


def test_malformed_reply_is_a_protocol_error_naming_the_field(orca):
    orca.set_fault("malformed")
    with pytest.raises(OrcaProtocolError) as info:
        client_for(orca).get_patient("1")
    assert "WholeName" in info.value.message_ja


def test_busy_orca_error_is_retryable(orca):
    orca.set_fault("error_code", code="90", message="他端末使用中")
    with pytest.raises(OrcaApiError) as info:
        client_for(orca).list_receptions(date.today())
    assert info.value.code == "90" and info.value.retryable


# --- real ORCA replies (xml2) ------------------------------------------------------------------------

def test_real_patientget_reply_parses():
    _name, record = parse_xml2((SAMPLES / "patientgetv2_00001_response.xml").read_bytes())
    patient = parse_patient(record["Patient_Information"])
    assert patient.patient_id == "00001" and patient.insurances[0].name == "国民健康保険"


def test_real_acceptlst_reply_parses():
    _name, record = parse_xml2((SAMPLES / "acceptlstv2_response_ok.xml").read_bytes())
    [reception] = [parse_reception(r, date.fromisoformat(record["Acceptance_Date"]))
                   for r in record["Acceptlst_Information"]]
    assert reception.department_name == "内科" and reception.reception_id == "00001"


@pytest.mark.parametrize("sample,code,message", [
    ("acceptlstv2_response_err13.xml", "13", "ドクターが存在しません"),
    ("acceptmodv2_response_err14.xml", "14", "ドクターが存在しません"),
    ("medicalmodv2_response_err14.xml", "14", "ドクターが存在しません"),
    ("system01dailyv2_response_err91.xml", "91", "リクエスト番号がありません"),
])
def test_real_error_replies_become_orca_api_errors(sample, code, message):
    client = OrcaClient("http://unused", "u", "p")
    with pytest.raises(OrcaApiError) as info:
        client._record(parse_xml2((SAMPLES / sample).read_bytes()), "any", "any")
    assert info.value.code == code and message in info.value.message_ja


@pytest.mark.parametrize("change,needle", [
    ({"BirthDate": "1958-02-30"}, "BirthDate"),
    ({"Sex": "9"}, "Sex"),
    ({"WholeName": ""}, "WholeName"),
    ({"WholeName": "山田\ufffd"}, "読み取れない文字"),
])
def test_bad_patient_fields_are_refused_whole(change, needle):
    record = {"Patient_ID": "00001", "WholeName": "山田　太郎", "WholeName_inKana": "ヤマダ　タロウ",
              "BirthDate": "1958-03-02", "Sex": "1", **change}
    with pytest.raises(OrcaProtocolError) as info:
        parse_patient(record)
    assert needle in info.value.message_ja


def test_unknown_insurance_type_is_refused():
    record = {"Patient_ID": "00001", "WholeName": "山田　太郎", "WholeName_inKana": "ヤマダ　タロウ",
              "BirthDate": "1958-03-02", "Sex": "1",
              "HealthInsurance_Information": [{"InsuranceProvider_Number": "99130019"}]}
    with pytest.raises(OrcaProtocolError) as info:
        parse_patient(record)
    assert "未対応の保険種別" in info.value.message_ja


def test_insurer_number_with_a_wrong_check_digit_is_refused():
    record = {"Patient_ID": "00001", "WholeName": "山田　太郎", "WholeName_inKana": "ヤマダ　タロウ",
              "BirthDate": "1958-03-02", "Sex": "1",
              "HealthInsurance_Information": [{"InsuranceProvider_Number": "01320028"}]}
    with pytest.raises(OrcaProtocolError) as info:
        parse_patient(record)
    assert "検証番号" in info.value.message_ja
