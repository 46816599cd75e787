"""A clinic's lab settings: the link to its lab company's Web API (URL, our token, the token the lab pushes
results with) and its specimen labels (size, barcode symbology), and the form staff save them with."""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor, record_audit
from app.integrations.lab_center import LabCenterClient
from app.labs.labels import MAX_SIZE_MM, MIN_SIZE_MM, SYMBOLOGIES
from app.outbox.services import DeliveryError

LABEL_DEFAULTS = {"label_width_mm": 50, "label_height_mm": 25, "barcode": "codabar"}
#: Settings never shown back or written to the audit trail.
SECRETS = ("token", "inbound_token")


def settings_of(clinic: Clinic | None) -> dict[str, Any]:
    """The clinic's lab link and label settings (defaults filled in)."""
    stored = clinic.integration("lab_center") if clinic is not None else {}
    return {**LABEL_DEFAULTS, **stored}


def is_connected(clinic: Clinic) -> bool:
    """Whether orders can go to a lab's Web API."""
    settings = settings_of(clinic)
    return bool(settings.get("base_url") and settings.get("token"))


def client_for(clinic: Clinic | None) -> LabCenterClient:
    """The client of the clinic's lab; DeliveryError (try later) when the link is not set up."""
    settings = settings_of(clinic)
    if not settings.get("base_url") or not settings.get("token"):
        raise DeliveryError("検査会社の接続先が設定されていません")
    return LabCenterClient(settings["base_url"], settings["token"])


def clinic_for_push(session: Session, institution_code: str, authorization: str) -> Clinic | None:
    """The clinic a lab pushes results to, when the request carries that clinic's inbound bearer token."""
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == institution_code[:10]))
    token = settings_of(clinic).get("inbound_token") if clinic is not None else None
    if not token or not hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return None
    return clinic


def update_settings(session: Session, clinic: Clinic, actor: Actor, form: Any) -> dict[str, str]:
    """Save the clinic's lab link and label settings; returns field errors (nothing saved when there are any)."""
    errors: dict[str, str] = {}
    current = clinic.integration("lab_center")
    values: dict[str, Any] = {"base_url": (form.get("base_url") or "").strip()[:300]}
    if values["base_url"] and not values["base_url"].startswith(("https://", "http://")):
        errors["base_url"] = "接続先は https:// で始まるURLを入力してください"
    for key in SECRETS:
        text = (form.get(key) or "").strip()[:200]
        values[key] = text or current.get(key, "")  # empty keeps the stored secret
    sizes = {}
    for key, label, low, high in (("label_width_mm", "ラベルの幅", MIN_SIZE_MM[0], MAX_SIZE_MM[0]),
                                  ("label_height_mm", "ラベルの高さ", MIN_SIZE_MM[1], MAX_SIZE_MM[1])):
        try:
            sizes[key] = int((form.get(key) or "").strip())
        except ValueError:
            errors[key] = f"{label}をmm単位の整数で入力してください"
            continue
        if not low <= sizes[key] <= high:
            errors[key] = f"{label}は{low}〜{high}mmにしてください"
    barcode = form.get("barcode") or ""
    if barcode not in SYMBOLOGIES:
        errors["barcode"] = "バーコードの種類を選んでください"
    if errors:
        return errors
    new = {**current, **values, **sizes, "barcode": barcode}
    clinic.set_integration("lab_center", new)
    record_audit(session, actor, "lab.settings", clinic_id=clinic.id, entity_type="clinic", entity_id=clinic.id,
                 summary={"after": {k: v for k, v in new.items() if k not in SECRETS}})
    return {}
