"""Tests done in the clinic (院内検査): 尿定性 read off a dipstick, rapid antigen tests, CRP and blood glucose measured
at the desk. A nurse or doctor records them; each becomes a lab result marked in-house (no lab message, no order), so
it stands in the result table and the trend beside the lab company's, is copied into the note like them, and is
registered with the 電子カルテ情報共有サービス like them (the listeners of app.labs.import_writing).

JLAC10 codes come from the published sets we carry (docs/standards/lab-results.md): the JP-CLINS core lab set
(JP_CLINS_CodeSystem_JLAC10_CoreLabo 1.5.0) and the 特定健診 item codes (eCheckupReport). An item neither set codes
(尿ケトン体, 尿ビリルビン, 尿ウロビリノーゲン, 尿pH, the rapid antigen tests) has no code here: it is kept and shown,
and not sent to the service (which takes coded results only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.core.audit import Actor
from app.core.dates import refuse_future_date
from app.core.errors import ValidationError
from app.core.forms import to_number
from app.core.timeutil import japan_today
from app.core.versioning import record_first_version
from app.db import utcnow
from app.labs.import_writing import tell_results_written
from app.labs.models import LabResult
from app.patients.models import Patient

URINE_SCALE = ("−", "±", "1+", "2+", "3+")
UROBILINOGEN_SCALE = ("±", "1+", "2+", "3+")  # normal urine reads ± (正常), never −
RAPID_SCALE = ("陰性", "陽性")
NO_CODE = "JLAC10未設定（採用マスターにコードがありません）"
#: How a value is typed (full-width signs, + for 1+ as a dipstick chart writes it) → how it is kept.
_ALIASES = {"-": "−", "−": "−", "－": "−", "ー": "−", "+-": "±", "±": "±", "+": "1+", "1+": "1+", "++": "2+",
            "2+": "2+", "+++": "3+", "3+": "3+", "陰性": "陰性", "陽性": "陽性", "(-)": "−", "(+)": "1+"}
_FOLD = str.maketrans("＋－（）１２３", "+-()123")


@dataclass(frozen=True)
class InHouseItem:
    """One test the clinic does itself: our code, name, group, JLAC10 (empty when no published set codes it), and
    either the values it may read (`choices`) or the range a number must lie in."""

    code: str
    name: str
    group: str
    jlac10: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    #: Values shown flagged (A): a positive rapid test, a urine reading above trace.
    abnormal: tuple[str, ...] = ()
    note: str = ""

    @property
    def is_numeric(self) -> bool:
        """Whether the item reads a number rather than one of `choices`."""
        return not self.choices


_URINE_ABNORMAL = ("1+", "2+", "3+")
ITEMS: tuple[InHouseItem, ...] = (
    # JP-CLINS core set, U-TP / U-Glu / U-Bld, 化学発色法 (read by eye off the strip).
    InHouseItem("IH-U-TP", "尿蛋白（定性）", "尿定性", "1A990000000190153", choices=URINE_SCALE,
                abnormal=_URINE_ABNORMAL),
    InHouseItem("IH-U-GLU", "尿糖（定性）", "尿定性", "1A990000000190154", choices=URINE_SCALE,
                abnormal=_URINE_ABNORMAL),
    InHouseItem("IH-U-BLD", "尿潜血（定性）", "尿定性", "1A990000000190159", choices=URINE_SCALE,
                abnormal=_URINE_ABNORMAL),
    InHouseItem("IH-U-KET", "尿ケトン体（定性）", "尿定性", "", choices=URINE_SCALE, abnormal=_URINE_ABNORMAL,
                note=NO_CODE),
    InHouseItem("IH-U-BIL", "尿ビリルビン（定性）", "尿定性", "", choices=URINE_SCALE, abnormal=_URINE_ABNORMAL,
                note=NO_CODE),
    InHouseItem("IH-U-URO", "尿ウロビリノーゲン（定性）", "尿定性", "", choices=UROBILINOGEN_SCALE,
                abnormal=("2+", "3+"), note=NO_CODE),
    InHouseItem("IH-U-PH", "尿pH", "尿定性", "", low=4.5, high=9.0, note=NO_CODE),
    # 特定健診 item code 尿比重 (eCheckupReport SpecialCheckup_Observations_CS).
    InHouseItem("IH-U-SG", "尿比重", "尿定性", "1A030000000190301", low=1.000, high=1.060),
    InHouseItem("IH-FLU-A", "インフルエンザA抗原（迅速）", "迅速検査", "", choices=RAPID_SCALE, abnormal=("陽性",),
                note=NO_CODE),
    InHouseItem("IH-FLU-B", "インフルエンザB抗原（迅速）", "迅速検査", "", choices=RAPID_SCALE, abnormal=("陽性",),
                note=NO_CODE),
    InHouseItem("IH-COV-AG", "SARS-CoV-2抗原（迅速）", "迅速検査", "", choices=RAPID_SCALE, abnormal=("陽性",),
                note=NO_CODE),
    InHouseItem("IH-GAS", "A群β溶連菌抗原（迅速）", "迅速検査", "", choices=RAPID_SCALE, abnormal=("陽性",),
                note=NO_CODE),
    # JP-CLINS core set: CRP 全血 ラテックス凝集比濁法, グルコース 毛細管血 電流測定 (a desk analyser, a meter).
    InHouseItem("IH-CRP", "CRP", "血液", "5C070000001806201", unit="mg/dL", low=0.0, high=40.0),
    InHouseItem("IH-BG", "血糖", "血液", "3D010000002126201", unit="mg/dL", low=10.0, high=600.0),
)
BY_CODE = {item.code: item for item in ITEMS}
GROUPS = ("尿定性", "迅速検査", "血液")


def clean_value(item: InHouseItem, raw: Any) -> tuple[str, float | None] | None:
    """The value as kept and as a number (None when left blank). ValidationError naming the item when the test
    cannot read it (尿蛋白 "5+", glucose 5000, NaN)."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None
    if item.choices:
        value = _ALIASES.get(text.translate(_FOLD).replace(" ", ""))
        if value not in item.choices:
            raise ValidationError(f"{item.name}は「{'・'.join(item.choices)}」のいずれかで入力してください"
                                  f"（入力: {text[:10]}）", field=item.code)
        return value, None
    try:
        number = to_number(text)
    except ValueError:
        raise ValidationError(f"{item.name}は数値で入力してください（入力: {text[:10]}）", field=item.code) from None
    if not (item.low <= number <= item.high):
        raise ValidationError(f"{item.name}は{item.low:g}〜{item.high:g}{item.unit}の範囲で入力してください"
                              f"（測定できる範囲を超えています: {text[:10]}）", field=item.code)
    return f"{number:g}", number


