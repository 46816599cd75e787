"""Bad input is refused with a Japanese message when the values to print are built."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from app.core.errors import ValidationError
from app.printing.prescription import ClinicPrint, InsurancePrint, PatientPrint, PublicExpensePrint, RpPrint
from tests.printing.rx_factory import line, make_prescription_print


@pytest.mark.parametrize("dose", ["0", "-1", "abc", "", "1234567", "0.123456", "nan", "inf"])
def test_impossible_doses_are_refused(dose):
    with pytest.raises(ValidationError) as caught:
        line("620000033", dose)
    assert caught.value.field == "dose" and caught.value.message


def test_doses_are_kept_as_decimals():
    assert line("620000033", 1.5).dose == Decimal("1.5") and line("620000033", "2.00").dose == Decimal("2")


def test_generic_name_prescribing_needs_the_generic_code():
    mucosta = line("620452801", "3")  # ムコスタ has no 一般名コード in the master
    with pytest.raises(ValidationError, match="一般名コード"):
        replace(mucosta, by_generic_name=True)


def test_no_substitution_and_patient_request_exclude_each_other_and_the_generic_name():
    with pytest.raises(ValidationError, match="同時に"):
        line("620256101", "1", no_substitution=True, patient_request=True)
    with pytest.raises(ValidationError, match="一般名処方"):
        line("620007817", "1", generic=True, no_substitution=True)


def test_a_line_needs_a_drug_code():
    with pytest.raises(ValidationError, match="薬品コード"):
        replace(line("620000033", "1"), receipt_code="", yj_code="")


@pytest.mark.parametrize("quantity", [0, -3, 1000])
def test_absurd_days_are_refused(quantity):
    with pytest.raises(ValidationError, match="日数"):
        RpPrint(1, "１日３回朝昼夕食後", quantity, (line("620452801", "3"),))


def test_an_rp_needs_lines_usage_and_a_known_form():
    with pytest.raises(ValidationError, match="薬品のない"):
        RpPrint(1, "１日１回朝食後", 7, ())
    with pytest.raises(ValidationError, match="用法"):
        RpPrint(1, "  ", 7, (line("620452801", "3"),))
    with pytest.raises(ValidationError, match="剤形"):
        RpPrint(7, "１日１回朝食後", 7, (line("620452801", "3"),))


@pytest.mark.parametrize("code", ["131012345", "13101234567", "481012345X", "0010123458"])
def test_institution_codes_are_ten_digits_with_a_prefecture(code):
    with pytest.raises(ValidationError):
        ClinicPrint("かみかるて内科クリニック", code)


def test_clinic_code_parts():
    clinic = ClinicPrint("かみかるて内科クリニック", "１３１０１２３４５８")  # full-width digits are accepted
    assert (clinic.prefecture_code, clinic.score_table_code, clinic.facility_code) == ("13", "1", "0123458")


def test_insurance_and_public_expense_numbers():
    with pytest.raises(ValidationError, match="保険者番号"):
        InsurancePrint("1234567")
    assert InsurancePrint("138057").insurer_number == "138057"  # 国保: 6 digits
    with pytest.raises(ValidationError, match="区分"):
        InsurancePrint("06132013", relation="父")
    with pytest.raises(ValidationError, match="公費負担者番号"):
        PublicExpensePrint("5413601")
    with pytest.raises(ValidationError, match="受給者番号"):
        PublicExpensePrint("54136015", "12345")


def test_at_most_two_public_expenses_fit_the_form():
    public = PublicExpensePrint("54136015", "1234566")
    with pytest.raises(ValidationError, match="2つまで"):
        make_prescription_print(public_expenses=(public, public, public))


def test_sex_must_be_printable_on_the_form():
    with pytest.raises(ValidationError, match="男・女"):
        PatientPrint("山田　太郎", "ヤマダ　タロウ", "U", date(1958, 3, 2))


def test_validity_before_the_issue_date_and_odd_refill_counts_are_refused():
    with pytest.raises(ValidationError, match="使用期間"):
        make_prescription_print(valid_until=date(2026, 3, 12))
    with pytest.raises(ValidationError, match="リフィル"):
        make_prescription_print(refill_count=5)


def test_default_validity_is_four_days_including_the_issue_date():
    doc = make_prescription_print()
    assert doc.last_valid_day == date(2026, 3, 16) and doc.has_default_validity
    assert not make_prescription_print(valid_until=date(2026, 3, 20)).has_default_validity
