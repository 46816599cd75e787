"""A strict reader of one ORCA reply record: each field read as the type it must be (text without unreadable
characters, YYYY-MM-DD dates with ORCA's open ends, HH:MM:SS times, rates, yen, nested records and repeated
groups), every problem an OrcaProtocolError naming the record, the field and the bad value."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, time
from typing import Any, TypeVar

from app.integrations.orca.errors import OrcaProtocolError

#: Dates ORCA writes for "no end" (有効期限 of an insurance without one).
OPEN_ENDS = {"9999-12-31", "99999999"}
T = TypeVar("T")
_NONCHARACTER = re.compile("[\ufdd0-\ufdef\ufffe\uffff]")


class Reader:
    """One record of a reply; `where` ("患者 00001") names it in error messages."""

    def __init__(self, record: Any, where: str) -> None:
        if not isinstance(record, dict):
            raise OrcaProtocolError(f"ORCAの応答の{where}がレコードの形ではありません")
        self.record, self.where = record, where

    def fail(self, message: str) -> OrcaProtocolError:
        """An error about this record."""
        return OrcaProtocolError(f"ORCAの応答の{self.where}: {message}")

    def has(self, key: str) -> bool:
        """Whether the field is present and not blank."""
        value = self.record.get(key)
        return isinstance(value, str) and bool(value.strip())

    def text(self, key: str, what: str, *, required: bool = False, multiline: bool = False) -> str:
        """A text field, stripped; characters that are not valid text are refused (line feeds too, unless the
        field is a multi-line text such as a symptom's description)."""
        value = self.record.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise self.fail(f"{what}（{key}）が文字列ではありません")
        for char in value:
            category = unicodedata.category(char)
            if multiline and char == "\n":
                continue
            if char == "\ufffd" or category in ("Cc", "Cs") or _NONCHARACTER.match(char):
                raise self.fail(f"{what}（{key}）に文字として読めないもの（U+{ord(char):04X}）が含まれています")
        value = value.strip()
        if required and not value:
            raise self.fail(f"{what}（{key}）がありません")
        return value

    def day(self, key: str, what: str, *, required: bool = False) -> date | None:
        """A YYYY-MM-DD date; 9999-12-31 (open end) is None."""
        return self._iso(key, what, required, date.fromisoformat, 10, "日付", OPEN_ENDS)

    def required_day(self, key: str, what: str) -> date:
        """A date that must be there (an open end is not a date here)."""
        return self._present(key, what, self.day(key, what, required=True))

    def clock(self, key: str, what: str, *, required: bool = False) -> time | None:
        """An HH:MM:SS time."""
        return self._iso(key, what, required, time.fromisoformat, 8, "時刻", set())

    def required_clock(self, key: str, what: str) -> time:
        """A time that must be there."""
        return self._present(key, what, self.clock(key, what, required=True))

    def _iso(self, key: str, what: str, required: bool, parse: Callable[[str], T], length: int, noun: str,
             open_ends: set[str]) -> T | None:
        """An ISO date or time of exactly `length` characters; nothing, or an open end, is None."""
        value = self.text(key, what, required=required)
        if not value or value in open_ends:
            return None
        try:
            if len(value) != length:
                raise ValueError(value)
            return parse(value)
        except ValueError:
            raise self.fail(f"{what}（{key}={value}）が正しい{noun}ではありません") from None

    def _present(self, key: str, what: str, value: T | None) -> T:
        if value is None:
            raise self.fail(f"{what}（{key}）がありません")
        return value

    def rate(self, key: str, what: str) -> int | None:
        """A rate "0.30" as a percent (30)."""
        value = self.text(key, what)
        if not value:
            return None
        try:
            percent = round(float(value) * 100)
        except ValueError:
            raise self.fail(f"{what}（{key}={value}）が数値ではありません") from None
        if not 0 <= percent <= 100:
            raise self.fail(f"{what}（{key}={value}）が0〜1の範囲にありません")
        return percent

    def money(self, key: str, what: str) -> int | None:
        """An amount of yen (ORCA pads them with spaces: "     0")."""
        value = self.text(key, what)
        if not value:
            return None
        if not (value.isascii() and value.isdigit()):
            raise self.fail(f"{what}（{key}={value}）が金額ではありません")
        return int(value)

    def sub(self, key: str, what: str, *, required: bool = False) -> Reader | None:
        """A nested record (an empty one counts as absent)."""
        value = self.record.get(key)
        if value in (None, "", {}):
            if required:
                raise self.fail(f"{what}（{key}）がありません")
            return None
        return Reader(value, f"{self.where}の{what}")

    def required_sub(self, key: str, what: str) -> Reader:
        """A nested record that must be there."""
        value = self.sub(key, what, required=True)
        if value is None:
            raise self.fail(f"{what}（{key}）がありません")
        return value

    def records(self, key: str, what: str) -> list[Reader]:
        """A repeated group: ORCA's {} padding dropped, a lone record taken as a list of one."""
        value = self.record.get(key)
        if value in (None, ""):
            return []
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(f"{what}（{key}）が一覧の形ではありません")
        return [Reader(item, f"{self.where}の{what}") for item in value if item not in ({}, "")]
