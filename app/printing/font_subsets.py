"""TrueType subsets built once per process: what ReportLab writes for a font, kept and reused.

ReportLab embeds a TrueType font as subsets of up to 256 glyphs, giving a document's characters their
codes in the order they are first drawn. For each subset it writes the subset's font file (built from
the 5.6 MB glyf table of IPAex, then compressed), a ToUnicode map and a widths array — together the larger
part of writing a prescription (about 7 ms of 13). The same glyphs in the same order give the same bytes,
so:
- a document that reserves its form's printed text first (reserve_glyphs) gets the same first subsets in
  every PDF, only the filled-in values landing in a subset of their own;
- SubsetCachingTTFont keeps the last subsets' font files (compressed), ToUnicode maps (compressed) and
  widths (formatted), so a form's fixed subsets cost nothing after the first print, and a prescription
  printed again nothing at all.
The objects written are ReportLab's own, only their content is taken from the cache.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFArray, PDFName, PDFObject
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace
from reportlab.pdfgen.canvas import Canvas

#: Subsets kept per process: the form's fixed ones, and recent ones (a prescription printed again).
CACHE_SIZE = 32


@lru_cache(maxsize=CACHE_SIZE)
def _subset_file(face: TTFontFace, subset: tuple[int, ...]) -> tuple[bytes, bytes]:
    """The TrueType file of a subset (codes 0–255 → the characters in `subset`) and its Flate compression."""
    data = TTFontFace.makeSubset(face, list(subset))
    return data, zlib.compress(data)


@lru_cache(maxsize=CACHE_SIZE)
def _compressed(data: bytes) -> bytes:
    return zlib.compress(data)


class _Formatted(PDFObject):
    """A PDF value already written out (a subset's widths array)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document) -> bytes:  # noqa: ANN001, ARG002 -- ReportLab's signature
        """The bytes as they are."""
        return self.data


@lru_cache(maxsize=CACHE_SIZE)
def _widths(widths: tuple[int, ...]) -> _Formatted:
    return _Formatted(PDFArray(list(widths)).format(None))


def _store_compressed(stream: PDFObject, data: bytes) -> None:
    # With /Filter already in its dictionary, a PDFStream writes its content as it is.
    stream.content = data
    stream.dictionary["Filter"] = PDFArray([PDFName("FlateDecode")])


class SubsetCachingFace(TTFontFace):
    """A TrueType face whose subset font files are built and compressed once per process."""

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
            _store_compressed(stream, _subset_file(self, tuple(subset))[1])
        return descriptor_ref


class SubsetCachingTTFont(TTFont):
    """A TrueType font (embedded as subsets, as ReportLab does) whose subset objects come from the cache."""

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        # The face ReportLab loaded, with the subset methods above (TTFont has no way to pass a face class).
        self.face.__class__ = SubsetCachingFace

    def addObjects(self, doc) -> None:  # noqa: ANN001, N802 -- ReportLab's name
        """ReportLab's font objects for each subset, with widths and ToUnicode maps from the cache."""
        state = self.state.get(doc)
        prefix, count = (state.internalName, len(state.subsets)) if state else (None, 0)
        super().addObjects(doc)
        if prefix is None:
            return
        fonts = doc.idToObject["BasicFonts"].dict
        for number in range(count):
            font = fonts[f"{prefix}+{number}"]
            font.Widths = _widths(tuple(font.Widths.sequence))
            if doc.compression:
                cmap = doc.idToObject[font.ToUnicode.name]
                content = cmap.content.encode("utf-8") if isinstance(cmap.content, str) else cmap.content
                _store_compressed(cmap, _compressed(content))


def reserve_glyphs(canvas: Canvas, font_name: str, text: str) -> None:
    """Give the characters of `text` the font's first codes in the canvas's document, before anything is drawn,
    and start whatever is drawn next on a subset of its own: the subsets of `text` are then the same in every
    document that reserves it, and built once per process."""
    font = pdfmetrics.getFont(font_name)
    font.splitString(text, canvas._doc)
    state = font.state[canvas._doc]
    # ReportLab opens a new subset when the next code is a multiple of 256.
    state.nextCode = (state.nextCode + 255) & ~255
