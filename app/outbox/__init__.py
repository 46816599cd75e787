"""Durable delivery of outgoing messages, and the screen where staff see their state."""

from flask import Blueprint

bp = Blueprint("outbox", __name__, template_folder="templates", url_prefix="/outbox")

from app.outbox import http_delivery, views  # noqa: E402,F401
