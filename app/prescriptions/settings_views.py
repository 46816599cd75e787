"""管理 → 電子処方箋接続: the administrator sets up the clinic's 電子処方箋管理サービス connection (the 資格確認端末's
folders or relay, its token sealed at rest, the signer) and tests it with the service's own answer shown."""

from __future__ import annotations

from flask import render_template
from werkzeug.wrappers import Response as HTTPResponse

from app.core.security import requires
from app.core.web import current_actor, current_clinic, save_connection_settings
from app.prescriptions import bp, eprescription
from app.prescriptions.forms import EPrescriptionSettingsForm


@bp.route("/clinic/eprescription", methods=["GET", "POST"])
@requires("clinic.manage")
def eprescription_settings():
    """The connection, with a connection test."""
    clinic = current_clinic()
    raw = (clinic.integrations or {}).get("eprescription") or {}
    form = EPrescriptionSettingsForm(data={"base_url": raw.get("url", ""), "signer": raw.get("signer", ""),
                                           "signer_command": raw.get("signer_command", "")})
    result = save_connection_settings(
        form, lambda db, data: eprescription.update_settings(db, clinic, current_actor(), data),
        lambda: eprescription.test_connection(clinic), "電子処方箋管理サービスの接続設定を保存しました",
        "prescriptions.eprescription_settings")
    if isinstance(result, HTTPResponse):  # saved: back to the page
        return result
    return render_template("prescriptions/eprescription_settings.html", form=form, result=result,
                           has_token=bool(raw.get("token")), institution_code=clinic.institution_code)
