"""Note text as search sees it: folded (width, kana, 異体字, Latin case) one character at a time, so that a match in
the folded text maps back to the characters the doctor wrote; the words of a query; matches highlighted (escaped)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup, escape

from app.core.jp import search_key, strip_control_chars

#: Longest query answered, and most words in it (a longer one is refused with a message, never cut).
MAX_QUERY = 200
MAX_WORDS = 8
#: Half-width kana followed by its voicing mark fold together (ｶﾞ → ガ).
_VOICED = re.compile("[\uff66-\uff9d][\uff9e\uff9f]")
_SEPARATORS = re.compile(r"[\s\u3000]+")


@lru_cache(maxsize=8192)
def _fold_char(text: str) -> str:
    # Spaces and ・ fold to nothing in search_key; a note keeps them as a word break so words never run together.
    return search_key(text) or (" " if text.strip() == "" or text in "・･" else "")


def fold_with_positions(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index of the character of `text` it came from."""
    folded: list[str] = []
    origin: list[int] = []
    i = 0
    while i < len(text):
        step = 2 if _VOICED.match(text, i) else 1
        for ch in _fold_char(text[i:i + step]):
            folded.append(ch)
            origin.append(i)
        i += step
    return "".join(folded), origin


def fold(text: str) -> str:
    """The folded text (what is stored and searched)."""
    return fold_with_positions(text or "")[0]


def note_search_body(*parts: str | None) -> str:
    """The search text of a note version: its parts folded, one line break between them."""
    return "\n".join(fold(p or "") for p in parts)


@dataclass(frozen=True)
class SearchQuery:
    """The words of a query, folded; `message` says why a query cannot be answered (then there are no words)."""

    text: str
    words: tuple[str, ...] = ()
    message: str = ""

    @property
    def is_active(self) -> bool:
        """Whether the query asks for a search at all."""
        return bool(self.text)


def parse_query(raw: str | None) -> SearchQuery:
    """Read what was typed into the search box: any length or script gets words or a clear message."""
    text = strip_control_chars(raw or "").strip()
    if not text:
        return SearchQuery("")
    if len(text) > MAX_QUERY:
        return SearchQuery(text[:MAX_QUERY],
                           message=f"検索語は{MAX_QUERY}文字以内で入力してください（いま{len(text)}文字です）")
    words = [fold(w).strip() for w in _SEPARATORS.split(text)]
    words = list(dict.fromkeys(w for w in words if w))
    if not words:
        return SearchQuery(text, message="検索できる文字がありません。語句を入力してください")
    if len(words) > MAX_WORDS:
        return SearchQuery(text, message=f"検索語は{MAX_WORDS}語までにしてください（いま{len(words)}語です）")
    return SearchQuery(text, tuple(words))


def highlight(text: str, words: tuple[str, ...]) -> Markup:
    """The text escaped, with every match of the words wrapped in <mark>."""
    if not text or not words:
        return escape(text or "")
    folded, origin = fold_with_positions(text)
    spans: list[tuple[int, int]] = []
    for word in words:
        start = folded.find(word)
        while start >= 0:
            end = start + len(word) - 1
            spans.append((origin[start], _char_end(text, origin[end])))
            start = folded.find(word, start + 1)
    out: list[str] = []
    cursor = 0
    for start, end in _merged(spans):
        out += [escape(text[cursor:start]), Markup("<mark>"), escape(text[start:end]), Markup("</mark>")]
        cursor = end
    out.append(escape(text[cursor:]))
    return Markup("").join(out)


def _char_end(text: str, index: int) -> int:
    return index + (2 if _VOICED.match(text, index) else 1)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
