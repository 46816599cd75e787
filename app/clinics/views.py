"""Administrator screens: clinic settings and staff accounts."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as HTTPResponse

from app.clinics import bp
from app.clinics import services as clinics
from app.clinics.forms import ClinicSettingsForm, NewStaffForm, OrcaSettingsForm, StaffForm
from app.core.errors import ValidationError
from app.core.forms import client_cert_fields
from app.core.security import requires
from app.core.web import current_actor, current_clinic, save_connection_settings
from app.db import db_session
from app.reception.orca_sync import test_orca_connection


@bp.route("/clinic", methods=["GET", "POST"])
@requires("clinic.manage")
def settings():
    """The clinic's settings."""
    clinic = current_clinic()
    form = ClinicSettingsForm(obj=clinic)
    if not form.is_submitted():
        form.departments.data = "\n".join(f"{d['code']} {d['name']}" for d in clinic.departments or [])
    if form.validate_on_submit():
        db = db_session()
        try:
            clinics.update_clinic_settings(db, clinic, current_actor(), form.data)
        except ValidationError as exc:
            db.rollback()
            getattr(form, exc.field or "name").errors.append(exc.message)
        else:
            db.commit()
            flash("医療機関の設定を保存しました", "success")
            return redirect(url_for("clinics.settings"))
    return render_template("clinics/settings.html", form=form, clinic_obj=clinic)


@bp.route("/staff", methods=["GET"])
@requires("staff.manage")
def staff_list():
    """The clinic's staff accounts."""
    return render_template("clinics/staff_list.html", staff=clinics.list_staff(db_session(), current_user.clinic_id))


@bp.route("/staff/new", methods=["GET", "POST"])
@requires("staff.manage")
def staff_new():
    """Create an account; its initial password is shown once."""
    form = NewStaffForm()
    if form.validate_on_submit():
        db = db_session()
        try:
            user, initial = clinics.create_staff(db, current_clinic(), current_actor(), form.data)
        except ValidationError as exc:
            db.rollback()
            getattr(form, exc.field or "login_id").errors.append(exc.message)
        else:
            db.commit()
            return render_template("clinics/initial_password.html", user=user, initial=initial)
    return render_template("clinics/staff_form.html", form=form, user=None)


@bp.route("/staff/<int:user_id>", methods=["GET", "POST"])
@requires("staff.manage")
def staff_edit(user_id: int):
    """Change an account's name, role or active state."""
    db = db_session()
    user = clinics.get_staff(db, current_user.clinic_id, user_id)
    if user is None:
        abort(404)
    form = StaffForm(obj=user)
    if form.validate_on_submit():
        try:
            clinics.update_staff(db, user, current_actor(), form.data)
        except ValidationError as exc:
            db.rollback()
            getattr(form, exc.field or "role").errors.append(exc.message)
        else:
            db.commit()
            flash("職員情報を保存しました", "success")
            return redirect(url_for("clinics.staff_list"))
    return render_template("clinics/staff_form.html", form=form, user=user)


@bp.route("/staff/<int:user_id>/reset", methods=["POST"])
@requires("staff.manage")
def staff_reset(user_id: int):
    """Reset a forgotten password or a lost authenticator: a new initial password, TOTP again."""
    db = db_session()
    user = clinics.get_staff(db, current_user.clinic_id, user_id)
    if user is None:
        abort(404)
    if user.id == current_user.id:
        flash("自分自身のリセットはできません。別の管理者に依頼してください", "error")
        return redirect(url_for("clinics.staff_edit", user_id=user_id))
    try:
        initial = clinics.reset_staff_credentials(db, user, current_actor(), current_user,
                                                  request.form.get("admin_password", ""))
    except ValidationError as exc:
        db.rollback()
        flash(exc.message, "error")
        return redirect(url_for("clinics.staff_edit", user_id=user_id))
    db.commit()
    return render_template("clinics/initial_password.html", user=user, initial=initial)


@bp.route("/orca", methods=["GET", "POST"])
@requires("clinic.manage")
def orca_settings():
    """The clinic's WebORCA connection, with a connection test."""
    clinic = current_clinic()
    orca = (clinic.integrations or {}).get("orca") or {}
    form = OrcaSettingsForm(data={"base_url": orca.get("base_url", ""), "user": orca.get("user", ""),
                                  "verify_tls": orca.get("verify", True), **client_cert_fields(orca.get("cert"))})
    result = save_connection_settings(
        form, lambda db, data: clinics.update_orca_settings(db, clinic, current_actor(), data),
        lambda: test_orca_connection(clinic), "ORCAの接続設定を保存しました", "clinics.orca_settings")
    if isinstance(result, HTTPResponse):  # saved: back to the page
        return result
    return render_template("clinics/orca.html", form=form, result=result, has_password=bool(orca.get("password")))
