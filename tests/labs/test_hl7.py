"""HL7 text handling: whole-message ISO-2022-JP (kanji whose bytes equal delimiters), normalisation before sending
with a clear error for what cannot be sent, the codec fallback on receipt, and hl7apy's v2.5 structure check."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from app.labs.hl7 import (
    HL7EncodingError,
    decode_message,
    encode_message,
    escape,
    normalise_for_sending,
    split_message,
    unescape,
)
from app.labs.oml import OrderMessageError, build_oml, validate_oml


@pytest.mark.parametrize("kanji, delimiter", [("奥", b"|"), ("図", b"^"), ("京", b"~"), ("本", b"\\"), ("愛", b"&")])
def test_delimiter_kanji_survive_a_whole_message_round_trip(kanji, delimiter):
    text = f"MSH|^~\\&|A|B|C|D|20261129||OUL^R22^OUL_R22|1|P|2.5\rNTE|1||{kanji}{kanji}あり\r"
    data = encode_message(text)
    assert delimiter in data.split(b"NTE")[1].split(b"\x1b(B")[0]  # the kanji's JIS bytes hold the delimiter
    message = split_message(data)
    assert message.segments[1].component(3) == f"{kanji}{kanji}あり"


def test_normalisation_before_sending():
    assert normalise_for_sending("ﾔﾏﾀﾞ ﾀﾛｳ") == "ヤマダ タロウ"
    assert normalise_for_sending("髙橋～山﨑－①") == "高橋〜山崎−(1)"
    encode_message(normalise_for_sending("髙橋～山﨑－①"))  # now every character can be sent


def test_an_unmappable_character_is_a_clear_error():
    with pytest.raises(HL7EncodingError, match="「𠮷」（U\\+20BB7）は ISO-2022-JP で送れない文字です"):
        encode_message("PID|1||1||𠮷田")


@pytest.mark.parametrize("codec", ["iso2022_jp", "cp932", "utf-8"])
def test_received_messages_are_read_in_any_charset_the_spec_allows_and_the_codec_is_recorded(codec):
    text = "MSH|^~\\&|A|B|C|D|20261129||OUL^R22^OUL_R22|1|P|2.5\rNTE|1||本図奥\r"
    decoded, used = decode_message(text.encode(codec))
    assert decoded == text and used == codec


def test_escapes_round_trip():
    value = "10^3/μL | A&B ~ C\\D"
    assert unescape(escape(value)) == value and "^" not in escape(value) and "|" not in escape(value)


def _order(items):
    specimen = SimpleNamespace(seq=1, specimen_number="0000001018", specimen_code="023", specimen="血清",
                               container="生化学（分離剤入り）", items=items)
    return SimpleNamespace(order_number="L000000001", ordered_at=datetime.now(UTC), ordered_on=date.today(),
                           ordered_by_name="上野 誠", specimens=[specimen])


PATIENT = SimpleNamespace(name="山田 太郎", kana="ヤマダ タロウ", orca_patient_id="00001", birth_date=date(1958, 3, 2),
                          sex="M")
CLINIC = SimpleNamespace(institution_code="1310123458")
AST = {"lab_code": "K0111", "jlac10": "3B035000002327201", "name": "AST(GOT)", "short_name": "AST"}


def test_our_oml_o33_passes_hl7apy_strict_validation():
    text = build_oml(_order([AST]), PATIENT, CLINIC, control_id="K1", now=datetime.now(UTC))
    validate_oml(text)
    assert "MSH|^~\\&|KAMIKARTE|1310123458|" in text and "|~ISO IR87||ISO 2022-1994" in text
    assert "OBX|1||3B035000002327201^AST(GOT)^JC10^K0111^AST^99LAB||||||||O" in text


def test_hl7apy_catches_a_malformed_order():
    text = build_oml(_order([AST]), PATIENT, CLINIC, control_id="K1", now=datetime.now(UTC))
    with pytest.raises(OrderMessageError, match="OBX_11"):
        validate_oml(text.replace("||||||||O\r", "||||||||\r"))  # OBX-11 is required in v2.5
    with pytest.raises(OrderMessageError, match="SPM"):
        validate_oml(text.replace("SPM|", "ZZZ|"))
