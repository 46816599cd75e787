"""Administrator screens: clinic settings and staff accounts."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.clinics import bp
from app.clinics import services as clinics
from app.clinics.forms import ClinicSettingsForm, NewStaffForm, OrcaSettingsForm, StaffForm
from app.core.errors import ValidationError
from app.core.forms import client_cert_fields
from app.core.security import requires
from app.core.web import committed, connection_settings_page, current_actor, current_clinic, flashed, found, mark_field
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

    def again(exc: ValidationError | None = None):
        if exc is not None:
            mark_field(form, exc, "name")
        return render_template("clinics/settings.html", form=form, clinic_obj=clinic)

    if form.validate_on_submit():
        committed(lambda: clinics.update_clinic_settings(db_session(), clinic, current_actor(), form.data), again)
        flash("医療機関の設定を保存しました", "success")
        return redirect(url_for("clinics.settings"))
    return again()


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

    def again(exc: ValidationError | None = None):
        if exc is not None:
            mark_field(form, exc, "login_id")
        return render_template("clinics/staff_form.html", form=form, user=None)

    if form.validate_on_submit():
        user, initial = committed(lambda: clinics.create_staff(db_session(), current_clinic(), current_actor(),
                                                               form.data), again)
        return render_template("clinics/initial_password.html", user=user, initial=initial)
    return again()


@bp.route("/staff/<int:user_id>", methods=["GET", "POST"])
@requires("staff.manage")
def staff_edit(user_id: int):
    """Change an account's name, role or active state."""
    db = db_session()
    user = found(clinics.get_staff(db, current_user.clinic_id, user_id))
    form = StaffForm(obj=user)

    def again(exc: ValidationError | None = None):
        if exc is not None:
            mark_field(form, exc, "role")
        return render_template("clinics/staff_form.html", form=form, user=user)

    if form.validate_on_submit():
        committed(lambda: clinics.update_staff(db, user, current_actor(), form.data), again)
        flash("職員情報を保存しました", "success")
        return redirect(url_for("clinics.staff_list"))
    return again()


@bp.route("/staff/<int:user_id>/reset", methods=["POST"])
@requires("staff.manage")
def staff_reset(user_id: int):
    """Reset a forgotten password or a lost authenticator: a new initial password, TOTP again."""
    db = db_session()
    user = found(clinics.get_staff(db, current_user.clinic_id, user_id))
    back = url_for("clinics.staff_edit", user_id=user_id)
    if user.id == current_user.id:
        return flashed("自分自身のリセットはできません。別の管理者に依頼してください", back)
    initial = committed(lambda: clinics.reset_staff_credentials(db, user, current_actor(), current_user,
                                                                request.form.get("admin_password", "")),
                        lambda exc: flashed(exc.message, back))
    return render_template("clinics/initial_password.html", user=user, initial=initial)


@bp.route("/orca", methods=["GET", "POST"])
@requires("clinic.manage")
def orca_settings():
    """The clinic's WebORCA connection, with a connection test."""
    clinic = current_clinic()
    orca = clinic.integration("orca")
    form = OrcaSettingsForm(data={"base_url": orca.get("base_url", ""), "user": orca.get("user", ""),
                                  "verify_tls": orca.get("verify", True), **client_cert_fields(orca.get("cert"))})
    return connection_settings_page(
        form, lambda db, data: clinics.update_orca_settings(db, clinic, current_actor(), data),
        lambda: test_orca_connection(clinic), "ORCAの接続設定を保存しました", "clinics.orca_settings",
        "clinics/orca.html", has_password=bool(orca.get("password")))
