"""The オンライン資格確認 history files (薬剤・診療・特定健診情報): requests built, replies read strictly into plain
values. The files travel through app.integrations.national_gateway (docs/standards/onshi.md §5)."""

from app.integrations.onshi.messages import (
    CHECKUP_CODE,
    MEDICATION_CODE,
    Identity,
    checkup_request,
    medication_request,
)
from app.integrations.onshi.reading import (
    Checkup,
    CheckupHistory,
    CheckupItem,
    Dispensing,
    MedicationHistory,
    OnshiRefused,
    OnshiReplyError,
    Procedure,
    ReplyPatient,
    read_checkup_reply,
    read_medication_reply,
)

__all__ = ["CHECKUP_CODE", "MEDICATION_CODE", "Checkup", "CheckupHistory", "CheckupItem", "Dispensing", "Identity",
           "MedicationHistory", "OnshiRefused", "OnshiReplyError", "Procedure", "ReplyPatient", "checkup_request",
           "medication_request", "read_checkup_reply", "read_medication_reply"]
