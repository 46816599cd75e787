"""Client of the 電子処方箋管理サービス (FHIR documents over HTTPS). Depends on requests only."""

from app.integrations.eprescription.client import (
    EPrescriptionClient,
    EPrescriptionError,
    EPrescriptionRejected,
    EPrescriptionUnavailable,
    Registration,
)

__all__ = ["EPrescriptionClient", "EPrescriptionError", "EPrescriptionRejected", "EPrescriptionUnavailable",
           "Registration"]
