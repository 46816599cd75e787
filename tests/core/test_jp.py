"""Japanese helpers: 和暦 at every era boundary, the date forms clerks type, ages, kana folding over real
names (gimei), 異体字 folding over the upstream variant list, JIS checks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jaconv
import pytest

from app.core import jp

SAMPLES = Path(__file__).parent.parent / "samples" / "names"
GIMEI = Path(__file__).parent.parent.parent / "simulators" / "orca" / "data" / "names.tsv"


# --- 和暦 -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "long", "short"), [
    (date(2019, 5, 1), "令和元年5月1日", "R1.5.1"),
    (date(2019, 4, 30), "平成31年4月30日", "H31.4.30"),
    (date(1989, 1, 8), "平成元年1月8日", "H1.1.8"),
    (date(1989, 1, 7), "昭和64年1月7日", "S64.1.7"),
    (date(1926, 12, 25), "昭和元年12月25日", "S1.12.25"),
    (date(1926, 12, 24), "大正15年12月24日", "T15.12.24"),
    (date(1912, 7, 30), "大正元年7月30日", "T1.7.30"),
    (date(1912, 7, 29), "明治45年7月29日", "M45.7.29"),
    (date(2026, 11, 25), "令和8年11月25日", "R8.11.25"),
])
def test_era_boundaries_format_and_read_back(day, long, short):
    assert jp.format_wareki(day) == long
    assert jp.format_wareki(day, "short") == short
    assert jp.parse_wareki(long) == day
    assert jp.parse_wareki(short) == day


@pytest.mark.parametrize("text", ["2001-04-05", "2001/4/5", "20010405", "2001年4月5日", "H13.4.5", "h13/4/5",
                                  "平成13年4月5日", "Ｈ１３．４．５", "２００１－０４－０５", " 平成 13 年 4 月 5 日 "])
def test_every_form_a_clerk_types_reads_as_the_same_day(text):
    assert jp.parse_date(text) == date(2001, 4, 5)


@pytest.mark.parametrize(("text", "message"), [
    ("平成31年5月1日", "平成31年5月1日は平成の期間外です"),  # the era had ended the day before
    ("昭和64年1月8日", "期間外"),
    ("令和元年4月30日", "期間外"),
    ("H13.2.30", "2001年2月30日という日付はありません"),
    ("2023-02-29", "日付はありません"),
    ("明治5年12月2日", "期間外"),  # before the Gregorian calendar
    ("平成0年1月1日", "年は1以上"),
    ("きのう", "日付の形式が正しくありません"),
    ("", "日付を入力してください"),
])
def test_impossible_dates_are_refused_with_a_japanese_reason(text, message):
    with pytest.raises(jp.WarekiError) as caught:
        jp.parse_date(text)
    assert message in str(caught.value)


def test_leap_day_exists_only_in_leap_years():
    assert jp.parse_date("R6.2.29") == date(2024, 2, 29)
    assert jp.parse_date("2000-02-29") == date(2000, 2, 29)  # divisible by 400
    with pytest.raises(jp.WarekiError):
        jp.parse_date("1900-02-29")  # divisible by 100 only


# --- ages ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("birth", "on", "years", "label"), [
    (date(1960, 4, 1), date(2026, 3, 31), 65, "65歳"),
    (date(1960, 4, 1), date(2026, 4, 1), 66, "66歳"),
    (date(2024, 2, 29), date(2025, 2, 28), 0, "11か月"),
    (date(2024, 2, 29), date(2025, 3, 1), 1, "1歳0か月"),
    (date(2024, 2, 29), date(2028, 2, 29), 4, "4歳0か月"),
    (date(2023, 8, 31), date(2026, 11, 25), 3, "3歳2か月"),
    (date(2026, 10, 26), date(2026, 11, 25), 0, "0か月"),
    (date(2020, 11, 25), date(2026, 11, 25), 6, "6歳"),
])
def test_ages_count_completed_years_and_months_for_small_children(birth, on, years, label):
    assert jp.age_on(birth, on) == years
    assert jp.format_age(birth, on) == label


def test_age_before_birth_is_an_error():
    with pytest.raises(ValueError):
        jp.age_on(date(2026, 1, 2), date(2026, 1, 1))


# --- kana over real names ----------------------------------------------------------------------------

def _gimei_rows() -> list[tuple[str, str]]:
    rows = []
    for line in GIMEI.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        _, kanji, katakana = line.split("\t")
        rows.append((kanji, katakana))
    return rows


def test_hiragana_katakana_and_half_width_kana_fold_to_one_key_for_every_gimei_name():
    rows = _gimei_rows()
    assert len(rows) > 1000
    for _, katakana in rows:
        key = jp.normalize_kana(katakana)
        assert jp.normalize_kana(jaconv.kata2hira(katakana)) == key, katakana
        assert jp.normalize_kana(jaconv.z2h(katakana, kana=True)) == key, katakana  # ｶﾞ → ガ


def test_spaces_small_kana_and_middle_dots_do_not_matter():
    assert jp.normalize_kana("やまだ　たろう") == jp.normalize_kana("ヤマダタロウ") == "ヤマダタロウ"
    assert jp.normalize_kana("ｷｯｶﾜ ｼｮｳ") == jp.normalize_kana("キツカワショウ")  # ORCA's カナ has no small kana
    assert jp.normalize_kana("スミス・ジョン") == "スミスジヨン"
    assert jp.normalize_kana("ａｂｃ") == "ABC"


# --- 異体字 over the upstream list ------------------------------------------------------------------

def _upstream_variants() -> dict[str, str]:
    """The camelmasa/itaiji YAML (正字体: [異体字, ...]), read without a YAML library: it is that simple."""
    pairs: dict[str, str] = {}
    base = ""
    for line in (SAMPLES / "camelmasa-itaiji" / "itaiji_list.yml").read_text(encoding="utf-8").splitlines():
        if line.startswith("---") or not line.strip():
            continue
        if line.startswith("- "):
            variant = line[2:].strip().strip("'\"")
            if variant != base:
                pairs[variant] = base
        else:
            base = line.rstrip(":").strip().strip("'\"")
    return pairs


def test_every_upstream_variant_folds_to_its_everyday_form():
    pairs = _upstream_variants()
    assert len(pairs) > 1300  # a real table, not a list of five
    assert jp.variant_count() >= len(pairs)
    wrong = {v: (jp.normalize_variants(v), base) for v, base in pairs.items() if jp.normalize_variants(v) != base}
    assert not wrong


@pytest.mark.parametrize(("stored", "typed"), [("髙橋", "高橋"), ("齋藤", "斎藤"), ("渡邉", "渡辺"), ("渡邊", "渡辺"),
                                               ("山﨑", "山崎"), ("𠮷田", "吉田"), ("濱田", "浜田"), ("澤井", "沢井")])
def test_names_clerks_cannot_type_match_what_they_can(stored, typed):
    assert jp.search_key(stored) == jp.search_key(typed)
    assert jp.search_key(stored) != jp.search_key("田中")


def test_variant_folding_leaves_other_characters_alone():
    assert jp.normalize_variants("山田 太郎 ヤマダ 123") == "山田 太郎 ヤマダ 123"
    assert jp.normalize_variants("") == ""


# --- control characters and JIS -----------------------------------------------------------------------

def test_control_characters_are_stripped_but_text_kept():
    assert jp.strip_control_chars("山田\x00太郎\u200b\x1b") == "山田太郎"
    assert jp.strip_control_chars("改行\nなし") == "改行なし"


def test_jis_check_names_the_character_that_cannot_be_sent():
    assert jp.is_jis_encodable("山田　太郎")
    assert jp.first_unencodable_char("髙橋　美咲") == "髙"  # IBM extension: not in JIS X 0208
    assert jp.first_unencodable_char("𠮷田") == "𠮷"
    assert jp.first_unencodable_char("髙橋", "cp932") is None  # but Windows-31J carries it


def test_digits_change_width_both_ways():
    assert jp.to_halfwidth_digits("０３－１２３４") == "03－1234"
    assert jp.to_fullwidth_digits("2026") == "２０２６"


# --- an era year alone ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "first", "last"), [
    ("S58", date(1983, 1, 1), date(1983, 12, 31)), ("ｓ５８", date(1983, 1, 1), date(1983, 12, 31)),
    ("昭和64年", date(1989, 1, 1), date(1989, 1, 7)), ("H1", date(1989, 1, 8), date(1989, 12, 31)),
    ("平成元", date(1989, 1, 8), date(1989, 12, 31)), ("平成31", date(2019, 1, 1), date(2019, 4, 30)),
    ("R1", date(2019, 5, 1), date(2019, 12, 31)), ("T15", date(1926, 1, 1), date(1926, 12, 24)),
    ("M6", date(1873, 1, 1), date(1873, 12, 31)),
])
def test_an_era_year_is_the_part_of_the_western_year_inside_the_era(text, first, last):
    assert jp.parse_era_year(text) == (first, last)


@pytest.mark.parametrize("text", ["H32", "S65", "R0", "昭和0年"])
def test_an_era_year_the_era_never_had_is_refused_in_japanese(text):
    with pytest.raises(jp.WarekiError, match="という年はありません"):
        jp.parse_era_year(text)


def test_a_year_before_the_gregorian_calendar_is_refused():
    with pytest.raises(jp.WarekiError, match="1873年"):
        jp.parse_era_year("M1")


@pytest.mark.parametrize("text", ["山田", "S58.3.2", "1983", "S", "SS58", "昭和"])
def test_other_text_is_not_an_era_year(text):
    assert jp.parse_era_year(text) is None
