"""Billing screens: the 指導料・管理料 picker of a visit and the visit summary (受付一覧 → 会計へ). Thin: the
rules are in fees.py, summary.py and visit_claim.py."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for

from app.billing import bp, fees, visit_claim
from app.billing.forms import ConfirmForm, FeeForm, OnlineForm
from app.billing.summary import build_summary
from app.core.errors import DomainError, NotFoundError
from app.core.security import requires
from app.core.timeutil import japan_today
from app.core.web import committed, current_actor, current_clinic, flashed, log_look
from app.db import db_session


def _visit(visit_id: int, look: str = "") -> Any:
    """The clinic's visit or 404; with `look`, the access-log entry of this look at its patient's record."""
    try:
        visit = fees.visit_for(db_session(), current_clinic().id, visit_id)
    except NotFoundError:
        abort(404)
    if look:
        log_look(visit.patient_id, f"{look}:{visit.id}")
    return visit


@bp.get("/billing/visits/<int:visit_id>/fees")
@requires("clinical.read")
def fee_picker(visit_id: int):
    """The fees of today's visit: what applies first, the rest greyed with the reason; ?q= searches."""
    visit = _visit(visit_id, look="billing.fees")
    db = db_session()
    text = request.args.get("q", "")[:40]
    options = fees.fee_options(db, visit, text)
    if request.args.get("format") == "json":
        return jsonify([{"code": o.code, "name": o.name, "points": o.points, "applies": o.applies,
                         "suggested": o.suggested, "reason": o.reason, "chosen": o.chosen} for o in options])
    bill = fees.bill_for(db, visit)
    chosen = fees.chosen_fees(db, visit)
    db.commit()
    return render_template("billing/fees.html", visit=visit, patient=visit.patient, options=options, q=text,
                           chosen=chosen, bill=bill, form=FeeForm(), online_form=OnlineForm(),
                           confirm=ConfirmForm(), today=japan_today())


def _posted(visit_id: int, form_class: Any) -> tuple[Any, Any]:
    """The visit a button posts to and its form; a form that does not validate (its CSRF token) answers 400."""
    visit = _visit(visit_id)
    form = form_class()
    if not form.validate_on_submit():
        abort(400)
    return visit, form


def _back(visit_id: int) -> str:
    """The page the button was on: the summary, or the fee picker."""
    return (request.form.get("then") == "summary" and url_for("billing.summary", visit_id=visit_id)
            or url_for("billing.fee_picker", visit_id=visit_id))


def _after(visit_id: int):
    return redirect(_back(visit_id))


def _refused(visit_id: int):
    """What a refused change answers: the service's reason above the page the button was on."""
    return lambda exc: flashed(exc.message, _back(visit_id))


@bp.post("/billing/visits/<int:visit_id>/fees")
@requires("fee.write")
def choose_fee(visit_id: int):
    """Add a fee (every check made again)."""
    visit = _visit(visit_id)
    form = FeeForm()
    if not form.validate_on_submit():
        flash("送信内容を確認できませんでした。画面を開き直してください", "error")
        return _after(visit_id)
    fee = committed(lambda: fees.choose_fee(db_session(), current_clinic(), current_actor(), visit, form.code.data,
                                            form.quantity.data), _refused(visit_id), DomainError)
    flash(f"「{fee.name}」を算定しました", "success")
    return _after(visit_id)


@bp.post("/billing/visits/<int:visit_id>/fees/<int:fee_id>/remove")
@requires("fee.write")
def remove_fee(visit_id: int, fee_id: int):
    """Take a fee off the visit."""
    visit, _form = _posted(visit_id, ConfirmForm)
    # A fee that is not this visit's answers 404 like any unknown id.
    committed(lambda: fees.remove_fee(db_session(), current_clinic(), current_actor(), visit, fee_id),
              lambda exc: abort(404) if isinstance(exc, NotFoundError) else _refused(visit_id)(exc), DomainError)
    flash("料金を外しました", "success")
    return _after(visit_id)


@bp.post("/billing/visits/<int:visit_id>/online")
@requires("fee.write")
def set_online(visit_id: int):
    """情報通信機器を用いた診療 or face to face."""
    visit, form = _posted(visit_id, OnlineForm)
    committed(lambda: fees.set_online(db_session(), current_clinic(), current_actor(), visit, bool(form.online.data)),
              _refused(visit_id), DomainError)
    return _after(visit_id)


@bp.get("/billing/visits/<int:visit_id>")
@requires("billing.read")
def summary(visit_id: int):
    """The visit summary: every line with its code, quantity, points and state; ORCA's trial calculation."""
    visit = _visit(visit_id, look="billing.summary")
    db = db_session()
    result = build_summary(db, current_clinic(), visit)
    bill = fees.bill_for(db, visit)
    waiting = visit_claim.waiting_reason(db, bill) if bill else ""
    db.commit()
    return render_template("billing/summary.html", visit=visit, patient=visit.patient, summary=result, bill=bill,
                           waiting=waiting, needs_resend=bool(bill and fees.needs_resend(bill)), confirm=ConfirmForm(),
                           today=japan_today())


@bp.post("/billing/visits/<int:visit_id>/resend")
@requires("billing.read")
def resend(visit_id: int):
    """Send the visit's fees again after a refusal was corrected (a change: class 03 when ORCA holds it)."""
    visit, _form = _posted(visit_id, ConfirmForm)
    db = db_session()
    bill = fees.bill_for(db, visit)
    committed(lambda: fees.resend(db, current_clinic(), current_actor(), visit, bill),
              lambda exc: flashed(exc.message, url_for("billing.summary", visit_id=visit_id)), DomainError)
    flash("ORCAへ再送します", "success")
    return redirect(url_for("billing.summary", visit_id=visit_id))
