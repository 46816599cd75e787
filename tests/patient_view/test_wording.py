"""Our plain wording tables against the shipped masters, the furigana marks, and when-to-take read from usages."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.labs.in_house import ITEMS
from app.patient_view.medicines import read_timing
from app.patient_view.pictograms import _DRAWINGS, pictogram
from app.patient_view.wording import DATA, diagnosis_wording, lab_wording, ruby, ruby_in_brackets, without_ruby
from app.prescriptions.usage import coded_usages

ROOT = Path(__file__).resolve().parents[2]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_diagnosis_wording_is_keyed_by_a_real_master_code_under_its_name():
    master = {row["code"]: row["name"] for row in _rows(ROOT / "app/diagnoses/data/diseases.csv")}
    rows = _rows(DATA / "diagnoses.csv")
    assert len(rows) >= 40
    for row in rows:
        assert master.get(row["code"]) == row["master_name"], row["code"]
        assert row["plain"] and row["explanation"].endswith("。"), row["code"]


def test_every_lab_wording_is_keyed_by_the_lab_masters_code_under_its_name():
    master = {row["jlac10"]: row["name"] for row in _rows(ROOT / "app/labs/data/lab_items.csv")}
    master |= {item.jlac10 or item.code: item.name for item in ITEMS}
    rows = _rows(DATA / "lab_tests.csv")
    for row in rows:
        assert master.get(row["code"]) == row["master_name"], row["code"]
        assert row["explanation"].endswith("。"), row["code"]
    # Every test of the shipped lab menu has its explanation.
    assert {row["jlac10"] for row in _rows(ROOT / "app/labs/data/lab_items.csv")} <= {row["code"] for row in rows}


def test_lookups_fall_back_to_nothing_for_unknown_codes():
    assert diagnosis_wording("8833421").plain.startswith("｜血圧《けつあつ》")
    assert diagnosis_wording("0085004") is None
    assert lab_wording("", "IH-GAS").plain == "溶連菌の検査"
    assert lab_wording("9Z999000000000000", "X1") is None


def test_furigana_marks_become_ruby_and_text_is_escaped():
    assert ruby("｜血圧《けつあつ》が<高い>") == "<ruby>血圧<rt>けつあつ</rt></ruby>が&lt;高い&gt;"
    assert ruby("｜<b>《x》") == "<ruby>&lt;b&gt;<rt>x</rt></ruby>"
    assert ruby_in_brackets("｜腎臓《じんぞう》のはたらき") == "腎臓（じんぞう）のはたらき"
    assert without_ruby("｜腎臓《じんぞう》") == "腎臓"


@pytest.mark.parametrize(("usage", "form", "times", "meal"), [
    ("１日３回朝昼夕食後", 1, ("morning", "noon", "evening"), "after_meal"),
    ("1日2回朝夕食前", 1, ("morning", "evening"), "before_meal"),
    ("１日３回毎食間", 1, ("morning", "noon", "evening"), "between_meals"),
    ("１日１回就寝前", 1, ("bedtime",), ""),
    ("1日1回寝る前", 1, ("bedtime",), ""),
    ("１日１回朝食直前", 1, ("morning",), "before_meal"),
    ("疼痛時", 2, (), ""),
    ("１日３回", 3, (), ""),
])
def test_when_to_take_is_read_from_the_usage(usage, form, times, meal):
    timing = read_timing(usage, form)
    assert (timing.times, timing.meal) == (times, meal)
    assert timing.words


def test_every_shipped_oral_usage_code_gives_times_of_day():
    for usage in coded_usages():
        if usage.route_digit == "1":
            assert read_timing(usage.text, 1).times, usage.text


def test_every_pictogram_is_an_svg_hidden_from_screen_readers():
    assert set(_DRAWINGS) == {"morning", "noon", "evening", "bedtime", "before_meal", "after_meal", "between_meals"}
    for key in _DRAWINGS:
        svg = pictogram(key)
        assert svg.startswith('<svg class="picto"') and 'aria-hidden="true"' in svg and svg.endswith("</svg>")
