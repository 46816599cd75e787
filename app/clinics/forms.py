"""Clinic settings and staff account forms."""

from __future__ import annotations

from wtforms import BooleanField, IntegerField, PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, NumberRange, Optional

from app.core.forms import CleanForm, max_chars
from app.core.security import ROLE_LABELS

REQUIRED = "入力してください"


class ClinicSettingsForm(CleanForm):
    """Name, 医療機関コード, address, departments, mode, idle lock."""

    name = StringField("医療機関名", validators=[DataRequired(REQUIRED), max_chars(100)])
    institution_code = StringField("医療機関コード（10桁）", validators=[DataRequired(REQUIRED), max_chars(20)])
    postal_code = StringField("郵便番号", validators=[Optional(), max_chars(8)])
    address = StringField("所在地", validators=[Optional(), max_chars(200)])
    phone = StringField("電話番号", validators=[Optional(), max_chars(20)])
    departments = TextAreaField("診療科（1行に「01 内科」のように）",
                                validators=[DataRequired(REQUIRED), max_chars(2000)])
    is_full_chart_mode = BooleanField("電子カルテモード（SOAP記載）を使う")
    idle_lock_minutes = IntegerField("画面ロックまでの時間（分）", validators=[
        DataRequired("1〜60の数字を入力してください"),
        NumberRange(min=1, max=60, message="1〜60分で指定してください")])


class StaffForm(CleanForm):
    """A staff account's name and role."""

    display_name = StringField("氏名", validators=[DataRequired(REQUIRED), max_chars(100)])
    display_kana = StringField("氏名（カナ）", validators=[Optional(), max_chars(100)])
    role = SelectField("職種", choices=[SelectChoice(*pair) for pair in ROLE_LABELS.items()], validate_choice=False)
    is_active = BooleanField("有効", default=True)


class NewStaffForm(StaffForm):
    """A new account also gets its login ID."""

    login_id = StringField("ログインID", validators=[DataRequired(REQUIRED), max_chars(64)])


class AuditFilterForm(CleanForm):
    """Filters of the audit screens (GET, so no CSRF)."""

    class Meta:
        csrf = False

    patient_id = StringField("患者ID", validators=[Optional(), max_chars(20)])
    patient = StringField("患者（氏名・患者番号）", validators=[Optional(), max_chars(100)])
    action = SelectField("操作の種類", validate_choice=False)
    user_id = SelectField("職員", validate_choice=False)
    date_from = StringField("開始日", validators=[Optional(), max_chars(20)])
    date_to = StringField("終了日", validators=[Optional(), max_chars(20)])


class OrcaSettingsForm(CleanForm):
    """The clinic's WebORCA connection."""

    base_url = StringField("ORCA APIのURL", validators=[Optional(), max_chars(300)])
    user = StringField("ユーザーID", validators=[Optional(), max_chars(100)])
    password = PasswordField("パスワード（APIキー）", validators=[Optional(), max_chars(200)])
    verify_tls = BooleanField("サーバー証明書を検証する", default=True)
    client_cert = StringField("クライアント証明書（PEMファイルのパス）", validators=[Optional(), max_chars(300)])
    client_key = StringField("クライアント証明書の秘密鍵（PEMファイルのパス）", validators=[Optional(), max_chars(300)])
