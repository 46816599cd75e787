"""Prescriptions to print, built from real rows of the shipped drug master (app/prescriptions/data/drugs.csv)."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from app.printing.prescription import (
    ClinicPrint,
    DoctorPrint,
    InsurancePrint,
    LinePrint,
    PatientPrint,
    PrescriptionPrint,
    PublicExpensePrint,
    RpPrint,
)

DRUGS_CSV = Path(__file__).resolve().parents[2] / "app" / "prescriptions" / "data" / "drugs.csv"
#: JAMI usage codes shipped in app/prescriptions/data/usage.csv.
BREAKFAST, THREE_TIMES = "1011000400000000", "1013044400000000"


@cache
def drug_rows() -> dict[str, dict[str, str]]:
    """The shipped drug master by receipt code."""
    with DRUGS_CSV.open(encoding="utf-8", newline="") as handle:
        return {row["receipt_code"]: row for row in csv.DictReader(handle)}


def line(receipt_code: str, dose: str, *, generic: bool = False, **flags: Any) -> LinePrint:
    """A drug line from the master: the product, or its 一般名 (code and 【般】 name) when `generic`."""
    row = drug_rows()[receipt_code]
    name = row["generic_name"] if generic else row["name"]
    return LinePrint(name, dose, row["unit"], receipt_code=row["receipt_code"], yj_code=row["yj_code"],
                     generic_code=row["generic_code"], by_generic_name=generic, **flags)


def standard_rps() -> tuple[RpPrint, ...]:
    """Four Rp: 一般名処方 and 変更不可 (内服 28 days), a brand without generic name, 頓用, and a 外用 with 患者希望."""
    return (
        RpPrint(1, "１日１回朝食後", 28, (line("620007817", "1", generic=True),
                                        line("620256101", "1", no_substitution=True)),
                usage_code=BREAKFAST, times_per_day=1),
        RpPrint(1, "１日３回朝昼夕食後", 14, (line("620452801", "3"),), usage_code=THREE_TIMES, times_per_day=3),
        RpPrint(2, "疼痛時", 10, (line("620000033", "1"),)),
        RpPrint(3, "１日１回　腰に貼付", 1, (line("620007812", "14", patient_request=True),)),
    )


def make_prescription_print(**overrides: Any) -> PrescriptionPrint:
    """山田 太郎 of the demo clinic with the standard four Rp; any field can be overridden."""
    values: dict[str, Any] = {
        "clinic": ClinicPrint("かみかるて内科クリニック", "1310123458", address="東京都千代田区神田小川町１－２－３",
                              postal_code="101-0052", phone="03-1234-5678", department_code="01",
                              department_name="内科"),
        "doctor": DoctorPrint("神軽 一郎", "カミカル イチロウ"),
        "patient": PatientPrint("山田　太郎", "ヤマダ　タロウ", "M", date(1958, 3, 2), patient_code="00001"),
        "insurance": InsurancePrint("06132013", "１２３４５", "６７８９", "01", "本人", burden_percent=30,
                                    insurance_kind="1"),
        "public_expenses": (PublicExpensePrint("54136015", "1234566"),),
        "issued_on": date(2026, 3, 13),
        "rps": standard_rps(),
        "remarks": "",
    }
    values.update(overrides)
    return PrescriptionPrint(**values)


def with_patient(doc: PrescriptionPrint, **changes: Any) -> PrescriptionPrint:
    """The same prescription for a patient with some fields changed."""
    return replace(doc, patient=replace(doc.patient, **changes))


def long_rps(count: int) -> tuple[RpPrint, ...]:
    """`count` Rp of one real drug each (内服, 14 days), drugs taken in master order."""
    rows = [r for r in drug_rows().values() if r["dosage_form"] == "1" and r["generic_code"]][:count]
    return tuple(RpPrint(1, "１日３回朝昼夕食後", 14, (line(r["receipt_code"], "3", generic=index % 2 == 0),),
                         usage_code=THREE_TIMES, times_per_day=3) for index, r in enumerate(rows))
