"""The 送信状況 screen: outgoing messages in staff language, filtered and paged; a failed one sent again."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.errors import ValidationError
from app.core.jp import parse_date
from app.core.paging import page_number
from app.core.security import requires
from app.core.web import current_actor
from app.db import db_session, get_scoped_or_404
from app.outbox import bp, listing
from app.outbox import services as outbox
from app.outbox.models import OutboxMessage

#: The query-string keys of the filters (kept across paging and after a retry).
FILTER_KEYS = ("state", "destination", "day", "patient")


def _filters() -> tuple[listing.OutboxFilter, list[str], dict[str, str]]:
    """The filters of the query string, the Japanese messages about bad ones, and the raw values to keep."""
    raw = {key: (request.args.get(key) or "").strip()[:100] for key in FILTER_KEYS}
    errors: list[str] = []
    day = None
    if raw["day"]:
        try:
            day = parse_date(raw["day"])
        except ValueError as exc:
            errors.append(f"日付: {exc}")
    return (listing.OutboxFilter(state=raw["state"] if raw["state"] in listing.STATES else "",
                                 destination=raw["destination"] if raw["destination"] in listing.DESTINATIONS else "",
                                 day=day, patient=raw["patient"]), errors, {k: v for k, v in raw.items() if v})


@bp.get("")
@requires("outbox.read")
def index():
    """This clinic's messages, newest first, a page at a time."""
    flt, errors, kept = _filters()
    db = db_session()
    result = listing.list_page(db, current_user.clinic_id, flt, page_number(request.args.get("page")))
    return render_template("outbox/index.html", result=result, errors=errors, flt=flt, kept=kept,
                           counts=listing.counts_by_state(db, current_user.clinic_id), states=listing.STATES,
                           destinations=listing.DESTINATIONS)


@bp.post("/<int:message_id>/retry")
@requires("outbox.retry")
def retry(message_id: int):
    """Send a failed message again now (audited)."""
    db = db_session()
    message = get_scoped_or_404(db, OutboxMessage, current_user.clinic_id, message_id)
    try:
        outbox.retry_message(db, message, current_actor())
    except ValidationError as exc:
        db.rollback()
        flash(exc.message, "error")
    else:
        db.commit()
        flash(f"「{listing.action_of(message)}」をもう一度送ります", "success")
    kept = {key: request.args[key] for key in (*FILTER_KEYS, "page") if request.args.get(key)}
    return redirect(url_for("outbox.index", **kept))
