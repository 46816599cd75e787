"""Password hashing (argon2) and the password rules of the security guideline."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import jaconv
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.core.errors import ValidationError
from app.core.jp import normalize_kana

MIN_LENGTH = 8
MAX_LENGTH = 128

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)  # OWASP minimum for argon2id


def use_fast_hashing_for_tests() -> None:
    """Cheaper argon2 parameters: the test suite hashes hundreds of passwords."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str) -> str:
    """An argon2id hash of the password (never store the password itself)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _denylist() -> frozenset[str]:
    path = Path(__file__).parent / "data" / "password_denylist.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _name_parts(names: list[str]) -> set[str]:
    """Family and given names as written, in folded kana, and in romaji (hanako, satou, sato)."""
    parts: set[str] = set()
    for name in names:
        for part in re.split(r"[\s\u3000]+", name or ""):
            part = part.strip()
            if len(part) < 2:
                continue
            parts.add(part.lower())
            kana = normalize_kana(part)
            parts.add(kana.lower())
            if re.fullmatch(r"[\u30a0-\u30ff]+", kana):
                romaji = jaconv.kana2alphabet(jaconv.kata2hira(kana)).lower()
                parts.update({romaji, romaji.replace("ou", "o").replace("uu", "u")})
    return {p for p in parts if len(p) >= 3 or not p.isascii()}


def check_password_rules(password: str, *, login_id: str, names: list[str]) -> None:
    """Refuse a password that breaks a rule, with a Japanese message naming the rule."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"パスワードは{MIN_LENGTH}文字以上にしてください", field="password")
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"パスワードは{MAX_LENGTH}文字以内にしてください", field="password")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"[0-9]", password):
        raise ValidationError("パスワードには英字と数字の両方を含めてください", field="password")
    folded = password.lower()
    if login_id and login_id.lower() in folded:
        raise ValidationError("パスワードにログインIDを含めることはできません", field="password")
    compact = normalize_kana(password).lower()
    for part in _name_parts(names):
        if part in folded or part in compact:
            raise ValidationError("パスワードに氏名を含めることはできません（ローマ字も含みます）", field="password")
    if folded.replace(" ", "") in _denylist():
        raise ValidationError("よく使われるパスワードのため使用できません。別のパスワードにしてください",
                              field="password")
