"""Paging of long lists (送信状況, 操作・閲覧記録, the 6情報's sections, the オンライン資格確認 history): which page,
how many rows in all, the offset of a page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PER_PAGE = 25
#: Page numbers past this are read as the last page (no query with an absurd offset).
MAX_PAGE = 100_000


def page_number(raw: str | None) -> int:
    """The page asked for in a query string; 1 for anything that is not a positive number."""
    text = (raw or "").strip()
    return min(int(text), MAX_PAGE) if text.isdigit() and int(text) > 0 else 1


@dataclass(frozen=True)
class Page:
    """One page of a list: its number (from 1), the rows per page and the count of all rows."""

    number: int
    total: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        """How many pages the list has (at least 1)."""
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def current(self) -> int:
        """The page shown: the one asked for, or the last when it asked past the end."""
        return min(self.number, self.pages)

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.current - 1) * self.per_page

    @property
    def first_row(self) -> int:
        """The position (from 1) of the page's first row; 0 for an empty list."""
        return self.offset + 1 if self.total else 0

    @property
    def last_row(self) -> int:
        """The position of the page's last row."""
        return min(self.offset + self.per_page, self.total)


def page_of_two(first: list[Any], second: list[Any], page: Page) -> tuple[list[Any], list[Any]]:
    """The rows of one page of two lists shown one after the other (the 6情報's other institutions, then ours)."""
    start, end = page.offset, page.offset + page.per_page
    return first[start:end], second[max(start - len(first), 0):max(end - len(first), 0)]
