"""Simulator of the オンライン資格確認等システム's history service (薬剤・診療・特定健診情報) behind the 資格確認端末.

It answers the request files the terminal simulator carries (`handlers()`: YZKsiquc01 薬剤(+診療), TKKsiquc01
特定健診) from what it holds per insured person, in the families of the real files (MeTrMonthInf / CzDiInf /
ShPrInf, DiDateInf, DrugInf, MeTrInf; SpecificHealthCheckupInfo), and refuses as the real one must: no consent or
an expired one (the card-reader consent lasts 24 hours), a person it does not know, a request it cannot read.
What it gives is bounded as the real service's is: receipts of three years (appearing about 1.5 months after the
visit), e-prescription data of 100 days (at once), checkups of five years. The terminal adds slow and lost replies
(its /_sim/faults); `fault` here makes the reply itself wrong (another patient, an unknown code system). The PDF
kinds (FileCategory 1, and 3 for 薬剤＋診療) answer a PDF of the same records (pdf.py).
Layouts: docs/standards/onshi.md §5."""

from __future__ import annotations

import re
import threading
from datetime import date, datetime, timedelta, timezone
from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405 — the requests come from our own client under test

from simulators.onshi.pdf import checkup_lines, history_pdf, medication_lines

JST = timezone(timedelta(hours=9), "JST")
MEDICATION_CODE, CHECKUP_CODE = "YZKsiquc01", "TKKsiquc01"
DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding=[\"']([A-Za-z0-9_.\-]+)[\"'][^>]*\?>")
CODECS = {"utf-8": "utf-8", "shift_jis": "cp932"}
RECEIPT_LAG = timedelta(days=45)
RECEIPT_YEARS, EPRESCRIPTION_DAYS, CHECKUP_YEARS = 3, 100, 5
#: The three families of a 薬剤 reply: root path, month tag prefix set, date and drug paths.
FAMILIES = {
    "receipt": ("MeTrMonthInf", ("DiOrg", "MeTrDiHCd", "MeTrDiHNm", "MeTrMonth", "PrlsHCd", "PrlsHNm", "PrIsOrg",
                                 "InOut"), ("DiDateInfs", "DiDateInf", "DiDate", "PrDate"),
                ("DrugInfs", "DrugInf", "MeTrIdCl")),
    "dispensed": ("CzDiInf/CzDiMonthInf", ("CzDiOrg", "CzMeTrDiHCd", "CzMeTrDiHNm", "CzDiMonth", "CzPrlsHCd",
                                           "CzPrlsHNm", "CzPrIsOrg", "CzPrCl"),
                  ("CzDiDateInfs", "CzDiDateInf", "CzDiDate", "CzPrDate"), ("CzDrugInfs", "CzDrugInf", "CzUsageCl")),
    "eprescription": ("ShPrInf/ShPrMonthInf", ("ShPrOrg", "ShMeTrDiHCd", "ShMeTrDiHNm", "ShPrMonth", "ShPrHCd",
                                               "ShPrHNm", "ShPrIsOrg", "ShPrCl"),
                      ("ShPrDateInfs", "ShPrDateInf", "ShPrDate", None), ("ShDrugInfs", "ShDrugInf", "ShUsageCl")),
}


def now_jst() -> datetime:
    """The simulator's clock."""
    return datetime.now(JST)


class OnshiState:
    """Insured persons by (保険者番号, 記号, 番号, 枝番): who they are, their consent per kind (until when) and
    their history; the encoding replies are written in; a fault that makes the next replies wrong."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everyone."""
        self.people: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.reply_encoding = "UTF-8"
        self.fault: str | None = None
        self.requests: list[dict[str, str]] = []

    def add_person(self, identity: tuple[str, str, str, str], *, name: str, kana: str, birth: date, sex: str,
                   consent_until: dict[str, datetime] | None = None, dispensings: list[dict[str, Any]] | None = None,
                   procedures: list[dict[str, Any]] | None = None, checkups: list[dict[str, Any]] | None = None
                   ) -> None:
        """Hold a person: sex 1/2; dispensings {source, day, institution_code, institution_name, prescriber_code,
        prescriber_name, own, drug_code, drug_name, ingredient, quantity, unit, usage, instruction, times};
        procedures {day, institution_code, institution_name, code, name, quantity, times, unit};
        checkups {day, items: [{code, name, data_type, value, unit, value_name}]}."""
        with self.lock:
            self.people[identity] = {"name": name, "kana": kana, "birth": birth, "sex": sex,
                                     "consent": dict(consent_until or {}), "dispensings": list(dispensings or []),
                                     "procedures": list(procedures or []), "checkups": list(checkups or [])}

    def set_consent(self, identity: tuple[str, str, str, str], kind: str, until: datetime | None) -> None:
        """The consent of one kind (drug, diagnosis, checkup) valid until a moment; None withdraws it."""
        with self.lock:
            self.people[identity]["consent"][kind] = until


