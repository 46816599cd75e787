"""Kamikarte: create_app() builds the Flask application (config, extensions, blueprints, CLI, error pages)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from flask import Flask, g, render_template, request, session
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from app import db
from app.auth.flow import LOGIN_TOKEN_KEY
from app.auth.services import active_login_user
from app.blueprints import BLUEPRINTS
from app.cli import register_cli
from app.clinics.models import StaffUser
from app.config import Config
from app.core import secrets, templating
from app.core.audit import record_audit
from app.core.web import (
    BoundedIntConverter,
    CookieSessions,
    current_actor,
    enforce_session_rules,
    register_error_pages,
    set_security_headers,
)
from app.extensions import csrf, login_manager
from app.labs.poller import start_lab_poller
from app.outbox.worker import OutboxWorker
from app.partners import webhook_hosts
from app.partners.webhook_hosts import WebhookHosts
from app.patient_view.handover import enforce_handover
from app.reception.poller import OrcaPoller
from app.transfer.jobs import TransferWorker


def create_app(config: Config | None = None) -> Flask:
    """The application factory."""
    config = config or Config()
    config.validate()  # production refuses to start without its secrets, naming the variable
    app = Flask(__name__, static_folder="../static", static_url_path="/static", template_folder="templates")
    app.session_interface = CookieSessions()
    app.config.update(config.as_flask_config())
    app.extensions["kamikarte_config"] = config
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    if app.config["TRUST_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    logging.basicConfig(level=logging.INFO)

    secrets.configure(app.config["SECRETS_KEY"] or app.config["SECRET_KEY"])
    webhook_hosts.configure(WebhookHosts.from_settings(config.WEBHOOK_HOSTS, config.WEBHOOK_INTERNAL_HOSTS))
    db.init_app(app)
    csrf.init_app(app)
    _init_login(app)
    _register_blueprints(app)
    _register_request_hooks(app)
    _register_template_helpers(app)
    register_cli(app)
    if app.config["OUTBOX_WORKER_THREAD"] and not app.config["TESTING"]:
        # Started with the first request, so that CLI commands (db upgrade …) never run a worker.
        app.before_request(lambda: _start_outbox_thread(app))
    return app


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "ログインしてください"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(identity: str) -> StaffUser | None:
        found = active_login_user(db.db_session(), identity, session.get(LOGIN_TOKEN_KEY))
        if found is None:
            return None
        user, g.handed_over_patient_id = found  # read by patient_view.handover.enforce_handover
        return user


def _register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter  # before any rule is added
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)


def _register_request_hooks(app: Flask) -> None:
    app.before_request(enforce_session_rules)
    app.before_request(enforce_handover)  # after the 12-hour limit: a handed-over tablet reaches one screen only
    app.after_request(set_security_headers)
    register_error_pages(app)

    @app.errorhandler(CSRFError)
    def csrf_rejected(exc: CSRFError) -> Any:
        # A forged or stale token is a security event: audited in its own transaction.
        actor = current_actor()
        with db.new_session() as session:
            record_audit(session, actor, "security.csrf_rejected",
                         summary={"path": request.path[:200], "reason": exc.description})
            session.commit()
        message = "フォームの有効期限が切れたか、正しくない送信です。画面を再読み込みしてからもう一度操作してください。"
        return render_template("error.html", status=400, message=message), 400


def _register_template_helpers(app: Flask) -> None:
    templating.register(app)


def _start_outbox_thread(app: Flask) -> None:
    """Start the background threads of the embedded default: outbox worker, ORCA poller, lab poller and the
    export/import jobs' worker."""
    lock = app.extensions.setdefault("outbox_worker_lock", threading.Lock())
    with lock:
        if "outbox_worker" in app.extensions:
            return
        worker = OutboxWorker(app.extensions["db_sessionmaker"], app.config["OUTBOX_POLL_SECONDS"],
                              app.config["OUTBOX_BASE_DELAY_SECONDS"])
        worker.start_thread()
        app.extensions["outbox_worker"] = worker
        if app.config["ORCA_POLL_SECONDS"] > 0:
            poller = OrcaPoller(app.extensions["db_sessionmaker"], app.config["ORCA_POLL_SECONDS"])
            poller.start_thread()
            app.extensions["orca_poller"] = poller
        start_lab_poller(app)
        transfer = TransferWorker(app.extensions["db_sessionmaker"], app.config["OUTBOX_POLL_SECONDS"],
                                  Path(app.config["TRANSFER_DIR"]))
        transfer.start_thread()
        app.extensions["transfer_worker"] = transfer
