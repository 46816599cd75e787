"""The 電子処方箋管理サービス connection form of the administrator's settings, and the doctor's remote-signing
authentication of the day."""

from __future__ import annotations

from wtforms import PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.core.forms import CleanForm
from app.prescriptions.eprescription import SIGNERS


def _max(n: int) -> Length:
    return Length(max=n, message=f"{n}文字以内で入力してください")


class EPrescriptionSettingsForm(CleanForm):
    """Where the 資格確認端末 is reached, its token, and how the doctor signs."""

    base_url = StringField("資格確認端末の接続先", validators=[Optional(), _max(300)])
    token = PasswordField("中継のトークン", validators=[Optional(), _max(200)])
    signer = SelectField("電子署名", choices=[SelectChoice(*pair) for pair in SIGNERS.items()], validate_choice=False)
    signer_command = StringField("署名モジュールのコマンド（絶対パス）", validators=[Optional(), _max(300)])
    remote_url = StringField("リモート署名サービスのURL", validators=[Optional(), _max(300)])


class RemoteSigningForm(CleanForm):
    """The doctor's authentication of the day with the HPKIセカンド電子証明書."""

    hpki_id = StringField("HPKI利用者ID", validators=[DataRequired("入力してください"), _max(100)])
    one_time_code = PasswordField("ワンタイムコード", validators=[DataRequired("入力してください"), _max(20)])