def _text(node: ET.Element, path: str) -> str:
    found = node.find(path)
    return (found.text or "").strip() if found is not None else ""


def _read_request(body: bytes) -> ET.Element:
    match = DECLARATION.match(body)
    codec = CODECS.get(match.group(1).decode("ascii").lower() if match else "utf-8")
    if codec is None or b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ValueError("文字コードまたは形式が不正です")
    return ET.fromstring(body[match.end() if match else 0:].decode(codec))  # noqa: S314 — DTD refused above


def _sub(parent: ET.Element, tag: str, value: Any = None) -> ET.Element:
    node = ET.SubElement(parent, tag)
    if value is not None:
        node.text = str(value)
    return node


def _reply(encoding: str, request_id: str, result: str, message: str = "") -> tuple[ET.Element, ET.Element,
                                                                                     ET.Element]:
    root = ET.Element("XmlMsg")
    header = _sub(root, "MessageHeader")
    _sub(header, "ProcessExecutionTime", f"{now_jst():%Y%m%d%H%M%S}")
    _sub(header, "ArbitraryFileIdentifier", request_id)
    _sub(header, "CharacterCodeIdentifier", "1" if encoding == "Shift_JIS" else "0")
    _sub(header, "ResultCode", result)
    _sub(header, "MessageContents", message)
    return root, header, _sub(root, "MessageBody")


def _file(root: ET.Element, encoding: str, body: str | None = None) -> bytes:
    """The reply file; `body`: the MessageBody already written (it takes the place of the empty one in `root`)."""
    text = ET.tostring(root, encoding="unicode")
    if body is not None:
        text = text.replace("<MessageBody />", body, 1)
    return (f'<?xml version="1.0" encoding="{encoding}" standalone="no"?>'.encode("ascii")
            + text.encode("cp932" if encoding == "Shift_JIS" else "utf-8"))


def _month(value: str) -> date | None:
    return date(int(value[:4]), int(value[4:6]), 1) if len(value) == 6 and value.isdigit() else None


def _visible(item: dict[str, Any], today: date, first: date, last: date) -> bool:
    day = item["day"]
    if not first <= date(day.year, day.month, 1) <= last:
        return False
    if item["source"] == "receipt":
        return date(today.year - RECEIPT_YEARS, today.month, 1) <= day <= today - RECEIPT_LAG
    return today - timedelta(days=EPRESCRIPTION_DAYS) <= day <= today


