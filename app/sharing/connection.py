"""The clinic's connection to the 電子カルテ情報共有サービス, set by an administrator: endpoint, 医療機関コード, bearer
token and/or TLS client certificate (secrets sealed at rest with the clinic's integrations), and the connection
test that shows the service's own answer."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor, record_audit, summarize_change
from app.core.errors import ValidationError
from app.core.forms import client_cert_setting
from app.core.urls import connection_url
from app.integrations.errors import connection_answer
from app.sharing.services import client_for

_CODE = re.compile(r"\d{10}")
#: What the audit trail may show (never the token).
_SHOWN = ("base_url", "institution_code", "cert")


def update_sharing_settings(session: Session, clinic: Clinic, actor: Actor, data: dict[str, Any]) -> Clinic:
    """Set the connection (an empty token keeps the current one); audited without the token."""
    base_url = connection_url(data.get("base_url"), "電子カルテ情報共有サービス", "患者の診療情報")
    code = (data.get("institution_code") or "").strip() or clinic.institution_code
    if not _CODE.fullmatch(code):
        raise ValidationError("医療機関コードは10桁の数字で入力してください", field="institution_code")
    if (data.get("client_key") or "").strip() and not (data.get("client_cert") or "").strip():
        raise ValidationError("秘密鍵だけでは接続できません。クライアント証明書も指定してください", field="client_cert")
    sharing = clinic.integration("sharing")
    before = {k: sharing.get(k) for k in _SHOWN}
    sharing.update({"base_url": base_url, "institution_code": code,
                    "cert": client_cert_setting(data)})
    if data.get("token"):
        sharing["token"] = data["token"].strip()
    if base_url and not (sharing.get("token") or sharing.get("cert")):
        raise ValidationError("アクセストークンかクライアント証明書のどちらかを指定してください", field="token")
    clinic.set_integration("sharing", sharing)
    session.flush()
    record_audit(session, actor, "clinic.sharing_settings", clinic_id=clinic.id, entity_type="clinic",
                 entity_id=clinic.id, summary={**summarize_change(before, {k: sharing.get(k) for k in _SHOWN}),
                                               "token_changed": bool(data.get("token"))})
    return clinic


def test_sharing_connection(clinic: Clinic) -> tuple[bool, str]:
    """Ask the service for its CapabilityStatement; (ok, the service's own answer or its refusal) in Japanese."""
    statement, error = connection_answer(client_for(clinic, timeout=5.0), lambda c: c.capability(),
                                         "接続先のURLと、アクセストークンまたはクライアント証明書を設定してください")
    if error:
        return False, error
    software = statement.get("software") or {}
    said = " ".join(str(v) for v in (software.get("name"), software.get("version")) if v)
    description = (statement.get("implementation") or {}).get("description") or ""
    if statement.get("resourceType") != "CapabilityStatement":
        return False, "接続先は応答しましたが、FHIR の CapabilityStatement ではありません。URLを確認してください"
    return True, "電子カルテ情報共有サービスに接続できました: " + "、".join(p for p in (said, description) if p)
