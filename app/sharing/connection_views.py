"""The administrator's screen for the clinic's connection to the 電子カルテ情報共有サービス."""

from __future__ import annotations

from wtforms import PasswordField, StringField
from wtforms.validators import Optional

from app.core.forms import CleanForm, client_cert_fields, max_chars
from app.core.security import requires
from app.core.web import connection_settings_page, current_actor, current_clinic
from app.sharing import bp
from app.sharing.connection import test_sharing_connection, update_sharing_settings


class SharingSettingsForm(CleanForm):
    """Endpoint, 医療機関コード, token, client certificate."""

    base_url = StringField("接続先（FHIRのベースURL）", validators=[Optional(), max_chars(300)])
    institution_code = StringField("医療機関コード（10桁）", validators=[Optional(), max_chars(10)])
    token = PasswordField("アクセストークン", validators=[Optional(), max_chars(500)])
    client_cert = StringField("クライアント証明書（PEMファイルのパス）", validators=[Optional(), max_chars(300)])
    client_key = StringField("クライアント証明書の秘密鍵（PEMファイルのパス）", validators=[Optional(), max_chars(300)])


@bp.route("/admin/sharing", methods=["GET", "POST"])
@requires("clinic.manage")
def connection_settings():
    """The clinic's connection to the sharing service, with a connection test."""
    clinic = current_clinic()
    raw = clinic.integration("sharing")
    form = SharingSettingsForm(data={"base_url": raw.get("base_url", ""),
                                     "institution_code": raw.get("institution_code") or clinic.institution_code,
                                     **client_cert_fields(raw.get("cert"))})
    return connection_settings_page(
        form, lambda db, data: update_sharing_settings(db, clinic, current_actor(), data),
        lambda: test_sharing_connection(clinic), "電子カルテ情報共有サービスの接続設定を保存しました",
        "sharing.connection_settings", "sharing/connection.html",
        has_token=bool(raw.get("token")))
