"""Login, second-factor and password forms, with Japanese field messages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

REQUIRED = "入力してください"
LONG_128 = "128文字以内で入力してください"


class LoginForm(FlaskForm):
    """Login ID and password."""

    login_id = StringField("ログインID", validators=[
        DataRequired(REQUIRED), Length(max=64, message="64文字以内で入力してください")])
    password = PasswordField("パスワード", validators=[DataRequired(REQUIRED), Length(max=128, message=LONG_128)])


class SecondFactorForm(FlaskForm):
    """A six-digit code from the authenticator app, or a recovery code."""

    code = StringField("ワンタイムコード", validators=[
        DataRequired(REQUIRED), Length(max=32, message="コードが長すぎます")])


class NewPasswordForm(FlaskForm):
    """A new password with its confirmation."""

    password = PasswordField("新しいパスワード", validators=[DataRequired(REQUIRED), Length(max=128, message=LONG_128)])
    confirmation = PasswordField("新しいパスワード（確認）", validators=[DataRequired(REQUIRED), Length(max=128)])


class ChangePasswordForm(NewPasswordForm):
    """Change of one's own password: the current one first."""

    current_password = PasswordField("現在のパスワード", validators=[DataRequired(REQUIRED), Length(max=128)])


class EnrolForm(FlaskForm):
    """Confirm a new authenticator with one of its codes."""

    code = StringField("アプリに表示された6桁のコード", validators=[
        DataRequired(REQUIRED), Length(max=16, message="6桁の数字を入力してください")])


class PasswordConfirmForm(FlaskForm):
    """Re-enter the password before a sensitive change."""

    password = PasswordField("パスワード", validators=[DataRequired(REQUIRED), Length(max=128)])
