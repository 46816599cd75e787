"""Every blueprint of the application, in the order create_app registers them.

Importing a domain's view modules registers its routes on its blueprint; importing the modules that deliver outbox
messages registers their handlers (`register_handler` at module level), so that the outbox worker — in the app or as
its own process — knows every kind of message. A domain package's `__init__` only makes its blueprint."""

from __future__ import annotations

from flask import Blueprint

from app.api import bp as api_bp
from app.api import clinical_views as api_clinical_views  # noqa: F401
from app.api import openapi as api_openapi  # noqa: F401
from app.api import patients_views as api_patients_views  # noqa: F401
from app.api import reception_views as api_reception_views  # noqa: F401
from app.auth import bp as auth_bp
from app.auth import views as auth_views  # noqa: F401
from app.billing import bp as billing_bp
from app.billing import orca_interim, visit_claim  # noqa: F401
from app.billing import views as billing_views  # noqa: F401
from app.clinics import audit_views, views  # noqa: F401
from app.clinics import bp as clinics_bp
from app.core.health import bp as health_bp
from app.core.pwa import bp as pwa_bp
from app.diagnoses import bp as diagnoses_bp
from app.diagnoses import views as diagnoses_views  # noqa: F401
from app.documents import address_book_views  # noqa: F401
from app.documents import bp as documents_bp
from app.documents import services as documents_services  # noqa: F401
from app.documents import views as documents_views  # noqa: F401
from app.fhir import bp as fhir_bp
from app.fhir import views as fhir_views  # noqa: F401
from app.imaging import bp as imaging_bp
from app.imaging import views as imaging_views  # noqa: F401
from app.labs import bp as labs_bp
from app.labs import in_house_views  # noqa: F401
from app.labs import sending as labs_sending  # noqa: F401
from app.labs import views as labs_views  # noqa: F401
from app.notes import bp as notes_bp
from app.notes import chart_print_views, chart_views, schema_views  # noqa: F401
from app.notes import library_views as notes_library_views  # noqa: F401
from app.notes import views as notes_views  # noqa: F401
from app.onshi import bp as onshi_bp
from app.onshi import views as onshi_views  # noqa: F401
from app.outbox import bp as outbox_bp
from app.outbox import http_delivery  # noqa: F401
from app.outbox import views as outbox_views  # noqa: F401
from app.partners import bp as partners_bp
from app.partners import oauth_views, webhooks  # noqa: F401
from app.partners import views as partners_views  # noqa: F401
from app.patient_view import bp as patient_view_bp
from app.patient_view import views as patient_view_views  # noqa: F401
from app.patients import bp as patients_bp
from app.patients import profile_views  # noqa: F401
from app.patients import views as patients_views  # noqa: F401
from app.prescriptions import billing as prescription_billing  # noqa: F401
from app.prescriptions import bp as prescriptions_bp
from app.prescriptions import eprescription  # noqa: F401
from app.prescriptions import settings_views as prescription_settings_views  # noqa: F401
from app.prescriptions import views as prescriptions_views  # noqa: F401
from app.reception import bp as reception_bp
from app.reception import orca_sync  # noqa: F401
from app.reception import views as reception_views  # noqa: F401
from app.sharing import bp as sharing_bp
from app.sharing import connection_views as sharing_connection_views  # noqa: F401
from app.sharing import registration  # noqa: F401
from app.sharing import views as sharing_views  # noqa: F401
from app.transfer import bp as transfer_bp
from app.transfer import views as transfer_views  # noqa: F401

BLUEPRINTS: tuple[Blueprint, ...] = (
    health_bp, pwa_bp, auth_bp, clinics_bp, outbox_bp, reception_bp, patients_bp, prescriptions_bp, diagnoses_bp,
    imaging_bp, labs_bp, sharing_bp, documents_bp, notes_bp, onshi_bp, billing_bp, patient_view_bp, partners_bp,
    api_bp, transfer_bp, fhir_bp)
