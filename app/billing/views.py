"""Billing screens: the 指導料・管理料 picker of a visit and the visit summary (受付一覧 → 会計へ). Thin: the
rules are in fees.py, summary.py and visit_claim.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, flash, jsonify, redirect, render_template, request, url_for

from app.billing import bp, fees, image_lines, visit_claim
from app.billing.first_visit import first_visit
from app.billing.forms import ConfirmForm, FeeForm, OnlineForm
from app.billing.summary import build_summary
from app.core.errors import DomainError, NotFoundError
from app.core.security import requires
from app.core.timeutil import japan_today
from app.core.web import committed, current_actor, current_clinic, flashed, log_look
from app.db import db_session

T = TypeVar("T")


def _visit(visit_id: int) -> Any:
    try:
        return fees.visit_for(db_session(), current_clinic().id, visit_id)
    except NotFoundError:
        abort(404)


def _visit_shown(visit_id: int, screen: str) -> Any:
    """The visit a screen shows, its look at the patient's record logged as `screen:visit id`."""
    visit = _visit(visit_id)
    log_look(visit.patient_id, f"{screen}:{visit.id}")
    return visit


@bp.get("/billing/visits/<int:visit_id>/fees")
@requires("clinical.read")
def fee_picker(visit_id: int):
    """The fees of today's visit: what applies first, the rest greyed with the reason; ?q= searches."""
    visit = _visit_shown(visit_id, "billing.fees")
    db = db_session()
    text = request.args.get("q", "")[:40]
    visit_kind = first_visit(db, current_clinic(), visit)
    bill, chosen = fees.bill_for(db, visit), fees.chosen_fees(db, visit)
    options = fees.fee_options(db, visit, text, visit_kind.first, chosen, bill)
    db.commit()  # ORCA's answer about the 初診算定日, kept for the visit's next renders
    if request.args.get("format") == "json":
        return jsonify([{"code": o.code, "name": o.name, "points": o.points, "applies": o.applies,
                         "suggested": o.suggested, "reason": o.reason, "chosen": o.chosen} for o in options])
    return render_template("billing/fees.html", visit=visit, patient=visit.patient, options=options, q=text,
                           chosen=chosen, bill=bill, form=FeeForm(), online_form=OnlineForm(), visit_kind=visit_kind,
                           confirm=ConfirmForm(), today=japan_today())


def _confirmed(visit_id: int, form: Any = None) -> Any:
    """The visit a button posted for, once its form — by default just the CSRF token — is checked (400
    otherwise)."""
    visit = _visit(visit_id)
    if not (form or ConfirmForm()).validate_on_submit():
        abort(400)
    return visit


def _after(visit_id: int):
    return redirect(request.form.get("then") == "summary" and url_for("billing.summary", visit_id=visit_id)
                    or url_for("billing.fee_picker", visit_id=visit_id))


def _fee_change(visit: Any, change: Callable[..., T], *args: Any) -> T:
    """Make a change to the visit's fees — `change(db, clinic, actor, visit, *args)`, one of fees' — and commit it;
    when the rules refuse it, nothing is kept and the page the button was on says why (an unknown fee: 404)."""
    def refused(exc: DomainError) -> Any:
        if isinstance(exc, NotFoundError):
            abort(404)
        flash(exc.message, "error")
        return _after(visit.id)

    return committed(lambda: change(db_session(), current_clinic(), current_actor(), visit, *args), refused,
                     DomainError)


@bp.post("/billing/visits/<int:visit_id>/fees")
@requires("fee.write")
def choose_fee(visit_id: int):
    """Add a fee (every check made again)."""
    visit = _visit(visit_id)
    form = FeeForm()
    if not form.validate_on_submit():
        flash("送信内容を確認できませんでした。画面を開き直してください", "error")
        return _after(visit_id)
    fee = _fee_change(visit, fees.choose_fee, form.code.data, form.quantity.data)
    flash(f"「{fee.name}」を算定しました", "success")
    return _after(visit_id)


@bp.post("/billing/visits/<int:visit_id>/fees/<int:fee_id>/remove")
@requires("fee.write")
def remove_fee(visit_id: int, fee_id: int):
    """Take a fee off the visit."""
    visit = _confirmed(visit_id)
    _fee_change(visit, fees.remove_fee, fee_id)
    flash("料金を外しました", "success")
    return _after(visit_id)


@bp.post("/billing/visits/<int:visit_id>/online")
@requires("fee.write")
def set_online(visit_id: int):
    """情報通信機器を用いた診療 or face to face."""
    form = OnlineForm()
    visit = _confirmed(visit_id, form)
    _fee_change(visit, fees.set_online, bool(form.online.data))
    return _after(visit_id)


@bp.get("/billing/visits/<int:visit_id>")
@requires("billing.read")
def summary(visit_id: int):
    """The visit summary: every line with its code, quantity, points and state; ORCA's trial calculation."""
    visit = _visit_shown(visit_id, "billing.summary")
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
    visit = _confirmed(visit_id)
    db = db_session()
    committed(lambda: fees.resend(db, current_clinic(), current_actor(), visit, fees.bill_for(db, visit)),
              lambda exc: flashed(exc.message, url_for("billing.summary", visit_id=visit_id)), DomainError)
    flash("ORCAへ再送します", "success")
    return redirect(url_for("billing.summary", visit_id=visit_id))


@bp.post("/billing/visits/<int:visit_id>/images")
@requires("fee.write")
def add_images(visit_id: int):
    """Add the 画像診断 lines of the patient's studies of the visit's day (read from the PACS)."""
    visit = _confirmed(visit_id)
    db = db_session()
    result = committed(lambda: image_lines.add_day_studies(db, current_clinic(), current_actor(), visit),
                       lambda exc: flashed(exc.message, url_for("billing.summary", visit_id=visit_id)), DomainError)
    if result.added:
        flash(f"画像を算定に加えました: {'、'.join(result.added)}", "success")
    if result.already:
        flash(f"算定済みの画像（加えていません）: {'、'.join(result.already)}", "success")
    if result.not_billed:
        flash(f"算定しない画像: {'／'.join(result.not_billed)}", "warning")
    if not (result.added or result.already or result.not_billed):
        flash("この受付の日の画像はPACSにありません", "warning")
    return redirect(url_for("billing.summary", visit_id=visit_id))
