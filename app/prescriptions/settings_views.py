"""管理 → 電子処方箋接続: the administrator sets up the clinic's 電子処方箋管理サービス connection (the 資格確認端末's
folders or relay, its token sealed at rest, the signer) and tests it with the service's own answer shown; and the
doctor's remote-signing authentication of the day."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.security import requires
from app.core.web import connection_settings_page, current_actor, current_clinic, safe_local_path
from app.db import db_session
from app.integrations.eprescription.signing import SigningError
from app.prescriptions import bp, eprescription, remote_signing
from app.prescriptions.forms import EPrescriptionSettingsForm, RemoteSigningForm


@bp.route("/clinic/eprescription", methods=["GET", "POST"])
@requires("clinic.manage")
def eprescription_settings():
    """The connection, with a connection test."""
    clinic = current_clinic()
    raw = eprescription.stored_settings(clinic)
    form = EPrescriptionSettingsForm(data={"base_url": raw.get("url", ""), "signer": raw.get("signer", ""),
                                           "signer_command": raw.get("signer_command", ""),
                                           "remote_url": raw.get("remote_url", "")})
    return connection_settings_page(
        form, lambda db, data: eprescription.update_settings(db, clinic, current_actor(), data),
        lambda: eprescription.test_connection(clinic), "電子処方箋管理サービスの接続設定を保存しました",
        "prescriptions.eprescription_settings", "prescriptions/eprescription_settings.html",
        has_token=bool(raw.get("token")), institution_code=clinic.institution_code)


@bp.route("/prescriptions/remote-signing", methods=["GET", "POST"])
@requires("prescription.write")
def remote_signing_login():
    """The doctor's authentication of the day with the HPKIセカンド電子証明書 (then back to `next`)."""
    clinic = current_clinic()
    form = RemoteSigningForm()
    target = safe_local_path(request.args.get("next")) or url_for("reception.index")
    if form.validate_on_submit():
        db = db_session()
        try:
            remote_signing.authenticate(db, clinic, current_actor(), form.hpki_id.data, form.one_time_code.data)
        except SigningError as exc:
            db.rollback()
            form.one_time_code.errors.append(exc.message_ja)
        else:
            db.commit()
            flash("本日のリモート署名の認証が済みました", "success")
            return redirect(target)
    done = remote_signing.is_authenticated(db_session(), clinic, current_user.id)
    return render_template("prescriptions/remote_signing.html", form=form, done=done, target=target)
