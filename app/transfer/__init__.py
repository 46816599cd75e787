"""A clinic's whole record out and back in: the FHIR bulk export (NDJSON per resource type, the documents' PDFs,
the key images, a manifest with SHA-256 per file) and its import into an empty clinic, run as background jobs."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("transfer", __name__, template_folder="templates")
