"""Patients: search, the patient's page (header with insurance, links to every screen) and the profile."""

from flask import Blueprint

bp = Blueprint("patients", __name__, template_folder="templates")
