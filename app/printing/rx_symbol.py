"""The records of a PrescriptionPrint, and their two encodings: the JAHIS 院外処方箋2次元シンボル text
(記録条件規約 Ver.1.10) of the paper form, and the 処方箋CSV of the 電子処方箋管理サービス.

One source of the records, two encodings (docs/standards/eprescription.md §2.1):
- the symbol: version record `JAHIS10`, CR LF line ends, Shift_JIS bytes, 用法コード種別 2 (JAMI 用法コード);
- the service's CSV: first line `SJ1`, LF line ends only (a CR is refused with EPSB0052E), 用法コード種別 3
  (電子処方箋用法マスタ — the same 16-character codes).

Layout (docs/standards/prescription.md): the version record, then one record a
line — record number and fields separated by half-width commas — clinic, doctor,
patient, insurance and prescription-wide records (1–82) in ascending number, then per Rp its 101–181
records followed by each drug's 201–281 records. An omitted field is empty; no quotes; a half-width
comma inside a value becomes a full-width one; no spaces around a value.

Character set: Shift_JIS (JIS X 0208 and JIS X 0201). Before encoding, each value is normalised:
- half-width katakana become full-width in kanji fields, and kana names become half-width as the
  records ask (ｶﾅ, one half-width space between family and given name);
- characters that Windows maps to other code points than JIS (－ ～ ∥ ￠ ￡ ￢ —) take their JIS
  code points (the bytes are the ones CP932 would write);
- a character outside JIS X 0208 is folded to its everyday form (髙→高, 﨑→崎, 𠮷→吉; the spec says
  to normalise first) and reported;
- in names and addresses a character still outside JIS becomes ■ (81A1, the spec's 外字 mark) and is
  reported; in clinical text (drug names, units, usage, remarks) it is refused with SymbolTextError,
  because a ■ in a dose or usage would change what the pharmacy reads.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import jaconv

from app.core.errors import ValidationError
from app.core.jp import first_unencodable_char, normalize_variants, strip_control_chars
from app.printing.rx_model import LinePrint, PrescriptionPrint, RpPrint

VERSION_RECORD = "JAHIS10"
LINE_END = "\r\n"
#: The service's CSV: its first line and its line end (LF only).
CSV_VERSION_RECORD, CSV_LINE_END = "SJ1", "\n"
#: 用法コード種別 of record 111: none, JAMI 用法コード (symbol), 電子処方箋用法マスタ (service).
USAGE_UNCODED, USAGE_JAMI, USAGE_EPRESCRIPTION_MASTER = "1", "2", "3"
#: The bytes of the symbol: Shift_JIS restricted to JIS X 0201 / 0208 (not CP932's NEC and IBM extensions).
ENCODING = "shift_jis"
GAIJI_MARK = "■"
#: Windows (CP932) code points for characters JIS X 0208 maps elsewhere in Unicode: same JIS character.
_JIS_CODE_POINTS = str.maketrans({"\uff0d": "\u2212", "\uff5e": "\u301c", "\u2225": "\u2016", "\uffe0": "\u00a2",
                                  "\uffe1": "\u00a3", "\uffe2": "\u00ac", "\u2014": "\u2015", "\u00a5": "\uffe5"})
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")
_SPACES = re.compile(r"[ \u3000]+")
#: 薬品コード種別 of record 201.
CODE_KIND_RECEIPT, CODE_KIND_YJ, CODE_KIND_GENERIC = "2", "4", "7"
#: 薬品補足区分 of record 281.
SUPPLEMENT_NO_SUBSTITUTION = ("3", "後発品変更不可")
SUPPLEMENT_PATIENT_REQUEST = ("8", "先発医薬品患者希望")


class SymbolTextError(ValidationError):
    """A value holds a character the Shift_JIS 2D symbol cannot carry and that has no agreed replacement."""

    code = "jis_unencodable"


@dataclass(frozen=True)
class Replacement:
    """One character the symbol carries differently from the printed form, and where."""

    field: str
    original: str
    replacement: str

    def message(self) -> str:
        """Japanese note for the user, e.g. 「患者氏名」の「髙」は2次元シンボルでは「高」になります."""
        return f"「{self.field}」の「{self.original}」は2次元シンボルでは「{self.replacement}」になります"


@dataclass(frozen=True)
class JahisSymbol:
    """The symbol text and the characters that were replaced on the way."""

    text: str
    replacements: tuple[Replacement, ...]

    @property
    def data(self) -> bytes:
        """The bytes the QR symbols carry."""
        return self.text.encode(ENCODING)


def symbol_text_problem(label: str, value: str) -> str | None:
    """Why clinical text (用法, 備考 …) cannot go into the 2D symbol, in Japanese; None when it can.

    Order entry asks this before a prescription is issued, so the doctor rewrites the character then instead of
    meeting a print that cannot be made afterwards.
    """
    try:
        _Records().text(label, value)
    except SymbolTextError as exc:
        return str(exc)
    return None


def _encodable(char: str) -> bool:
    return first_unencodable_char(char, ENCODING) is None


def _describe(char: str) -> str:
    return f"「{char}」(U+{ord(char):04X})"


class _Records:
    """Collects records and the replacements made while normalising their values."""

    def __init__(self, usage_code_kind: str = USAGE_JAMI) -> None:
        self.records: list[tuple[str, ...]] = []
        self.replacements: list[Replacement] = []
        self.usage_code_kind = usage_code_kind

    def add(self, number: int, *fields: str) -> None:
        self.records.append((str(number), *fields))

    def joined(self, version_record: str, line_end: str) -> str:
        """The records as text: the version record first, every line ended by `line_end`."""
        return "".join(line + line_end for line in [version_record, *(",".join(r) for r in self.records)])

    def _clean(self, value: str) -> str:
        value = unicodedata.normalize("NFC", strip_control_chars(_LINE_BREAKS.sub(" ", value or "")))
        value = jaconv.h2z(value, kana=True, ascii=False, digit=False)
        return value.translate(_JIS_CODE_POINTS).replace(",", "，").strip(" \u3000")

    def _fit(self, label: str, value: str, gaiji_allowed: bool) -> str:
        out = []
        for char in value:
            if _encodable(char):
                out.append(char)
                continue
            folded = normalize_variants(char)
            if folded != char and all(_encodable(c) for c in folded):
                replacement = folded
            elif gaiji_allowed:
                replacement = GAIJI_MARK
            else:
                raise SymbolTextError(f"「{label}」の{_describe(char)}は処方箋の2次元シンボル（Shift_JIS）で送れない"
                                      "文字です。別の文字に書き換えてください", field=label)
            self.replacements.append(Replacement(label, char, replacement))
            out.append(replacement)
        return "".join(out)

    def name(self, label: str, value: str) -> str:
        """A name or address: 外字 folded to the everyday form, else ■ (reported)."""
        return self._fit(label, self._clean(value), gaiji_allowed=True)

    def text(self, label: str, value: str) -> str:
        """Clinical text: folded where a variant has an everyday form, else refused."""
        return self._fit(label, self._clean(value), gaiji_allowed=False)

    def plain(self, label: str, value: str) -> str:
        """Phone numbers and codes: half-width ASCII, no commas."""
        value = jaconv.z2h(value or "", kana=False, ascii=True, digit=True).replace(",", "")
        return self._fit(label, self._clean(value), gaiji_allowed=False)

    def kana(self, label: str, value: str) -> str:
        """A kana name as the records ask: half-width katakana, one half-width space between the parts."""
        value = jaconv.hira2kata(self._clean(value))
        value = _SPACES.sub(" ", jaconv.z2h(value, kana=True, ascii=False, digit=False)).strip()
        return self._fit(label, value, gaiji_allowed=False)



def _ymd(day: date) -> str:
    return day.strftime("%Y%m%d")


def _dose(value: Decimal) -> str:
    return format(value, "f")


def _postal(code: str) -> str:
    digits = re.sub(r"\D", "", jaconv.z2h(code or "", digit=True, ascii=True))
    return f"{digits[:3]}-{digits[3:]}" if len(digits) == 7 else ""


def _clinic_and_doctor(records: _Records, doc: PrescriptionPrint) -> None:
    clinic, doctor = doc.clinic, doc.doctor
    records.add(1, clinic.score_table_code, clinic.facility_code, clinic.prefecture_code,
                records.name("医療機関名称", clinic.name))
    if clinic.address or clinic.postal_code:
        records.add(2, _postal(clinic.postal_code), records.name("医療機関所在地", clinic.address))
    if clinic.phone or clinic.fax:
        records.add(3, records.plain("電話番号", clinic.phone), records.plain("FAX番号", clinic.fax), "")
    if clinic.department_name:
        kind = "2" if clinic.department_code else "1"
        records.add(4, kind, records.plain("診療科コード", clinic.department_code),
                    records.name("診療科名", clinic.department_name))
    records.add(5, "", records.kana("医師カナ氏名", doctor.kana), records.name("医師漢字氏名", doctor.name))


def _patient_and_insurance(records: _Records, doc: PrescriptionPrint) -> None:
    patient, insurance = doc.patient, doc.insurance
    records.add(11, records.plain("患者コード", patient.patient_code), records.name("患者氏名", patient.name),
                records.kana("患者カナ氏名", patient.kana))
    records.add(12, "1" if patient.sex == "M" else "2")
    records.add(13, _ymd(patient.birth_date))
    if insurance and insurance.burden_class:
        records.add(14, insurance.burden_class)
    if insurance and insurance.insurance_kind:
        records.add(21, insurance.insurance_kind)
    records.add(22, insurance.insurer_number if insurance else "")
    if insurance:
        symbol = jaconv.h2z(insurance.symbol, kana=True, ascii=True, digit=True)
        number = jaconv.h2z(insurance.number, kana=True, ascii=True, digit=True)
        records.add(23, records.name("被保険者証記号", symbol), records.name("被保険者証番号", number),
                    "1" if insurance.is_insured_person else "2", insurance.branch.zfill(2) if insurance.branch else "")
        if insurance.burden_percent is not None:
            records.add(24, str(insurance.burden_percent), str(100 - insurance.burden_percent))
    for number, public in zip((27, 28), doc.public_expenses, strict=False):
        records.add(number, public.payer_number, public.recipient_number)


def _prescription_wide(records: _Records, doc: PrescriptionPrint) -> None:
    records.add(51, _ymd(doc.issued_on))
    if not doc.has_default_validity:
        records.add(52, _ymd(doc.last_valid_day))
    if doc.has_narcotic:
        records.add(61, records.plain("麻薬施用者免許証番号", doc.doctor.narcotic_licence_number),
                    records.name("麻薬施用患者住所", doc.patient.address),
                    records.plain("患者電話番号", doc.patient.phone))
    if doc.refill_count:
        records.add(64, str(doc.refill_count))
    remarks = [line for line in (doc.remarks or "").splitlines() if line.strip()]
    for seq, line in enumerate(remarks, start=1):
        records.add(81, str(seq), "", records.text("備考", line))
    if doc.exchange_number:
        records.add(82, "1", doc.exchange_number)


def _drug_code(line: LinePrint) -> tuple[str, str]:
    if line.by_generic_name:
        return CODE_KIND_GENERIC, line.generic_code
    if line.receipt_code:
        return CODE_KIND_RECEIPT, line.receipt_code
    return CODE_KIND_YJ, line.yj_code


def _rp_records(records: _Records, number: int, rp: RpPrint) -> None:
    rp_no = str(number)
    records.add(101, rp_no, str(rp.form), records.text("剤形名称", rp.form_name) if rp.form == 9 else "",
                str(rp.quantity))
    records.add(111, rp_no, records.usage_code_kind if rp.usage_code else USAGE_UNCODED, rp.usage_code,
                records.text("用法", rp.usage_text),
                str(rp.times_per_day) if rp.times_per_day else "")
    for seq, line in enumerate(rp.lines, start=1):
        kind, code = _drug_code(line)
        records.add(201, rp_no, str(seq), "1", kind, code, records.text("薬品名称", line.name), _dose(line.dose), "1",
                    records.text("単位", line.unit))
        supplements = [s for flag, s in ((line.no_substitution, SUPPLEMENT_NO_SUBSTITUTION),
                                         (line.patient_request, SUPPLEMENT_PATIENT_REQUEST)) if flag]
        for sub_seq, (sub_kind, sub_text) in enumerate(supplements, start=1):
            records.add(281, rp_no, str(seq), str(sub_seq), sub_kind, sub_text, "")


def _records(doc: PrescriptionPrint, usage_code_kind: str) -> _Records:
    records = _Records(usage_code_kind)
    _clinic_and_doctor(records, doc)
    _patient_and_insurance(records, doc)
    _prescription_wide(records, doc)
    for number, rp in enumerate(doc.rps, start=1):
        _rp_records(records, number, rp)
    return records


def build_symbol(doc: PrescriptionPrint) -> JahisSymbol:
    """The JAHIS symbol text of a prescription and the characters replaced to fit Shift_JIS."""
    records = _records(doc, USAGE_JAMI)
    return JahisSymbol(records.joined(VERSION_RECORD, LINE_END), tuple(records.replacements))


#: The records the service's 重複投薬等チェック takes (剤形, 用法, 薬品; eprescription.md §2.2).
CHECK_RECORDS = frozenset({"101", "111", "201"})


def build_service_csv(doc: PrescriptionPrint) -> str:
    """The 処方箋CSV of the 電子処方箋管理サービス: the same records as the symbol, `SJ1` first, LF line ends."""
    return _records(doc, USAGE_EPRESCRIPTION_MASTER).joined(CSV_VERSION_RECORD, CSV_LINE_END)


def build_check_csv(rps: tuple[RpPrint, ...]) -> str:
    """The 重複投薬等チェック's CSV: only the Rp records 101, 111 and 201 of a draft (eprescription.md §2.2)."""
    records = _Records(USAGE_EPRESCRIPTION_MASTER)
    for number, rp in enumerate(rps, start=1):
        _rp_records(records, number, rp)
    records.records = [r for r in records.records if r[0] in CHECK_RECORDS]
    return records.joined(CSV_VERSION_RECORD, CSV_LINE_END)
