"""Patients: search and the patient's page (header with insurance, links to every screen)."""

from flask import Blueprint

bp = Blueprint("patients", __name__, template_folder="templates")

from app.patients import views  # noqa: E402,F401
