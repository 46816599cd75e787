"""Errors of the ORCA client, each with a Japanese message for staff."""

from __future__ import annotations


class OrcaError(Exception):
    """Base: something went wrong talking to ORCA. `message_ja` is safe to show to staff."""

    retryable = True

    def __init__(self, message_ja: str, *, code: str | None = None) -> None:
        super().__init__(message_ja)
        self.message_ja = message_ja
        self.code = code


class OrcaUnavailable(OrcaError):
    """ORCA could not be reached (refused, timed out, 5xx): try again later."""


class OrcaAuthError(OrcaError):
    """ORCA refused the credentials (HTTP 401): a setting to fix, not a passing fault."""

    retryable = False


class OrcaApiError(OrcaError):
    """ORCA answered with a non-success Api_Result (the ORCA code and message are kept)."""

    #: Codes that mean "busy / try later" in every ORCA API (他端末使用中 and friends).
    RETRYABLE_CODES = {"90", "E90", "E9999", "89"}

    def __init__(self, message_ja: str, *, code: str | None = None, api: str = "") -> None:
        super().__init__(message_ja, code=code)
        self.api = api
        self.retryable = (code or "") in self.RETRYABLE_CODES


class OrcaProtocolError(OrcaError):
    """ORCA's reply did not have the shape the published API describes (missing field, bad date …)."""

    retryable = False
