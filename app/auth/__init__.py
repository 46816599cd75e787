"""Login with a second factor, screen lock, own account."""

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")
