"""GET /healthz: liveness, no login; 200 when the database answers."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from app.core.security import public
from app.db import db_session

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    """Answer {"status": "ok"} when the database answers, 503 otherwise."""
    try:
        db_session().execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 — any database failure means "not healthy"
        return jsonify({"status": "error", "database": "unreachable"}), 503
    return jsonify({"status": "ok"})
