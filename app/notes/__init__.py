"""Full-chart mode: the day's SOAP progress note (経過記録) with its revision history, lab results copied into
it and key images attached to it."""

from flask import Blueprint

bp = Blueprint("notes", __name__, template_folder="templates")
