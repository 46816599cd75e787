"""Client of the 電子カルテ情報共有サービス (FHIR over HTTP)."""

from app.integrations.sharing_service.client import (
    SharingClient,
    SharingConsentRequired,
    SharingError,
    SharingRejected,
    SharingUnavailable,
)

__all__ = ["SharingClient", "SharingConsentRequired", "SharingError", "SharingRejected", "SharingUnavailable"]
