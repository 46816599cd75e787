"""Screens share one stylesheet: no template carries an inline style or a <style> block, and no screen links a
stylesheet other than static/css/app.css (sizes, colours and spacing are its variables)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "app").rglob("templates/**/*.html"))
INLINE_STYLE = re.compile(r"""\sstyle\s*=|<style[\s>]""", re.IGNORECASE)
STYLESHEET = re.compile(r"""<link[^>]*rel=["']stylesheet["'][^>]*>""", re.IGNORECASE)


def _offenders(pattern: re.Pattern[str], allowed: re.Pattern[str] | None = None) -> list[str]:
    found = []
    for path in TEMPLATES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in pattern.finditer(line):
                if allowed is None or not allowed.search(match.group(0)):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    return found


def test_the_screens_are_found():
    assert len(TEMPLATES) > 50 and any(p.name == "base.html" for p in TEMPLATES)


def test_no_template_carries_an_inline_style():
    assert _offenders(INLINE_STYLE) == [], "move the style into a class in static/css/app.css"


def test_the_pattern_finds_inline_styles():
    assert INLINE_STYLE.search('<td class="x" style="width: 3em">')
    assert INLINE_STYLE.search("<p STYLE='color:red'>")
    assert INLINE_STYLE.search("<style>p { color: red }</style>")
    assert not INLINE_STYLE.search('<link rel="stylesheet" href="app.css">')
    assert not INLINE_STYLE.search('<span class="sb-kana" data-style-name="x">')


def test_every_screen_uses_the_one_stylesheet():
    css = sorted(p.name for p in (ROOT / "static" / "css").iterdir())
    assert css == ["app.css"]
    assert _offenders(STYLESHEET, allowed=re.compile(r"css/app\.css")) == []


def test_every_number_field_opens_the_numeric_keypad():
    number = re.compile(r"""<input[^>]*type=["']number["'][^>]*>""", re.IGNORECASE)
    keypad = re.compile(r"""inputmode=["'](numeric|decimal)["']""")
    assert _offenders(number, allowed=keypad) == []
