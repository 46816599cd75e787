"""Japanese helpers: 和暦 dates, ages, kana and width folding, 異体字 folding for search, JIS checks."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path


class WarekiError(ValueError):
    """A date that cannot be read; str() is a Japanese message for the user."""


@dataclass(frozen=True)
class Era:
    """One Japanese era: name, one-letter abbreviation, first day."""

    name: str
    letter: str
    start: date


# Meiji is accepted from 1873-01-01: Japan adopted the Gregorian calendar then (明治6年), so earlier
# Meiji dates are lunisolar and do not map to a Gregorian date by arithmetic.
ERAS: tuple[Era, ...] = (
    Era("令和", "R", date(2019, 5, 1)),
    Era("平成", "H", date(1989, 1, 8)),
    Era("昭和", "S", date(1926, 12, 25)),
    Era("大正", "T", date(1912, 7, 30)),
    Era("明治", "M", date(1868, 1, 25)),
)
GREGORIAN_START = date(1873, 1, 1)
_BY_NAME = {e.name: e for e in ERAS}
_BY_LETTER = {e.letter: e for e in ERAS}


def era_of(d: date) -> Era:
    """The era a date falls in."""
    if d < GREGORIAN_START:
        raise WarekiError("明治6年（1873年）より前の日付は扱えません")
    return next(e for e in ERAS if d >= e.start)


def _era_end(era: Era) -> date | None:
    index = ERAS.index(era)
    return None if index == 0 else ERAS[index - 1].start


def format_wareki(d: date, style: str = "long") -> str:
    """令和6年3月7日 (long), R6.3.7 (short) or 令和6年 (era_year); the first year is 元年 in long forms."""
    era = era_of(d)
    year = d.year - era.start.year + 1
    if style == "short":
        return f"{era.letter}{year}.{d.month}.{d.day}"
    year_text = "元" if year == 1 else str(year)
    if style == "era_year":
        return f"{era.name}{year_text}年"
    return f"{era.name}{year_text}年{d.month}月{d.day}日"


_FULLWIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {"\u3000": " "})
_WAREKI_LONG = re.compile(r"^(明治|大正|昭和|平成|令和)\s*(元|\d{1,2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$")
_WAREKI_SHORT = re.compile(r"^([MTSHRmtshr])\s*(元|\d{1,2})\s*[.\-/年]\s*(\d{1,2})\s*[.\-/月]\s*(\d{1,2})\s*日?$")
_SEIREKI = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def _fold(text: str) -> str:
    return (text or "").translate(_FULLWIDTH).strip()


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise WarekiError(f"{year}年{month}月{day}日という日付はありません") from exc


def parse_wareki(text: str) -> date:
    """Read a 和暦 date: 令和6年3月7日, 令和元年5月1日, R6.3.7, r6/3/7, S45.3.2, full-width forms too."""
    folded = _fold(text)
    match = _WAREKI_LONG.match(folded)
    era = None
    if match:
        era = _BY_NAME[match.group(1)]
    else:
        match = _WAREKI_SHORT.match(folded)
        if match:
            era = _BY_LETTER[match.group(1).upper()]
    if not match or era is None:
        raise WarekiError("日付の形式が正しくありません（例: 令和6年3月7日、R6.3.7）")
    year_text, month, day = match.group(2), int(match.group(3)), int(match.group(4))
    year = 1 if year_text == "元" else int(year_text)
    if year < 1:
        raise WarekiError("年は1以上で入力してください")
    result = _make_date(era.start.year + year - 1, month, day)
    end = _era_end(era)
    label = f"{era.name}{'元' if year == 1 else year}年{month}月{day}日"
    if result < era.start or (end is not None and result >= end) or result < GREGORIAN_START:
        raise WarekiError(f"{label}は{era.name}の期間外です")
    return result


_ERA_YEAR = re.compile(r"^(明治|大正|昭和|平成|令和|[MTSHRmtshr])\s*(元|\d{1,2})\s*年?$")


def parse_era_year(text: str) -> tuple[date, date] | None:
    """An era year alone, as clerks type a birth year: S58, s58, 昭和58, 昭和58年, H1, 平成元, R5, full-width too →
    (first day, last day) of that era year (昭和64年 is 1989-01-01 to 01-07, 平成元年 from 01-08). None when the text
    is not an era year; WarekiError when it names a year the era does not have (平成32)."""
    match = _ERA_YEAR.match(_fold(text))
    if not match:
        return None
    era = _BY_NAME.get(match.group(1)) or _BY_LETTER[match.group(1).upper()]
    year = 1 if match.group(2) == "元" else int(match.group(2))
    western = era.start.year + year - 1
    first = max(date(western, 1, 1), era.start, GREGORIAN_START)
    end = _era_end(era)
    last = date(western, 12, 31) if end is None else min(date(western, 12, 31), date.fromordinal(end.toordinal() - 1))
    if year >= 1 and last < GREGORIAN_START:
        raise WarekiError("明治6年（1873年）より前の年は扱えません")
    if year < 1 or first > last:
        raise WarekiError(f"{era.name}{year}年という年はありません")
    return first, last


def parse_date(text: str) -> date:
    """Any date a clerk types: 2001-04-05, 2001/4/5, 20010405, 2001年4月5日, or 和暦 (H13.4.5, 平成13年4月5日)."""
    folded = _fold(text)
    if not folded:
        raise WarekiError("日付を入力してください")
    for pattern in (_SEIREKI, _COMPACT):
        match = pattern.match(folded)
        if match:
            return _make_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return parse_wareki(folded)


def age_on(birth: date, on: date) -> int:
    """Completed years on a date. A 29 February birthday counts from 1 March in common years, as clinics
    and most systems do (the civil-law rule of the day before is for legal ages, not for charts)."""
    if on < birth:
        raise ValueError("基準日が生年月日より前です")
    years = on.year - birth.year
    birthday_month, birthday_day = birth.month, birth.day
    if (birthday_month, birthday_day) == (2, 29) and not _is_leap(on.year):
        birthday_month, birthday_day = 3, 1
    if (on.month, on.day) < (birthday_month, birthday_day):
        years -= 1
    return years


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _months_between(birth: date, on: date) -> int:
    months = (on.year - birth.year) * 12 + on.month - birth.month
    if on.day < birth.day:
        months -= 1
    return months


def format_age(birth: date, on: date) -> str:
    """65歳; under six years 2歳3か月 (paediatric doses need the months); under one year 3か月."""
    years = age_on(birth, on)
    if years >= 6:
        return f"{years}歳"
    months = _months_between(birth, on)
    if years == 0:
        return f"{max(months, 0)}か月"
    return f"{years}歳{months - years * 12}か月"


# --- kana and width folding -------------------------------------------------------------------------

_SMALL_KANA = "ァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょゎゕゖ"
_LARGE_KANA = "アイウエオツヤユヨワカケアイウエオツヤユヨワカケ"
_HIRAGANA_TO_KATAKANA = {chr(c): chr(c + 0x60) for c in range(0x3041, 0x3097)}
_SPACES = {" ": None, "\u3000": None, "\t": None, "・": None, "･": None, "\u00a0": None}


def _kana_table() -> dict[int, str | None]:
    table: dict[str, str | None] = {}
    table.update(_HIRAGANA_TO_KATAKANA)
    for small, large in zip(_SMALL_KANA, _LARGE_KANA, strict=True):
        table[small] = large
    table.update(_SPACES)
    return str.maketrans(table)


_KANA_TABLE = _kana_table()
_HALFWIDTH_KANA = re.compile(r"[\uff61-\uff9f]")


def normalize_kana(text: str) -> str:
    """Fold for search: width (ｶﾞ→ガ, Ａ→A), hiragana→katakana, small kana→large, no spaces or ・, Latin upper."""
    if not text:
        return ""
    if _HALFWIDTH_KANA.search(text) or any("\uff01" <= ch <= "\uff5e" for ch in text):
        # NFKC joins half-width kana with their voicing marks and folds full-width ASCII.
        text = unicodedata.normalize("NFKC", text)
    return text.translate(_KANA_TABLE).upper()


_HALF_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_FULL_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def to_halfwidth_digits(text: str) -> str:
    """０１２ → 012 (digits only)."""
    return text.translate(_HALF_DIGITS)


def to_fullwidth_digits(text: str) -> str:
    """012 → ０１２ (digits only)."""
    return text.translate(_FULL_DIGITS)


# --- 異体字 ---------------------------------------------------------------------------------------

@lru_cache(maxsize=2)
def _folding_table(name: str) -> dict[int, str]:
    """A table of data/ (one `character<TAB>replacement` a line, # comments) for str.translate."""
    table: dict[int, str] = {}
    for line in (Path(__file__).parent / "data" / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            character, replacement = line.split("\t")
            table[ord(character)] = replacement
    return table


def _variant_table() -> dict[int, str]:
    return _folding_table("itaiji.tsv")


def variant_count() -> int:
    """How many variants the table folds."""
    return len(_variant_table())


def normalize_variants(text: str) -> str:
    """Fold 異体字 to the everyday form a clerk can type (髙→高, 齋→斎, 邉→辺, 﨑→崎, 𠮷→吉 …)."""
    return (text or "").translate(_variant_table())


def search_key(text: str) -> str:
    """The key names are stored and searched by: variants folded, then kana and width folded."""
    return normalize_kana(normalize_variants(text))


#: Variation selectors (the IVS of 戸籍 glyphs such as 辺 + U+E0102): a glyph choice, never a different name.
_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
#: CJK compatibility ideographs (神 U+FA19, 塚 U+FA10 …) are canonically the unified ideograph; the few in the block
#: that are characters of their own (﨑 U+FA11 …) have no decomposition and are left to the 異体字 table.
_COMPATIBILITY = re.compile("[\uf900-\ufaff\U0002f800-\U0002fa1f]")


def name_search_key(text: str) -> str:
    """The key patient names are stored and searched by: search_key, with variation selectors dropped,
    compatibility ideographs unified, and surnames written with interchangeable characters (斉藤/斎藤, data/
    surname_clusters.tsv) folded together. Only for names: a drug or a disease name keeps 斉 and 斎 apart."""
    text = _SELECTORS.sub("", text or "")
    text = _COMPATIBILITY.sub(lambda m: unicodedata.normalize("NFC", m.group()), text)
    return normalize_kana(normalize_variants(text).translate(_folding_table("surname_clusters.tsv")))


#: Line breaks of every kind, folded to "\n" in multi-line text (NEL, LINE / PARAGRAPH SEPARATOR included).
_LINE_BREAKS = re.compile("\r\n|[\r\x85\u2028\u2029]")
_KEPT_IN_MULTILINE = frozenset("\n\t")


def strip_control_chars(text: str, *, multiline: bool = False) -> str:
    """Free text as it may be stored or printed: control characters (Cc: NUL, ESC …), every invisible format
    character (Cf: the bidirectional embeddings, overrides and isolates U+202A–202E and U+2066–2069, the marks
    U+200E/200F/061C, zero-width U+200B–200D, U+2060, BOM U+FEFF, soft hyphen, tag characters …) and lone
    surrogates (Cs) removed. ZWJ goes too: chart text is Japanese and English, where it only glues emoji
    sequences, and an invisible character must not make two equal-looking texts differ. Variation selectors
    (Mn, the 異体字 IVS of names) are kept. `multiline` keeps line breaks (all folded to "\n") and tabs;
    otherwise they are removed as well, for one-line fields."""
    text = text or ""
    if multiline:
        text = _LINE_BREAKS.sub("\n", text)
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
                   or (multiline and ch in _KEPT_IN_MULTILINE))


# --- JIS-based encodings -----------------------------------------------------------------------------

def first_unencodable_char(text: str, encoding: str = "iso2022_jp") -> str | None:
    """The first character the encoding cannot carry, or None."""
    for char in text:
        try:
            char.encode(encoding)
        except UnicodeEncodeError:
            return char
    return None


def is_jis_encodable(text: str, encoding: str = "iso2022_jp") -> bool:
    """Whether the whole text can be sent in a JIS-based encoding."""
    return first_unencodable_char(text, encoding) is None
