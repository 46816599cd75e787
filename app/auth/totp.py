"""TOTP (RFC 6238, SHA-1, 6 digits, 30 s): secrets, enrolment QR codes, verification, recovery codes."""

from __future__ import annotations

import secrets
import time

import pyotp
import segno

from app.auth.passwords import hash_password, verify_password

ISSUER = "Kamikarte"
RECOVERY_CODE_COUNT = 10


def new_secret() -> str:
    """A fresh base32 secret (160 bits)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, login_id: str, clinic_name: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=f"{login_id} ({clinic_name})", issuer_name=ISSUER)


def qr_svg_data_uri(uri: str) -> str:
    """The URI as a QR code, an SVG data URI for an <img> (no inline script or style needed)."""
    return segno.make(uri, error="m").svg_data_uri(scale=6, border=2)


def matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step a code belongs to (now, or one step either side for clock drift), or None."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    now = time.time() if at is None else at
    totp = pyotp.TOTP(secret)
    current = int(now // totp.interval)
    for step in (current, current - 1, current + 1):
        if secrets.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten one-time recovery codes, shown once (xxxx-xxxx, letters and digits a person can read)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return ["".join(secrets.choice(alphabet) for _ in range(4)) + "-" + "".join(
        secrets.choice(alphabet) for _ in range(4)) for _ in range(RECOVERY_CODE_COUNT)]


def normalize_recovery_code(code: str) -> str:
    """Recovery codes compare without case, spaces or the hyphen."""
    return (code or "").strip().lower().replace(" ", "").replace("-", "")


def hash_recovery_code(code: str) -> str:
    """A recovery code is kept only as a hash, like a password."""
    return hash_password(normalize_recovery_code(code))


def recovery_code_matches(code_hash: str, code: str) -> bool:
    """Whether a typed recovery code matches a stored hash."""
    return verify_password(code_hash, normalize_recovery_code(code))
