"""Login pages (password, new password, TOTP enrolment, second factor), logout, screen lock, own account."""

from __future__ import annotations

import time
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy.orm import Session

from app.auth import bp, flow, totp
from app.auth import services as auth
from app.auth.forms import (
    ChangePasswordForm,
    EnrolForm,
    LoginForm,
    NewPasswordForm,
    PasswordConfirmForm,
    SecondFactorForm,
)
from app.core.audit import Actor, record_audit
from app.core.errors import ValidationError
from app.core.security import public, requires
from app.core.web import current_actor, safe_local_path
from app.db import db_session


def _actor_for(user) -> Actor:
    """The user of a login in progress as an Actor (they are not logged in yet)."""
    return Actor(user.id, user.login_id, user.clinic_id, user.role, request.remote_addr,
                 request.user_agent.string[:255])


def _landing():
    return redirect(url_for("reception.index"))


@bp.route("/", methods=["GET"])
@public
def root():
    """The start page: the reception list, or the login page."""
    return _landing() if current_user.is_authenticated else redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Step 1: login ID and password; then whatever the account and the risk check ask for."""
    if current_user.is_authenticated and not session.get("locked"):
        return _landing()
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        db = db_session()
        try:
            user = auth.authenticate_password(db, form.login_id.data, form.password.data, current_actor(),
                                              flow.policy())
        except auth.LoginError as exc:
            db.commit()  # the failure count and its audit entry are kept
            error = exc.message
        else:
            if user.must_change_password:
                stage = "new_password"
            elif not user.has_totp:
                stage = "enrol"
            elif auth.second_factor_required(db, user, request.cookies.get(flow.DEVICE_COOKIE), flow.policy()):
                stage = "verify"
            else:
                _logged_in(db, user, "trusted_device")
                return _landing()
            db.commit()
            return _next_stage(user, stage)
    elif request.method == "POST":
        error = "ログインIDとパスワードを入力してください"
    if request.args.get("expired"):
        flash("ログインの有効期間（12時間）が過ぎたため、もう一度ログインしてください", "warning")
    return render_template("auth/login.html", form=form, error=error), 200 if error is None else 401


def _next_stage(user: Any, stage: str) -> Any:
    """The password step passed: remember that this browser must do `stage` next, and go to its page."""
    flow.start_pending(user, stage)
    return flow.next_stage_url(stage)


def _trust_device(db: Session, user: Any) -> str:
    """Trust this browser for the second factor (the cookie's token to set)."""
    return auth.trust_device(db, user, request.cookies.get(flow.DEVICE_COOKIE), request.user_agent.string)


def _logged_in(db: Session, user: Any, method: str) -> None:
    """The login done by `method` (trusted_device, totp, recovery, totp_enrolment): recorded, its server-side
    session opened and committed, and this browser's session started on it."""
    auth.complete_login(db, user, _actor_for(user), method)
    token = auth.open_login_session(db, user, _actor_for(user))
    db.commit()
    flow.finish_login(user, token)


def _pending_or_login(stage: str) -> Any:
    """The user in the middle of a login at `stage`; with none (or an expired one) the login page instead."""
    user = flow.pending_user(stage)
    if user is None:
        abort(redirect(url_for("auth.login")))
    return user


@bp.route("/login/verify", methods=["GET", "POST"])
@public
def verify():
    """Step 2: the one-time code from the authenticator app (or a recovery code)."""
    user = _pending_or_login("verify")
    form = SecondFactorForm()
    error = None
    if form.validate_on_submit():
        db = db_session()
        try:
            method = auth.verify_second_factor(db, user, form.code.data, _actor_for(user), flow.policy())
        except auth.LoginError as exc:
            db.commit()
            error = exc.message
        else:
            token = _trust_device(db, user)
            _logged_in(db, user, method)
            if method == "recovery":
                flash("リカバリーコードでログインしました。使ったコードは無効になりました。"
                      "スマートフォンを紛失した場合は管理者に連絡してください。", "warning")
            return flow.set_device_cookie(_landing(), token)
    return render_template("auth/verify.html", form=form, error=error, user=user), 200 if error is None else 401


@bp.route("/login/new-password", methods=["GET", "POST"])
@public
def new_password():
    """First login (or after a reset): the user chooses their own password."""
    user = _pending_or_login("new_password")
    form = NewPasswordForm()
    error = None
    if form.validate_on_submit():
        db = db_session()
        try:
            auth.change_password(db, user, _actor_for(user), new_password=form.password.data,
                                 confirmation=form.confirmation.data)
        except ValidationError as exc:
            db.rollback()
            error = exc.message
        else:
            db.commit()
            return _next_stage(user, "verify" if user.has_totp else "enrol")
    return render_template("auth/new_password.html", form=form, error=error, user=user)


@bp.route("/login/enrol", methods=["GET", "POST"])
@public
def enrol():
    """Enrol an authenticator app: QR code of the otpauth URI, confirmed with one code."""
    user = _pending_or_login("enrol")
    secret = session.get("enrol_secret") or totp.new_secret()
    session["enrol_secret"] = secret
    form = EnrolForm()
    error = None
    if form.validate_on_submit():
        db = db_session()
        try:
            codes = auth.enrol_totp(db, user, _actor_for(user), secret, form.code.data)
        except ValidationError as exc:
            db.rollback()
            error = exc.message
        else:
            token = _trust_device(db, user)
            _logged_in(db, user, "totp_enrolment")
            session["show_recovery_codes"] = codes
            return flow.set_device_cookie(redirect(url_for("auth.recovery_codes")), token)
    uri = totp.provisioning_uri(secret, user.login_id, user.clinic.name)
    return render_template("auth/enrol.html", form=form, error=error, user=user, secret=secret,
                           qr=totp.qr_svg_data_uri(uri), uri=uri)


@bp.route("/login/recovery-codes", methods=["GET"])
@requires("account.self")
def recovery_codes():
    """The recovery codes, shown once right after they are made."""
    codes = session.pop("show_recovery_codes", None)
    if not codes:
        return _landing()
    return render_template("auth/recovery_codes.html", codes=codes)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    """End the session on the server (its cookie is refused from now on, even a copy); the browser is told to drop
    anything it cached. POST only, with the CSRF token: a link or an image elsewhere cannot log a user out."""
    db = db_session()
    auth.end_login_session(db, session.get(flow.LOGIN_TOKEN_KEY), "logout")
    if current_user.is_authenticated:
        record_audit(db, current_actor(), "auth.logout", entity_type="staff_user", entity_id=current_user.id)
    db.commit()
    logout_user()
    session.clear()
    response = redirect(url_for("auth.login"))
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.route("/lock", methods=["GET"])
@requires("account.self")
def lock_screen():
    """The lock page for a browser without JavaScript (the overlay does the same on every page)."""
    return render_template("auth/lock.html", next=safe_local_path(request.args.get("next")),
                           form=PasswordConfirmForm())


@bp.route("/session/unlock", methods=["POST"])
@requires("account.self")
def unlock():
    """Unlock the screen with the password (JSON from the overlay, or the lock page's form). Wrong passwords count
    like failed logins; at the limit the account locks and this session ends."""
    data = request.get_json(silent=True) or request.form
    refused = flow.unlock_with_password(data.get("password") or "")
    if refused is None:
        if request.is_json:
            return jsonify({"status": "unlocked"})
        return redirect(safe_local_path(data.get("next")) or url_for("reception.index"))
    if refused.account_locked:
        if request.is_json:
            return jsonify({"error": "account_locked", "message": refused.message, "login": url_for("auth.login")}), 401
        flash(refused.message, "error")
        return redirect(url_for("auth.login"))
    if request.is_json:
        return jsonify({"error": "wrong_password", "message": refused.message}), 403
    flash(refused.message, "error")
    return redirect(url_for("auth.lock_screen", next=safe_local_path(data.get("next"))))


@bp.route("/session/ping", methods=["POST"])
@requires("account.self")
def session_ping():
    """The page reports user activity, so the server's idle clock agrees with the screen's."""
    if session.get("locked"):
        return jsonify({"error": "locked"}), 401
    session["last_seen"] = time.time()
    return jsonify({"status": "ok"})


@bp.route("/account", methods=["GET", "POST"])
@requires("account.self")
def account():
    """Own account: change password."""
    form = ChangePasswordForm()
    error = None
    if form.validate_on_submit():
        db = db_session()
        user = db.merge(current_user._get_current_object())
        try:
            auth.change_password(db, user, current_actor(), new_password=form.password.data,
                                 confirmation=form.confirmation.data, current_password=form.current_password.data)
        except ValidationError as exc:
            db.rollback()
            error = exc.message
        else:
            db.commit()
            # The session epoch changed: log in again, with the second factor (risk check rule).
            logout_user()
            session.clear()
            flash("パスワードを変更しました。新しいパスワードでログインしてください", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/account.html", form=form, error=error)
