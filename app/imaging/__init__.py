"""Imaging: a patient's studies from the clinic's PACS (DICOMweb), the tablet viewer and key images."""

from flask import Blueprint

bp = Blueprint("imaging", __name__, template_folder="templates")