def record_in_house_results(session: Session, actor: Actor, patient: Patient, values: dict[str, Any], *,
                            measured_on: date | None = None, comment: str = "") -> list[LabResult]:
    """Record the values given (item code → typed value; blanks skipped) as in-house results of the patient, all or
    none: one bad value refuses the lot. The listeners (sharing) hear of them in the same transaction."""
    measured_on = measured_on or japan_today()
    refuse_future_date(measured_on, "record", "検査日", field="measured_on")
    unknown = [code for code in values if code not in BY_CODE]
    if unknown:
        raise ValidationError(f"院内検査にない項目です: {'、'.join(sorted(unknown))[:60]}", field="_form")
    cleaned = [(item, found) for item in ITEMS if (found := clean_value(item, values.get(item.code))) is not None]
    if not cleaned:
        raise ValidationError("結果を1項目以上入力してください", field="_form")
    now = utcnow()
    collected_at = now if measured_on == japan_today() else None
    written: list[LabResult] = []
    for item, (value, number) in cleaned:
        result = LabResult(clinic_id=patient.clinic_id, patient_id=patient.id, is_in_house=True, lab_code=item.code,
                           jlac10=item.jlac10, name=item.name, value_type="NM" if item.is_numeric else "ST",
                           value=value, numeric_value=number, unit=item.unit,
                           flag="A" if value in item.abnormal else "", result_status="F", comment=comment[:500],
                           collected_at=collected_at, collected_on=measured_on)
        written.append(record_first_version(session, actor, result, action="lab.in_house_result",
                                            extra={"item": item.code, "value": value}))
    tell_results_written(session, patient.clinic_id, [r.id for r in written], [])
    return written


def item_rows() -> list[tuple[str, list[InHouseItem]]]:
    """The items by group, in the order the entry form shows them."""
    return [(group, [item for item in ITEMS if item.group == group]) for group in GROUPS]
