"""The published JSON API for partner applications under /api (bearer tokens from /oauth/token, one scope per
route, the same services as the screens), described by the OpenAPI document at /api/openapi.json."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")
