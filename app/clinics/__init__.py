"""Clinic settings, staff accounts and the audit screens (administrators)."""

from flask import Blueprint

bp = Blueprint("clinics", __name__, template_folder="templates", url_prefix="/admin")

from app.clinics import audit_views, views  # noqa: E402,F401
