"""The administrator's screen of partner applications (/admin/partners): register one with its scopes, see the
client id and secret once, rotate the secret, set webhooks, revoke tokens, deactivate. Every change is audited by
the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.orm import Session

from app.core.errors import ValidationError
from app.core.security import requires
from app.core.web import committed, current_actor, flashed, found, mark_field
from app.db import db_session
from app.partners import bp
from app.partners import services as partners
from app.partners.forms import PartnerAppForm, WebhookForm, checked, form_values, rate_limit
from app.partners.models import PartnerApp
from app.partners.scopes import SCOPES
from app.partners.tokens import TOKEN_SECONDS
from app.partners.webhooks import EVENTS

T = TypeVar("T")


def _list_page(form: PartnerAppForm, chosen: list[str] | None = None, status: int = 200) -> Any:
    apps = partners.list_apps(db_session(), current_user.clinic_id)
    return render_template("partners/list.html", apps=apps, form=form, scopes=SCOPES, chosen=chosen or [],
                           valid_secrets={a.id: partners.valid_secret_count(a) for a in apps}), status


@bp.route("/admin/partners", methods=["GET", "POST"])
@requires("partner.manage")
def index() -> Any:
    """The clinic's applications and the form to register one."""
    form = PartnerAppForm()
    if not form.validate_on_submit():
        return _list_page(form, checked("scopes"), 422 if form.is_submitted() else 200)

    def again(exc: ValidationError) -> Any:
        if exc.field in ("name", "rate_limit_per_minute"):
            mark_field(form, exc, "name")
        else:  # the scope boxes and the webhook have no field of this form: said above it
            flash(exc.message, "error")
        return _list_page(form, checked("scopes"), 422)

    credentials = committed(lambda: partners.register_app(db_session(), current_actor(), **form_values(form)), again)
    return _credentials(credentials, "登録しました")


def _credentials(credentials: partners.Credentials, done: str) -> Any:
    return render_template("partners/credentials.html", credentials=credentials, done=done,
                           token_minutes=TOKEN_SECONDS // 60)


def _app_or_404(app_id: int) -> PartnerApp:
    return found(partners.get_app(db_session(), current_user.clinic_id, app_id))


def _detail_page(app: PartnerApp, webhook_form: WebhookForm | None = None, status: int = 200) -> Any:
    webhook_form = webhook_form or WebhookForm(data={"webhook_url": app.webhook_url or ""})
    return render_template("partners/detail.html", app_obj=app, scopes=SCOPES, events=EVENTS,
                           webhook_form=webhook_form, valid_secrets=partners.valid_secret_count(app)), status


@bp.get("/admin/partners/<int:app_id>")
@requires("partner.manage")
def detail(app_id: int) -> Any:
    """One application: its scopes, limit, webhooks and credentials' actions."""
    return _detail_page(_app_or_404(app_id))


def _changed(app_id: int, change: Callable[[Session, Any, PartnerApp], T]) -> tuple[PartnerApp, T]:
    """Run one of the services' changes on the clinic's application and commit it; a refusal is said above the
    application's page (nothing kept)."""
    app = _app_or_404(app_id)
    result = committed(lambda: change(db_session(), current_actor(), app),
                       lambda exc: flashed(exc.message, url_for("partners.detail", app_id=app.id)))
    return app, result


def _done(app: PartnerApp, message: str) -> Any:
    flash(message, "success")
    return redirect(url_for("partners.detail", app_id=app.id))


@bp.post("/admin/partners/<int:app_id>/scopes")
@requires("partner.manage")
def update(app_id: int) -> Any:
    """Change the scopes and the rate limit (a withdrawn scope ends the tokens that held it)."""
    limit = PartnerAppForm().rate_limit_per_minute.data
    app, _ = _changed(app_id, lambda db, actor, app: partners.update_app(
        db, actor, app, scopes=checked("scopes"), rate_limit_per_minute=rate_limit(limit)))
    return _done(app, "スコープと上限を保存しました")


@bp.post("/admin/partners/<int:app_id>/webhook")
@requires("partner.manage")
def webhook(app_id: int) -> Any:
    """Set where and which events the application is told of."""
    app = _app_or_404(app_id)
    form = WebhookForm()
    if not form.validate_on_submit():
        return _detail_page(app, form, 422)

    def again(exc: ValidationError) -> Any:
        if exc.field == "webhook_url":
            mark_field(form, exc, "webhook_url")
            return _detail_page(app, form, 422)
        return flashed(exc.message, url_for("partners.detail", app_id=app.id))

    committed(lambda: partners.set_webhook(db_session(), current_actor(), app, url=form.webhook_url.data,
                                           events=checked("events")), again)
    return _done(app, "Webhookの設定を保存しました")


@bp.post("/admin/partners/<int:app_id>/rotate")
@requires("partner.manage")
def rotate(app_id: int) -> Any:
    """A new client secret (the old one works for 24 more hours)."""
    _app, credentials = _changed(app_id, partners.rotate_secret)
    return _credentials(credentials, "新しいシークレットを発行しました")


@bp.post("/admin/partners/<int:app_id>/webhook-secret")
@requires("partner.manage")
def webhook_secret(app_id: int) -> Any:
    """A new webhook signing key."""
    app, value = _changed(app_id, partners.remake_webhook_secret)
    return _credentials(partners.Credentials(app, app.client_id, "", value), "Webhook署名鍵を作り直しました")


@bp.post("/admin/partners/<int:app_id>/revoke")
@requires("partner.manage")
def revoke_tokens(app_id: int) -> Any:
    """End every live token of the application at once."""
    app, count = _changed(app_id, partners.revoke_tokens)
    return _done(app, f"有効なトークン{count}件を取り消しました")


@bp.post("/admin/partners/<int:app_id>/active")
@requires("partner.manage")
def toggle_active(app_id: int) -> Any:
    """Deactivate the application (its tokens end, no new ones) or activate it again."""
    app, _ = _changed(app_id, lambda db, actor, app: partners.set_active(db, actor, app, not app.active))
    return _done(app, "有効にしました" if app.active else "無効にしました（トークンはすべて使えなくなりました）")
