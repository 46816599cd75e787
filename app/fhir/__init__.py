"""The FHIR R4 facade at /fhir (read and search on JP Core profiles, for partner applications) and the catalog of
which records become which resources, shared with the bulk export (app/transfer)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("fhir", __name__, url_prefix="/fhir")
