"""Japanese fonts for ReportLab: IPAex Gothic and Mincho from the Debian package fonts-ipaexfont.

ReportLab embeds a TrueType font as a subset of the glyphs a document uses, so a PDF carries its own
Japanese glyphs (a pharmacy's viewer needs no font) and stays small. Loading a 6 MB font file takes
about 0.1 s, so each font is registered once per process.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

GOTHIC = "IPAexGothic"
MINCHO = "IPAexMincho"

#: Where Debian's fonts-ipaexfont installs the files (the alternatives links are a second chance).
FONT_FILES: dict[str, tuple[Path, ...]] = {
    GOTHIC: (Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
             Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf")),
    MINCHO: (Path("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"),
             Path("/usr/share/fonts/truetype/fonts-japanese-mincho.ttf")),
}


class FontMissingError(RuntimeError):
    """A font file the printed documents need is not installed."""


def font_path(name: str) -> Path:
    """The installed file of one of our fonts, or FontMissingError naming the package to install."""
    for candidate in FONT_FILES[name]:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(p) for p in FONT_FILES[name])
    raise FontMissingError(f"The font {name} is not installed (looked for {tried}). "
                           "Install the Debian package fonts-ipaexfont (scripts/setup.sh does it): "
                           "apt-get install fonts-ipaexfont")


@cache
def register_fonts() -> tuple[str, str]:
    """Register IPAex Gothic and Mincho with ReportLab (once) and return their names (gothic, mincho)."""
    for name in (GOTHIC, MINCHO):
        if name not in pdfmetrics.getRegisteredFontNames():
            # subfontIndex 0, embedded as subsets (ReportLab's default for TrueType).
            pdfmetrics.registerFont(TTFont(name, str(font_path(name))))
    return GOTHIC, MINCHO


@cache
def _glyphs(font_name: str) -> frozenset[int]:
    return frozenset(pdfmetrics.getFont(font_name).face.charToGlyph)


def first_missing_glyph(font_name: str, text: str) -> str | None:
    """The first character of the text the registered font has no glyph for (the PDF would show an empty box or
    another character), or None; spaces need none."""
    glyphs = _glyphs(font_name)
    if glyphs.issuperset(map(ord, text)):
        return None
    return next((char for char in text if ord(char) not in glyphs and not char.isspace()), None)
