"""ORCA's 薬剤併用禁忌チェック (contraindicationcheckv2) in the simulator and the client, over real HTTP, in both
formats: ORCA's own data answers; what ORCA refuses is refused."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from app.integrations.orca import OrcaApiError, OrcaClient

A = "1310123458"
ROSUVASTATIN = ("622537301", "ロスバスタチン錠２．５ｍｇ「杏林」")
BEZAFIBRATE = ("620339201", "ベザフィブラートＳＲ錠２００ｍｇ「サワイ」")
LOXONIN = ("620098801", "ロキソニン錠６０ｍｇ")


@pytest.fixture
def sim(orca):
    """The session's simulator, fresh (conftest)."""
    return orca


@pytest.mark.parametrize("mode", ["json", "xml"])
def test_a_pair_in_orcas_data_is_found_from_both_sides_with_its_symptom(sim, mode):
    client = OrcaClient(sim.base_url(A), *sim.credentials(A), mode=mode)
    answer = client.check_contraindications("00001", [ROSUVASTATIN, BEZAFIBRATE, LOXONIN], date(2026, 12, 7))
    assert answer.perform_month == "2026-12" and answer.unchecked == ()
    assert [(i.medication_code, i.contra_code, i.interact_code) for i in answer.interactions] == [
        ("622537301", "620339201", "S000188"), ("620339201", "622537301", "S000324")]
    assert answer.interactions[0].contra_name == BEZAFIBRATE[1]
    assert answer.interactions[0].symptom.startswith("急激な腎機能悪化を伴う横紋筋融解症")
    assert "\n【投与前提条件】" in answer.interactions[1].detail  # ORCA's multi-line text kept


def test_one_drug_alone_has_nothing_and_a_code_that_is_no_drug_is_reported(sim):
    client = OrcaClient(sim.base_url(A), *sim.credentials(A))
    answer = client.check_contraindications("00001", [ROSUVASTATIN, ("113001810", "初診料")], date(2026, 12, 7))
    assert answer.interactions == ()
    assert answer.unchecked == (("113001810", "初診料", "点数マスタに登録がありません（薬剤ではありません）"),)


def test_what_orca_refuses(sim):
    client = OrcaClient(sim.base_url(A), *sim.credentials(A))
    with pytest.raises(OrcaApiError) as unknown:
        client.check_contraindications("99999", [ROSUVASTATIN], date(2026, 12, 7))
    assert unknown.value.code == "10" and "患者番号に該当する患者が存在しません" in unknown.value.message_ja
    with pytest.raises(ValueError):
        client.check_contraindications("00001", [], date(2026, 12, 7))
    url = f"{sim.base_url(A)}/api01rv2/contraindicationcheckv2"
    for body, code in (({"Request_Number": "01", "Patient_ID": "00001"}, "20"),
                       ({"Request_Number": "01", "Patient_ID": ""}, "01"),
                       ({"Request_Number": "01", "Patient_ID": "00001", "Perform_Month": "2026-13",
                         "Medical_Information": [{"Medication_Code": ROSUVASTATIN[0]}]}, "11"),
                       ({"Request_Number": "01", "Patient_ID": "00001",
                         "Medical_Information": [{"Medication_Code": ROSUVASTATIN[0]}] * 31}, "21")):
        reply = requests.post(url, params={"format": "json"}, json={"contraindication_checkreq": body},
                              auth=sim.credentials(A), timeout=5).json()["contraindication_checkres"]
        assert reply["Api_Result"] == code


def test_a_drug_in_orcas_record_of_the_patient_counts(sim):
    """ORCA compares with the patient's medication it holds (here the 中途データ sent for billing)."""
    day = date.today().isoformat()
    body = {"Patient_ID": "00003", "Perform_Date": day, "Diagnosis_Information": {
        "Department_Code": "01", "Physician_Code": "10002",
        "Medical_Information": [{"Medical_Class": "212", "Medical_Class_Number": "28", "Medication_info": [
            {"Medication_Code": ROSUVASTATIN[0], "Medication_Name": ROSUVASTATIN[1], "Medication_Number": "1"}]}]}}
    sent = requests.post(f"{sim.base_url(A)}/api21/medicalmodv2", params={"format": "json", "class": "01"},
                         json={"medicalreq": body}, auth=sim.credentials(A), timeout=5).json()["medicalres"]
    assert sent["Api_Result"] == "00"
    client = OrcaClient(sim.base_url(A), *sim.credentials(A))
    answer = client.check_contraindications("00003", [BEZAFIBRATE], date.today())
    assert [(i.medication_code, i.contra_code, i.contra_name) for i in answer.interactions] == [
        (BEZAFIBRATE[0], ROSUVASTATIN[0], ROSUVASTATIN[1])]
    assert client.check_contraindications("00001", [BEZAFIBRATE], date.today()).interactions == ()  # another patient
