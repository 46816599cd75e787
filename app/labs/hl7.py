"""HL7 v2.5 text as JAHIS 臨床検査データ交換規約 uses it: character sets, normalisation, escaping, splitting.

JAHIS and SS-MIX2 send ISO-2022-JP (MSH-18 "~ISO IR87", MSH-20 "ISO 2022-1994"); UTF-8 ("UNICODE UTF-8") is
agreed per link. Many JIS X 0208 kanji contain a byte equal to an HL7 delimiter once encoded (本 → 0x5C '\\',
図 → '^', 奥 → '|'), so a message is always decoded as a whole before it is split, and built as Unicode text
that is encoded as a whole at the very end (docs/standards/lab.md §1.4).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from app.core.jp import first_unencodable_char

ISO2022 = "iso2022_jp"
UTF8 = "utf-8"
#: MSH-18 / MSH-20 for each character set we send.
CHARSET_FIELDS = {ISO2022: ("~ISO IR87", "ISO 2022-1994"), UTF8: ("UNICODE UTF-8", "")}
#: Tried in order on receipt; the one that worked is recorded with the message (lab.md: fallback chain).
JIS_CHAIN = ("iso2022_jp", "iso2022_jp_2004", "iso2022_jp_3", "iso2022_jp_ext", "iso2022_jp_2")
PLAIN_CHAIN = ("utf-8", "cp932")
#: Characters that plain ISO-2022-JP cannot carry, replaced by their JIS X 0208 form before sending.
SEND_REPLACEMENTS = str.maketrans({
    "\uff5e": "\u301c",  # ～ FULLWIDTH TILDE → 〜 WAVE DASH (the JIS X 0208 character)
    "\uff0d": "\u2212",  # － FULLWIDTH HYPHEN-MINUS → − MINUS SIGN
    "\u2225": "\u2016",  # ∥ → ‖
    "\uffe0": "\u00a2", "\uffe1": "\u00a3", "\uffe2": "\u00ac",
    "髙": "高", "﨑": "崎", "德": "徳", "瀨": "瀬",  # IBM extension glyphs: the JIS X 0208 form
    "①": "(1)", "②": "(2)", "③": "(3)", "④": "(4)", "⑤": "(5)", "㈱": "(株)", "㎎": "mg", "㎖": "mL", "㎗": "dL",
})
HALF_WIDTH_KANA = re.compile(r"[\uff61-\uff9f]+")


class HL7EncodingError(ValueError):
    """Text that cannot be sent in the link's character set; the message names the character."""


def normalise_for_sending(text: str) -> str:
    """Half-width kana to full width, and the CP932-only characters to their JIS X 0208 forms."""
    text = HALF_WIDTH_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return text.translate(SEND_REPLACEMENTS)


def encode_message(text: str, charset: str = ISO2022) -> bytes:
    """The whole message in the link's character set (never segment by segment); HL7EncodingError names a
    character that has no mapping."""
    if charset == UTF8:
        return text.encode(UTF8)
    bad = first_unencodable_char(text, ISO2022)
    if bad is not None:
        raise HL7EncodingError(f"「{bad}」（U+{ord(bad):04X}）は ISO-2022-JP で送れない文字です。"
                               "JIS第1・第2水準の字に置き換えてください")
    return text.encode(ISO2022)


class HL7DecodeError(ValueError):
    """Bytes that no allowed character set reads."""


def decode_message(data: bytes) -> tuple[str, str]:
    """Decode a whole message: (text, codec used). ISO-2022-JP variants first when escape sequences are present,
    else UTF-8, then Shift_JIS (CP932) for a lab that sends it."""
    chain = JIS_CHAIN if b"\x1b" in data else PLAIN_CHAIN
    for codec in chain:
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            continue
    raise HL7DecodeError("文字コードを判別できません（ISO-2022-JP・UTF-8・Shift_JIS のいずれでも読めません）。"
                         "途中で切れているか、壊れています")


