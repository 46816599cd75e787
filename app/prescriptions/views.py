"""Drug master search for every screen that picks a drug (allergies, contraindications, orders)."""

from __future__ import annotations

from dataclasses import asdict

from flask import jsonify, request

from app.core.security import requires
from app.db import db_session
from app.prescriptions import bp
from app.prescriptions.drug_master import search_drugs

MAX_QUERY = 100


@bp.get("/masters/drugs")
@requires("masters.read")
def drugs():
    """JSON: products matching ?q= (name, kana in any form, or 一般名), in use only."""
    text = request.args.get("q", "")[:MAX_QUERY]
    hits = search_drugs(db_session(), text, limit=20)
    return jsonify({"q": text, "items": [asdict(h) for h in hits]})
