"""Every model, imported in one place so Alembic and the tests see the whole schema."""

from app.auth.models import RecoveryCode, TrustedDevice
from app.billing.models import Procedure, ProcedureMasterVersion, VisitBill, VisitFee
from app.clinics.models import Clinic, StaffUser
from app.core.models import AccessLogEntry, AuditEntry, KeptPdf
from app.db import Base
from app.diagnoses.models import Diagnosis, Disease, Modifier
from app.documents.models import ReferralLetter
from app.imaging.models import KeyImage
from app.labs.models import LabItem, LabMessage, LabOrder, LabResult, LabSet, LabSpecimen
from app.notes.models import NoteDraft, NotePhrase, NoteTemplate, ProgressNote
from app.notes.schema_models import SchemaDrawing
from app.notes.search_models import NoteSearchEntry
from app.onshi.models import HistoryConsent, HistoryFetch
from app.outbox.models import OutboxMessage
from app.partners.models import PartnerApp, PartnerRateWindow, PartnerSecret, PartnerToken
from app.patients.models import Patient
from app.patients.profile_models import (
    Allergy,
    BloodType,
    CareLevel,
    Contraindication,
    Disability,
    Infection,
    PastHistory,
    Pregnancy,
    Vaccination,
    VitalSign,
)
from app.prescriptions.models import Drug, Prescription, PrescriptionLine, PrescriptionRp
from app.reception.models import SyncState, Visit
from app.sharing.models import (
    NationalEntryCopy,
    NationalEntryDecision,
    SharingConsent,
    SharingRegistration,
    SharingWithholding,
)
from app.transfer.models import TransferJob

__all__ = ["AccessLogEntry", "Allergy", "AuditEntry", "Base", "BloodType", "CareLevel", "Clinic", "Contraindication",
           "Diagnosis", "Disability", "Disease", "Drug", "Infection", "KeyImage", "LabItem", "LabMessage", "LabOrder",
           "LabResult", "LabSet", "LabSpecimen", "Modifier", "NoteSearchEntry", "OutboxMessage", "PastHistory",
           "Pregnancy", "Patient", "Prescription", "PrescriptionLine", "PrescriptionRp", "RecoveryCode",
           "SchemaDrawing", "StaffUser", "SyncState", "TrustedDevice", "Vaccination", "Visit", "VitalSign",
           "ReferralLetter", "SharingConsent", "SharingRegistration", "ProgressNote", "NoteDraft", "NotePhrase",
           "NoteTemplate", "NationalEntryCopy", "NationalEntryDecision", "SharingWithholding", "HistoryConsent",
           "HistoryFetch", "Procedure", "ProcedureMasterVersion", "VisitBill", "VisitFee", "PartnerApp",
           "PartnerRateWindow", "PartnerSecret", "PartnerToken", "KeptPdf", "TransferJob"]
