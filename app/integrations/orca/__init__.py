"""Client of the WebORCA / 日医標準レセプトソフト HTTP API (facts: docs/standards/orca.md). No CLAIM.

Depends on requests and the standard library only (no Flask, nothing from simulators/).
"""

from app.integrations.orca.client import OrcaClient, client_from_settings
from app.integrations.orca.errors import OrcaApiError, OrcaAuthError, OrcaError, OrcaProtocolError, OrcaUnavailable
from app.integrations.orca.models import (
    OrcaBillSimulation,
    OrcaCombination,
    OrcaContraindicationCheck,
    OrcaInstitution,
    OrcaInsurance,
    OrcaInteraction,
    OrcaMedicalResult,
    OrcaPatient,
    OrcaPublicExpense,
    OrcaPushEvent,
    OrcaReception,
)

__all__ = ["OrcaApiError", "OrcaAuthError", "OrcaBillSimulation", "OrcaClient", "OrcaCombination",
           "OrcaContraindicationCheck", "OrcaError",
           "OrcaInstitution", "OrcaInsurance", "OrcaInteraction", "OrcaMedicalResult", "OrcaPatient",
           "OrcaProtocolError", "OrcaPublicExpense", "OrcaPushEvent", "OrcaReception", "OrcaUnavailable",
           "client_from_settings"]
