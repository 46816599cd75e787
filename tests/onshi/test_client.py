"""The history client on its own: request files as open clients write them (UTF-8 or Shift_JIS), and the strict
reading of replies — whole, or refused with the reason (another patient, another request, an unknown code system,
a wrong encoding, the service's refusal)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.core.timeutil import JST
from app.integrations.onshi import (
    Identity,
    OnshiRefused,
    OnshiReplyError,
    checkup_request,
    medication_request,
    read_checkup_reply,
    read_medication_reply,
)
from app.integrations.onshi.messages import RequestError
from app.integrations.onshi.reading import parse_file
from simulators.onshi import OnshiState, handlers
from simulators.onshi.demo_data import yamada_history

IDENTITY = Identity("1310123458", "01130012", "７５１３１３７８", "7812312", "00")
BIRTH = date(1958, 3, 2)


def _service(encoding="UTF-8", consent_hours=20, fault=None):
    state = OnshiState()
    state.reply_encoding, state.fault = encoding, fault
    until = datetime.now(JST) + timedelta(hours=consent_hours)
    state.add_person(("01130012", "７５１３１３７８", "7812312", "00"), name="山田　太郎", kana="ヤマダ　タロウ",
                     birth=BIRTH, sex="1", consent_until={"drug": until, "diagnosis": until, "checkup": until},
                     **yamada_history(datetime.now(JST).date()))
    return state, handlers(state)


def test_requests_carry_the_identity_period_and_kind_in_the_declared_encoding():
    body = medication_request(IDENTITY, "r1", date(2024, 1, 1), date(2026, 12, 7), with_diagnosis=True,
                              encoding="Shift_JIS")
    assert body.startswith(b'<?xml version="1.0" encoding="Shift_JIS" standalone="no"?>')
    root = parse_file(body)
    header, message = root.find("MessageHeader"), root.find("MessageBody")
    assert header.findtext("InsuranceCardSymbol") == "７５１３１３７８"
    assert header.findtext("ArbitraryFileIdentifier") == "r1"
    assert header.findtext("MedicalInstitutionCode") == "1310123458"
    assert (message.findtext("StartDate"), message.findtext("EndDate"), message.findtext("FileCategory")) == (
        "202401", "202612", "4")
    checkup = checkup_request(IDENTITY, "r2")
    assert b'encoding="UTF-8"' in checkup and b"<FileCategory>2</FileCategory>" in checkup
    assert b"StartDate" not in checkup  # the checkup request names no period
    with pytest.raises(RequestError, match="Shift_JIS で送れない文字"):
        medication_request(Identity("1310123458", "01130012", "🙂", "1", "00"), "r3", date(2026, 1, 1),
                           date(2026, 1, 1), with_diagnosis=False, encoding="Shift_JIS")
    with pytest.raises(RequestError, match="被保険者番号がない"):
        checkup_request(Identity("1310123458", "", "", "", ""), "r4")


@pytest.mark.parametrize("encoding", ["UTF-8", "Shift_JIS"])
def test_a_reply_is_read_whole_in_either_encoding(encoding):
    _, service = _service(encoding)
    request = medication_request(IDENTITY, "abc123", date(2023, 12, 1), datetime.now(JST).date(),
                                 with_diagnosis=True)
    extension, reply = service["YZKsiquc01"]("1310123458", "abc123", request)
    assert extension == ".xml" and f'encoding="{encoding}"'.encode() in reply
    history = read_medication_reply(reply, "abc123", BIRTH, "M")
    assert history.patient.name == "山田　太郎"
    sources = {d["source"] for d in history.dispensings}
    assert sources == {"receipt", "eprescription", "dispensed"}
    amlodipine = [d for d in history.dispensings if d["drug_code"] == "620007817"]
    assert amlodipine and all(d["prescriber_name"] == "みなと総合病院" for d in amlodipine)
    assert any(d["own"] for d in history.dispensings) and any(not d["own"] for d in history.dispensings)
    assert {p["code"] for p in history.procedures} >= {"112007410", "160010010"}
    assert all(date.fromisoformat(r["day"]) for r in history.dispensings + history.procedures)
    checkups = read_checkup_reply(service["TKKsiquc01"]("1310123458", "c1", checkup_request(IDENTITY, "c1"))[1],
                                  "c1", BIRTH, "M")
    assert len(checkups.checkups) == 5 and any(i.code == "3D046000001906202" for i in checkups.checkups[0].items)


def test_the_service_keeps_only_what_the_real_one_keeps():
    """Receipts of three years (from about 1.5 months back), e-prescription data of 100 days."""
    _, service = _service()
    today = datetime.now(JST).date()
    reply = service["YZKsiquc01"]("1310123458", "k1", medication_request(
        IDENTITY, "k1", date(today.year - 3, today.month, 1), today, with_diagnosis=False))[1]
    history = read_medication_reply(reply, "k1", BIRTH, "M")
    receipts = [date.fromisoformat(d["day"]) for d in history.dispensings if d["source"] == "receipt"]
    electronic = [date.fromisoformat(d["day"]) for d in history.dispensings if d["source"] != "receipt"]
    assert min(today - d for d in receipts) >= timedelta(days=45)
    assert max(today - d for d in electronic) <= timedelta(days=100) and min(today - d for d in electronic) < \
        timedelta(days=45)
    assert history.procedures == ()  # FileCategory 2: no 診療情報


@pytest.mark.parametrize("fault, reason", [
    ("other_patient", "別の患者"),
    ("unknown_code", "未知のコード体系"),
])
def test_a_wrong_reply_is_refused_whole(fault, reason):
    _, service = _service(fault=fault)
    request = medication_request(IDENTITY, "w1", date(2025, 1, 1), datetime.now(JST).date(), with_diagnosis=True)
    with pytest.raises(OnshiReplyError, match=reason):
        read_medication_reply(service["YZKsiquc01"]("1310123458", "w1", request)[1], "w1", BIRTH, "M")


def test_replies_that_are_not_ours_or_not_readable():
    _, service = _service()
    reply = service["YZKsiquc01"]("1310123458", "x1", medication_request(
        IDENTITY, "x1", date(2025, 1, 1), datetime.now(JST).date(), with_diagnosis=False))[1]
    with pytest.raises(OnshiReplyError, match="別の照会（x1）への応答"):
        read_medication_reply(reply, "x2", BIRTH, "M")
    lying = reply.replace(b"<CharacterCodeIdentifier>0<", b"<CharacterCodeIdentifier>1<")
    with pytest.raises(OnshiReplyError, match="文字コード識別"):
        read_medication_reply(lying, "x1", BIRTH, "M")
    with pytest.raises(OnshiReplyError, match="XMLとして読めません"):
        read_medication_reply(b"\x00garbage<", "x1", BIRTH, "M")
    with pytest.raises(OnshiReplyError, match="文字コード"):
        read_medication_reply(reply.replace(b"UTF-8", b"Shift_JIS", 1), "x1", BIRTH, "M")
    with pytest.raises(OnshiReplyError, match="DOCTYPE"):
        read_medication_reply(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><XmlMsg/>', "x1", BIRTH, "M")
    broken_day = reply.replace(b"<DiDate>", b"<DiDate>99", 1)
    with pytest.raises(OnshiReplyError, match="日付"):
        read_medication_reply(broken_day, "x1", BIRTH, "M")


def test_comments_and_processing_instructions_are_no_data():
    _, service = _service()
    reply = service["YZKsiquc01"]("1310123458", "c1", medication_request(
        IDENTITY, "c1", date(2025, 1, 1), datetime.now(JST).date(), with_diagnosis=True))[1]
    plain = read_medication_reply(reply, "c1", BIRTH, "M")
    marked = reply.replace(b"<DrugC>", b"<!-- a terminal's note --><?terminal x?><DrugC>")
    assert marked.count(b"<!--") == len(plain.dispensings)
    assert read_medication_reply(marked, "c1", BIRTH, "M") == plain


def test_the_service_writes_a_period_once_and_answers_each_request_as_its_own():
    state, service = _service()
    ask = medication_request(IDENTITY, "a1", date(2025, 1, 1), datetime.now(JST).date(), with_diagnosis=True)
    first = read_medication_reply(service["YZKsiquc01"]("1310123458", "a1", ask)[1], "a1", BIRTH, "M")
    again = service["YZKsiquc01"]("1310123458", "a2", ask.replace(b">a1<", b">a2<"))[1]
    assert read_medication_reply(again, "a2", BIRTH, "M") == first
    state.fault = "unknown_code"  # a fault is no period already written
    with pytest.raises(OnshiReplyError, match="未知のコード体系"):
        read_medication_reply(service["YZKsiquc01"]("1310123458", "a3", ask.replace(b">a1<", b">a3<"))[1], "a3",
                              BIRTH, "M")
    state.fault = None
    state.add_person(("01130012", "７５１３１３７８", "7812312", "00"), name="山田　太郎", kana="ヤマダ　タロウ",
                     birth=BIRTH, sex="1", consent_until={"drug": datetime.now(JST) + timedelta(hours=1)})
    drug_only = medication_request(IDENTITY, "a4", date(2025, 1, 1), datetime.now(JST).date(), with_diagnosis=False)
    assert read_medication_reply(service["YZKsiquc01"]("1310123458", "a4", drug_only)[1], "a4", BIRTH,
                                 "M").dispensings == ()  # held anew: nothing from before


def test_no_or_expired_consent_is_refused_by_the_service():
    state, service = _service(consent_hours=-1)
    request = checkup_request(IDENTITY, "n1")
    with pytest.raises(OnshiRefused, match="特定健診情報の閲覧同意がないか、有効期限が過ぎています"):
        read_checkup_reply(service["TKKsiquc01"]("1310123458", "n1", request)[1], "n1", BIRTH, "M")
    state.set_consent(("01130012", "７５１３１３７８", "7812312", "00"), "drug", datetime.now(JST) + timedelta(hours=3))
    drug_only = medication_request(IDENTITY, "n2", date(2025, 1, 1), datetime.now(JST).date(), with_diagnosis=True)
    with pytest.raises(OnshiRefused, match="診療情報の閲覧同意"):  # 薬剤 agreed, 診療 not: 薬剤＋診療 refused
        read_medication_reply(service["YZKsiquc01"]("1310123458", "n2", drug_only)[1], "n2", BIRTH, "M")
    stranger = Identity("1310123458", "01130012", "1", "2", "00")
    with pytest.raises(OnshiRefused, match="該当する被保険者がいません"):
        read_checkup_reply(service["TKKsiquc01"]("1310123458", "n3", checkup_request(stranger, "n3"))[1], "n3",
                           BIRTH, "M")
