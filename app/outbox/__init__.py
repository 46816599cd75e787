"""Durable delivery of outgoing messages, and the screen where staff see their state."""

from flask import Blueprint

bp = Blueprint("outbox", __name__, template_folder="templates", url_prefix="/outbox")
