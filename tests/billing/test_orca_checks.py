"""The ORCA simulator checks 中途データ and the trial calculation as ORCA does, from the same master the app ships:
an unknown 診療行為 is dropped with M01 (the line is reported, not lost silently), acsimulatev2 refuses an unknown
code, an exclusive pair and a closed (会計済) visit with Api_Result 50, and otherwise computes points and the
patient's share by the combination's rate."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from app.core.timeutil import japan_today
from app.integrations.orca import OrcaApiError, client_from_settings
from tests.billing.helpers import CODE


@pytest.fixture
def client(orca):
    return client_from_settings({"base_url": orca.base_url(CODE), "user": "ormaster-a", "password": "orca-demo-a"})


def _lines(*codes):
    return [{"Medical_Class": "130", "Medical_Class_Name": "医学管理", "Medical_Class_Number": "1",
             "Medication_info": [{"Medication_Code": code, "Medication_Name": "x", "Medication_Number": "1"}
                                 for code in codes]}]


def test_trial_calculation_from_the_master(client, orca):
    result = client.simulate_bill("00001", japan_today(), "01", "0001", _lines("113001810", "112011010"))
    assert result.total_points == 225 + 52
    assert result.patient_money == 830  # 277点 × 10円 × 3割 = 831円 → 10円単位に四捨五入
    assert dict(result.details)["医学管理等"] == 277


@pytest.mark.parametrize(("codes", "words"), [
    (("113999999",), "113999999　点数マスタに登録がありません"),
    (("113003610", "112011010"), "同時に算定できません"),
])
def test_trial_calculation_refuses_what_orca_refuses(client, codes, words):
    with pytest.raises(OrcaApiError) as caught:
        client.simulate_bill("00001", japan_today(), "01", "0001", _lines(*codes))
    assert caught.value.code == "50" and words in caught.value.message_ja


def test_unknown_procedure_is_dropped_with_m01(client):
    body = {"InOut": "O", "Patient_ID": "00001", "Perform_Date": japan_today().isoformat(),
            "Diagnosis_Information": {"Department_Code": "01", "Physician_Code": "10001",
                                      "Medical_Information": _lines("113001810", "113999999")}}
    result = client.send_medical_data(body)
    assert any(w.startswith("M01") and "113999999" in w for w in result.warnings)


def test_trial_calculation_refuses_a_closed_visit(client, orca):
    [reception] = [r for r in client.list_receptions(japan_today()) if r.patient_id == "00001"]
    orca.account(CODE, japan_today(), reception.reception_id)
    with pytest.raises(OrcaApiError) as caught:
        client.simulate_bill("00001", japan_today(), reception.department_code, "0001", _lines("113001810"))
    assert caught.value.code == "50" and "会計済" in caught.value.message_ja


def test_under_a_public_expense_the_share_is_the_public_expense_part(client):
    """Billed to a 保険組合せ with a 公費 (e.g. 更生医療, 1割, 月額上限 5,000円), ORCA's reply carries the patient's
    share as 公費一部負担金 (Pi_Smoney) and no insurance part; without one, no Pi_Smoney and the insurance part."""
    patient = client.get_patient("00006")  # 日野 ちよ: 後期高齢 1割 and 更生医療
    combination = next(c for c in patient.combinations if c.public_expenses)
    result = client.simulate_bill(patient.patient_id, japan_today(), "01", combination.number,
                                  _lines("113001810", "112011010"))
    share = (Decimal(277) * combination.burden_percent / 100).to_integral_value(ROUND_HALF_UP) * 10  # 10円単位
    expected = min(share, combination.public_expenses[0].monthly_cap_yen or share)
    assert result.public_money == result.patient_money == expected and result.insured_money == 0
    plain = client.simulate_bill("00001", japan_today(), "01", "0001", _lines("113001810", "112011010"))
    assert plain.public_money == 0 and plain.insured_money == plain.patient_money == 830
