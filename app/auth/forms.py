"""Login, second-factor and password forms, with Japanese field messages."""

from __future__ import annotations

from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.core.forms import CleanForm

REQUIRED = "入力してください"
LONG_128 = "128文字以内で入力してください"


class LoginForm(CleanForm):
    """Login ID and password."""

    login_id = StringField("ログインID", validators=[
        DataRequired(REQUIRED), Length(max=64, message="64文字以内で入力してください")])
    password = PasswordField("パスワード", validators=[DataRequired(REQUIRED), Length(max=128, message=LONG_128)])


class SecondFactorForm(CleanForm):
    """A six-digit code from the authenticator app, or a recovery code."""

    code = StringField("ワンタイムコード", validators=[
        DataRequired(REQUIRED), Length(max=32, message="コードが長すぎます")])


class NewPasswordForm(CleanForm):
    """A new password with its confirmation."""

    password = PasswordField("新しいパスワード", validators=[DataRequired(REQUIRED), Length(max=128, message=LONG_128)])
    confirmation = PasswordField("新しいパスワード（確認）", validators=[DataRequired(REQUIRED), Length(max=128)])


class ChangePasswordForm(NewPasswordForm):
    """Change of one's own password: the current one first."""

    current_password = PasswordField("現在のパスワード", validators=[DataRequired(REQUIRED), Length(max=128)])


class EnrolForm(CleanForm):
    """Confirm a new authenticator with one of its codes."""

    code = StringField("アプリに表示された6桁のコード", validators=[
        DataRequired(REQUIRED), Length(max=16, message="6桁の数字を入力してください")])


class PasswordConfirmForm(CleanForm):
    """Re-enter the password before a sensitive change."""

    password = PasswordField("パスワード", validators=[DataRequired(REQUIRED), Length(max=128)])