def escape(text: str) -> str:
    """HL7 escapes for the delimiters in a Unicode value (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\)."""
    text = text.replace("\\", "\\E\\")
    return text.replace("|", "\\F\\").replace("^", "\\S\\").replace("&", "\\T\\").replace("~", "\\R\\")


def unescape(text: str) -> str:
    """Undo the HL7 escapes of a received value."""
    if "\\" not in text:
        return text
    return (text.replace("\\F\\", "|").replace("\\S\\", "^").replace("\\T\\", "&").replace("\\R\\", "~")
            .replace("\\.br\\", "\n").replace("\\E\\", "\\"))


def components(field_text: str) -> list[str]:
    """The unescaped components of a field's first repetition (what Segment.component reads one at a time)."""
    parts = field_text.split("~", 1)[0].split("^")
    return [unescape(part) for part in parts] if "\\" in field_text else parts


@dataclass(slots=True)
class Segment:
    """One segment: its name and fields (field n of the standard is fields[n]; MSH is numbered as HL7 does)."""

    name: str
    fields: list[str]
    line: int

    def get(self, index: int) -> str:
        """Field `index` as raw text ('' when absent)."""
        return self.fields[index] if index < len(self.fields) else ""

    def component(self, index: int, comp: int = 1) -> str:
        """Component `comp` (1-based) of the first repetition of field `index`, unescaped."""
        value = self.get(index).split("~", 1)[0]
        parts = value.split("^")
        return unescape(parts[comp - 1]) if comp <= len(parts) else ""


@dataclass
class Message:
    """A decoded message split into segments."""

    segments: list[Segment]
    codec: str
    line_endings: set[str] = field(default_factory=set)

    @property
    def msh(self) -> Segment:
        """The header."""
        return self.segments[0]

    @property
    def message_type(self) -> str:
        """MSH-9 as TYPE^EVENT (e.g. OUL^R22)."""
        return f"{self.msh.component(9, 1)}^{self.msh.component(9, 2)}"

    def names(self) -> str:
        """The segment names in order, one space after each (what the structure rules match)."""
        return "".join(s.name + " " for s in self.segments)


class HL7SyntaxError(ValueError):
    """A message that is not well-formed HL7 v2; the text says where."""


SEGMENT_NAME = re.compile(r"^[A-Z][A-Z0-9]{2}$")


def split_message(data: bytes) -> Message:
    """Decode, normalise line endings (CR, LF, CRLF: a transport may have rewritten them), split into segments.

    Only the standard delimiters ``|^~\\&`` are accepted: every JAHIS message uses them, and a message
    announcing others is more likely damaged than exotic.
    """
    text, codec = decode_message(data.strip(b"\x0b\x1c"))
    crlf = text.count("\r\n")
    endings = {ending for ending, found in (("\r\n", crlf), ("\r", text.count("\r") - crlf),
                                            ("\n", text.count("\n") - crlf)) if found}
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    lines = [line for line in text.split("\r") if line.strip()]
    if not lines or not lines[0].startswith("MSH"):
        raise HL7SyntaxError("HL7 メッセージではありません（先頭が MSH セグメントではありません）")
    if lines[0][3:8] != "|^~\\&":
        raise HL7SyntaxError("MSH の区切り文字が |^~\\& ではありません")
    segments = []
    for number, line in enumerate(lines, start=1):
        parts = line.split("|")
        name = parts[0]
        if not SEGMENT_NAME.match(name):
            raise HL7SyntaxError(f"{number}行目: セグメント名「{name[:10]}」が正しくありません")
        if name == "MSH":
            parts = ["MSH", "|", *parts[1:]]  # MSH-1 is the field separator itself: keep HL7's numbering
        segments.append(Segment(name, parts, number))
    return Message(segments, codec, endings)


def timestamp(value: str) -> tuple[int, ...] | None:
    """An HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]) as (year, month, day, hour, minute, second), or None."""
    match = re.fullmatch(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?", value)
    if not match:
        return None
    parts = [int(p) if p else 0 for p in match.groups()[:6]]
    parts[1] = parts[1] or 1
    parts[2] = parts[2] or 1
    return tuple(parts)
