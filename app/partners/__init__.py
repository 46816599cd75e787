"""Partner applications: OAuth2 client credentials, scoped bearer tokens, the administrator's screen and signed
webhooks. The blueprint holds the token endpoints (/oauth/…) and the screen (/admin/partners)."""

from flask import Blueprint

bp = Blueprint("partners", __name__, template_folder="templates")
