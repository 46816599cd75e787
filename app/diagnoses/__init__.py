"""Diagnoses (傷病名): the disease and modifier masters and each patient's coded diagnoses."""

from flask import Blueprint

bp = Blueprint("diagnoses", __name__, template_folder="templates")
