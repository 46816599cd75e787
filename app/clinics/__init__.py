"""Clinic settings, staff accounts and the audit screens (administrators)."""

from flask import Blueprint

bp = Blueprint("clinics", __name__, template_folder="templates", url_prefix="/admin")
