"""Errors of the ORCA client. `message_ja` is written for clinic staff; `code` is ORCA's (or HTTP's) code."""

from __future__ import annotations

from app.integrations.errors import IntegrationError, Refused


class OrcaError(IntegrationError):
    """Base: talking to ORCA failed. `retryable` says whether trying again later can help."""

    def __init__(self, message_ja: str, *, code: str | None = None, retryable: bool | None = None) -> None:
        super().__init__(message_ja)
        self.code = code
        if retryable is not None:
            self.retryable = retryable


class OrcaUnavailable(OrcaError):
    """ORCA could not be reached or did not answer (refused, timed out, HTTP 5xx)."""


class OrcaAuthError(Refused, OrcaError):
    """ORCA refused the credentials (HTTP 401/403): a setting to fix, not a passing fault."""


class OrcaApiError(OrcaError):
    """ORCA answered, with an Api_Result that is not a success; `code` and `orca_message` are ORCA's own."""

    #: 他端末使用中 (the patient is open on another terminal) in the v2 and v3x APIs: worth a retry.
    RETRYABLE_CODES = frozenset({"90", "E90", "E9999"})

    def __init__(self, message_ja: str, *, code: str, orca_message: str = "", api: str = "") -> None:
        super().__init__(message_ja, code=code, retryable=code in self.RETRYABLE_CODES)
        self.orca_message = orca_message
        self.api = api


class OrcaProtocolError(Refused, OrcaError):
    """ORCA's reply did not have the published shape (missing field, impossible date, unknown insurance type,
    text that is not valid characters …); nothing of it is used."""