def _groups(family: str, person: dict[str, Any], today: date, first: date, last: date,
            with_procedures: bool) -> dict[tuple[str, str, str], dict[str, Any]]:
    """What one family holds per (month, institution, prescriber): its drugs and — receipts — its procedures."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for item in person["dispensings"]:
        if item["source"] == family and _visible(item, today, first, last):
            key = (f"{item['day']:%Y%m}", item["institution_code"], item["prescriber_code"])
            groups.setdefault(key, {"head": item, "drugs": [], "acts": []})["drugs"].append(item)
    if family == "receipt" and with_procedures:
        for act in person["procedures"]:
            if _visible(act | {"source": "receipt"}, today, first, last):
                key = (f"{act['day']:%Y%m}", act["institution_code"], act["institution_code"])
                head = act | {"prescriber_code": act["institution_code"], "prescriber_name": act["institution_name"],
                              "own": False}
                groups.setdefault(key, {"head": head, "drugs": [], "acts": []})["acts"].append(act)
    return groups


def _medication_body(body: ET.Element, person: dict[str, Any], today: date, first: date, last: date,
                     with_procedures: bool) -> None:
    for family, (path, month_tags, date_tags, drug_tags) in FAMILIES.items():
        holder = _sub(body, path.split("/")[0]) if "/" in path else body
        for (month, _, _), group in sorted(_groups(family, person, today, first, last, with_procedures).items(),
                                           reverse=True):
            head = group["head"]
            node = _sub(holder, path.split("/")[-1])
            values = ("1", head["institution_code"], head["institution_name"], month, head["prescriber_code"],
                      head["prescriber_name"], "1" if head["own"] else "2", "2")
            for tag, value in zip(month_tags, values, strict=True):
                _sub(node, tag, value)
            dates = _sub(node, date_tags[0])
            for day in sorted({i["day"] for i in group["drugs"] + group["acts"]}, reverse=True):
                day_node = _sub(dates, date_tags[1])
                _sub(day_node, date_tags[2], f"{day:%Y%m%d}")
                if date_tags[3]:
                    _sub(day_node, date_tags[3], f"{day:%Y%m%d}")
                drugs = _sub(day_node, drug_tags[0])
                for item in (i for i in group["drugs"] if i["day"] == day):
                    drug = _sub(drugs, drug_tags[1])
                    for tag, key in (("DrugC", "drug_code"), ("DrugN", "drug_name"), ("IngreN", "ingredient"),
                                     ("Qua1", "quantity"), ("Unit", "unit"), ("UsageN", "usage"),
                                     ("SpInst", "instruction"), ("Times", "times")):
                        _sub(drug, tag, item.get(key, ""))
                    _sub(drug, drug_tags[2], "21")
                acts = [a for a in group["acts"] if a["day"] == day]
                if acts:
                    holder_acts = _sub(day_node, "MeTrInfs")
                    for act in acts:
                        act_node = _sub(holder_acts, "MeTrInf")
                        for tag, key in (("SinInfCd", "code"), ("SinInfN", "name"), ("MeTrIdCl", None),
                                         ("Qua1", "quantity"), ("Times", "times"), ("Unit", "unit")):
                            _sub(act_node, tag, act.get(key, "") if key else "11")


def _pdf(person: dict[str, Any], kind: str, message: ET.Element, today: date, *, with_procedures: bool) -> bytes:
    """The PDF kind of a reply: the same records the XML kind would carry, bounded the same way."""
    if kind == "checkup":
        since = date(today.year - CHECKUP_YEARS, today.month, today.day if today.day < 29 else 28)
        return history_pdf("特定健診情報", person, checkup_lines(c for c in person["checkups"] if c["day"] >= since),
                           today)
    first = _month(_text(message, "StartDate")) or date(today.year - RECEIPT_YEARS, today.month, 1)
    last = _month(_text(message, "EndDate")) or date(today.year, today.month, 1)
    lines = medication_lines(person, (i for i in person["dispensings"] if _visible(i, today, first, last)))
    if with_procedures:
        lines += [f"{a['day']:%Y-%m-%d}  {a['institution_name']}  診療行為 {a['code']} {a['name']}"
                  for a in person["procedures"] if _visible(a | {"source": "receipt"}, today, first, last)]
    return history_pdf("薬剤情報" + ("・診療情報" if with_procedures else ""), person, lines, today)


def handlers(state: OnshiState) -> dict[str, Any]:
    """The terminal's handlers (業務コード → handler) answering from `state`."""

    def answer(clinic: str, request_id: str, body: bytes, kind: str) -> tuple[str, bytes]:
        encoding = state.reply_encoding
        try:
            request = _read_request(body)
        except (ValueError, ET.ParseError):
            root, _, _ = _reply(encoding, request_id, "2", "要求ファイルを読み取れません")
            return ".xml", _file(root, encoding)
        header = request.find("MessageHeader")
        message = request.find("MessageBody")
        identity = tuple(_text(header, t) if header is not None else "" for t in (
            "InsurerNumber", "InsuranceCardSymbol", "InsuredPersonIdentificationNumber", "BranchNumber"))
        category = _text(message, "FileCategory") if message is not None else ""
        with state.lock:
            state.requests.append({"clinic": clinic, "request_id": request_id, "kind": kind, "category": category})
            person = state.people.get(identity)  # type: ignore[arg-type]
            fault = state.fault
        now = now_jst()
        refusal = None
        wanted = ["checkup"] if kind == "checkup" else (["drug", "diagnosis"] if category in ("3", "4") else ["drug"])
        if header is None or message is None or _text(header, "MedicalInstitutionCode") != clinic:
            refusal = "要求の形式または医療機関コードが不正です"
        elif person is None:
            refusal = "該当する被保険者がいません"
        elif category not in (("1", "2") if kind == "checkup" else ("1", "2", "3", "4")):
            refusal = f"ファイル区分（{category}）が不正です"
        else:
            for item in wanted:
                until = person["consent"].get(item)
                if until is None or until <= now:
                    label = {"drug": "薬剤情報", "diagnosis": "診療情報", "checkup": "特定健診情報"}[item]
                    refusal = f"{label}の閲覧同意がないか、有効期限が過ぎています"
                    break
        if refusal:
            root, _, _ = _reply(encoding, request_id, "2", refusal)
            return ".xml", _file(root, encoding)
        today = now.date()
        if category == "1" or (kind != "checkup" and category == "3"):  # the PDF kinds
            return ".pdf", _pdf(person, kind, message, today, with_procedures=category == "3")
        root, header_out, body_out = _reply(encoding, request_id, "1")
        birth = person["birth"] if fault != "other_patient" else person["birth"] - timedelta(days=4000)
        if kind == "checkup":
            info = _sub(header_out, "QualificationsInfo")
            for tag, value in (("Name", person["name"]), ("KanasName", person["kana"]),
                               ("Birthday", f"{birth:%Y%m%d}"), ("AdministrativeGenderCode", person["sex"])):
                _sub(info, tag, value)
            since = date(today.year - CHECKUP_YEARS, today.month, today.day if today.day < 29 else 28)
            for checkup in sorted(person["checkups"], key=lambda c: c["day"], reverse=True):
                if checkup["day"] < since:
                    continue
                record = _sub(body_out, "SpecificHealthCheckupInfo")
                _sub(record, "EffectiveTime", f"{checkup['day']:%Y%m%d}")
                items = _sub(record, "HealthCheckupResultAndQuestionInfos")
                for item in checkup["items"]:
                    node = _sub(items, "HealthCheckupResultAndQuestionInfo")
                    for tag, key in (("ItemCode", "code"), ("ItemName", "name"), ("DataType", "data_type"),
                                     ("DataValue", "value"), ("Unit", "unit"), ("DataValueName", "value_name")):
                        _sub(node, tag, item.get(key, ""))
                    _sub(node, "Oid", "9.9.999" if fault == "unknown_code" else "1.2.392.200119.6.1005")
            return ".xml", _file(root, encoding)
        info = _sub(header_out, "QuaInf")
        for tag, value in (("Name", person["name"]), ("KanaName", person["kana"]), ("Birth", f"{birth:%Y%m%d}"),
                           ("AdmGendCode", person["sex"])):
            _sub(info, tag, value)
        first = _month(_text(message, "StartDate")) or date(today.year - RECEIPT_YEARS, today.month, 1)
        last = _month(_text(message, "EndDate")) or date(today.year, today.month, 1)
        # The records of a period are written once per person (add_person replaces the person, and the cache with
        # it): the service answers "at once", as the benchmark's premise is, not after building 1,000 lines anew.
        key = (today, first, last, category in ("3", "4"), fault == "unknown_code")
        records = person.setdefault("written", {}).get(key)
        if records is None:
            written = ET.Element("MessageBody")
            _medication_body(written, person, today, first, last, with_procedures=category in ("3", "4"))
            if fault == "unknown_code":
                drug_code = written.find(".//DrugC")
                if drug_code is not None:
                    drug_code.text = "X-LOCAL-001"
            records = person["written"][key] = ET.tostring(written, encoding="unicode")
        return ".xml", _file(root, encoding, body=records)

    return {MEDICATION_CODE: lambda clinic, rid, body: answer(clinic, rid, body, "medication"),
            CHECKUP_CODE: lambda clinic, rid, body: answer(clinic, rid, body, "checkup")}
