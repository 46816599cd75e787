"""Client of a lab company's Web API (orders in, results out, as JAHIS HL7 v2.5 messages). Depends on requests."""

from app.integrations.lab_center.client import (
    HL7_MEDIA_TYPE,
    LabCenterClient,
    LabCenterError,
    LabCenterRejected,
    LabCenterUnavailable,
    PendingResult,
)

__all__ = ["HL7_MEDIA_TYPE", "LabCenterClient", "LabCenterError", "LabCenterRejected",
           "LabCenterUnavailable", "PendingResult"]
