"""Client of the WebORCA / 日医標準レセプトソフト API (facts: ../shared/docs/standards/orca.md)."""

from app.integrations.orca.client import OrcaClient
from app.integrations.orca.errors import OrcaApiError, OrcaAuthError, OrcaError, OrcaProtocolError, OrcaUnavailable
from app.integrations.orca.models import OrcaInsurance, OrcaPatient, OrcaPublicExpense, OrcaPushEvent, OrcaReception

__all__ = ["OrcaApiError", "OrcaAuthError", "OrcaClient", "OrcaError", "OrcaInsurance", "OrcaPatient",
           "OrcaProtocolError", "OrcaPublicExpense", "OrcaPushEvent", "OrcaReception", "OrcaUnavailable"]
