"""The outbox screen: pending, delivered and failed messages; retry."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.errors import ValidationError
from app.core.security import requires
from app.core.web import current_actor
from app.db import db_session, get_scoped_or_404
from app.outbox import bp
from app.outbox import services as outbox
from app.outbox.models import STATUS_LABELS, OutboxMessage


@bp.get("")
@requires("outbox.read")
def index():
    """Messages of this clinic, newest first, by state."""
    status = request.args.get("status") or None
    if status not in STATUS_LABELS:
        status = None
    db = db_session()
    return render_template("outbox/index.html", messages=outbox.list_messages(db, current_user.clinic_id, status),
                           counts=outbox.count_by_status(db, current_user.clinic_id), status=status,
                           labels=STATUS_LABELS)


@bp.post("/<int:message_id>/retry")
@requires("outbox.retry")
def retry(message_id: int):
    """Send a failed message again now."""
    db = db_session()
    message = get_scoped_or_404(db, OutboxMessage, current_user.clinic_id, message_id)
    try:
        outbox.retry_message(db, message, current_actor())
    except ValidationError as exc:
        db.rollback()
        flash(exc.message, "error")
    else:
        db.commit()
        flash(f"メッセージ #{message.id} を再送します", "success")
    return redirect(url_for("outbox.index", status=request.args.get("status") or None))
