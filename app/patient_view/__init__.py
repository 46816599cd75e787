"""The patient screen: the tablet handed to a patient, locked to that patient's own summary in plain words, and its
print-out."""

from flask import Blueprint

bp = Blueprint("patient_view", __name__, template_folder="templates")
