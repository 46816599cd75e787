"""The scope registry: what a partner application may be granted, each with the Japanese label the administrator
reads. Every partner route names scopes from here (`require_scope`), and a token's scopes are a subset of its
application's."""

from __future__ import annotations

#: Scope → what it allows, in the administrator's words.
SCOPES: dict[str, str] = {
    "reception.read": "受付一覧・来院の参照",
    "reception.write": "受付の登録（Web予約など）",
    "patient.read": "患者基本情報の参照・検索",
    "profile.read": "プロフィール（アレルギー・既往歴・バイタルなど）の参照",
    "diagnosis.read": "病名の参照",
    "prescription.read": "処方の参照",
    "lab.read": "検体検査の依頼と結果の参照",
    "document.read": "診療情報提供書などの文書の参照",
    "image.read": "画像（キー画像）一覧の参照",
    "fhir.read": "FHIR R4 による参照・検索（/fhir）",
}


def parse_scope(value: str | None) -> list[str]:
    """The scopes of an OAuth2 `scope` parameter (space-separated, RFC 6749 §3.3), in order, each once."""
    seen: list[str] = []
    for name in (value or "").split():
        if name not in seen:
            seen.append(name)
    return seen


def unknown_scopes(names: list[str]) -> list[str]:
    """The names that are not in the registry."""
    return [name for name in names if name not in SCOPES]
