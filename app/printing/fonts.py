"""Japanese fonts for ReportLab: IPAex Gothic and Mincho from the Debian package fonts-ipaexfont.

ReportLab embeds a TrueType font as a subset of the glyphs a document uses, so a PDF carries its own
Japanese glyphs (a pharmacy's viewer needs no font) and stays small. Loading a 6 MB font file takes
about 0.1 s, so each font is registered once per process.

Building a subset and compressing it is the larger part of writing a PDF (about 5 ms for the 256 glyphs
of one subset). ReportLab gives the characters of a document their codes in the order they are first
drawn, 256 a subset; a document that reserves its form's printed text first (reserve_glyphs) therefore
has the same first subset every time, and SubsetCachingFace keeps the last few subsets built, compressed.
"""

from __future__ import annotations

import zlib
from functools import cache, lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFArray, PDFName
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace
from reportlab.pdfgen.canvas import Canvas

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


#: Subsets kept per process: the form's fixed one, and recent ones (a prescription printed again).
SUBSET_CACHE_SIZE = 32


@lru_cache(maxsize=SUBSET_CACHE_SIZE)
def _subset_file(face: TTFontFace, subset: tuple[int, ...]) -> tuple[bytes, bytes]:
    """The TrueType file of a subset (codes 0–255 → the characters in `subset`) and its Flate compression."""
    data = TTFontFace.makeSubset(face, list(subset))
    return data, zlib.compress(data)


class SubsetCachingFace(TTFontFace):
    """A TrueType face whose subsets are built and compressed once per process (same glyphs, same bytes)."""

    def get_table(self, tag: str) -> bytes:
        """A table of the font file, copied out once: ReportLab copies the 5.6 MB glyf table of IPAex for every
        subset it builds, about a millisecond each time."""
        tables = self.__dict__.setdefault("_table_copies", {})
        if tag not in tables:
            tables[tag] = super().get_table(tag)
        return tables[tag]

    def makeSubset(self, subset: list[int]) -> bytes:  # noqa: N802 -- ReportLab's name
        """The subset's font file (from the cache)."""
        return _subset_file(self, tuple(subset))[0]

    def addSubsetObjects(self, doc, fontname: str, subset: list[int]):  # noqa: ANN001, ANN201, N802 -- ReportLab's
        """ReportLab's font descriptor and font file, the file stored already compressed (from the cache)."""
        descriptor_ref = super().addSubsetObjects(doc, fontname, subset)
        if doc.compression:
            stream = doc.idToObject[doc.idToObject[descriptor_ref.name]["FontFile2"].name]
            # With /Filter already in its dictionary, a PDFStream writes its content as it is.
            stream.content = _subset_file(self, tuple(subset))[1]
            stream.dictionary["Filter"] = PDFArray([PDFName("FlateDecode")])
        return descriptor_ref


def _caching_ttfont(name: str, path: Path) -> TTFont:
    font = TTFont(name, str(path))  # subfontIndex 0, embedded as a subset (ReportLab's default for TrueType)
    # The face ReportLab loaded, with the two subset methods above (TTFont has no way to pass a face class).
    font.face.__class__ = SubsetCachingFace
    return font


def reserve_glyphs(canvas: Canvas, font_name: str, text: str) -> None:
    """Give the characters of `text` the font's first codes in the canvas's document, before anything is drawn,
    and start whatever is drawn next on a subset of its own: the subsets of `text` are then the same in every
    document that reserves it, and built once per process."""
    font = pdfmetrics.getFont(font_name)
    font.splitString(text, canvas._doc)
    state = font.state[canvas._doc]
    # ReportLab opens a new subset when the next code is a multiple of 256.
    state.nextCode = (state.nextCode + 255) & ~255


@cache
def register_fonts() -> tuple[str, str]:
    """Register IPAex Gothic and Mincho with ReportLab (once) and return their names (gothic, mincho)."""
    for name in (GOTHIC, MINCHO):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(_caching_ttfont(name, font_path(name)))
    return GOTHIC, MINCHO


def has_glyphs(font_name: str, text: str) -> bool:
    """Whether the registered font draws every character of the text (else the PDF shows empty boxes)."""
    char_map = pdfmetrics.getFont(font_name).face.charToGlyph
    return all(ord(ch) in char_map for ch in text if not ch.isspace())
