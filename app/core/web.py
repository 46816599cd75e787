"""What views share: the acting user, security headers, session lifetime and idle lock."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, logout_user
from werkzeug.routing import IntegerConverter

from app.clinics.models import Clinic
from app.core.audit import Actor, log_access
from app.core.errors import ValidationError
from app.core.security import requires
from app.core.timeutil import japan_today
from app.db import db_session
from app.patients.services import get_patient

T = TypeVar("T")

#: Routes that work while the screen is locked (to unlock it, or to leave).
LOCK_EXEMPT = {"auth.unlock", "auth.lock_screen", "auth.logout", "auth.session_ping", "static", "pwa.service_worker",
               "pwa.manifest", "pwa.offline", "health.healthz"}
#: The session key of a tablet handed to a patient (app/patient_view/handover.py): while it is set, that package's
#: one rule decides what the session may reach and when it locks, in place of the idle lock below.
HANDOVER_KEY = "handover"


#: Requests a page makes by itself, not the user: the reception list's live refresh polling its revision, and the
#: browser's own checks of the service worker and manifest. They never count as activity for the idle lock (a
#: tablet left on a live list must still lock); only the user's own requests, and the page's activity ping after a
#: touch (auth.session_ping), do. The one place that marks them; a page that fetches a screen users also open
#: themselves (the list's refreshed table) says so with BACKGROUND_HEADER instead.
BACKGROUND_ENDPOINTS = frozenset({"reception.revision", "pwa.service_worker", "pwa.manifest", "static"})
#: Sent by a page's script with a fetch it makes by itself (static/js/reception.js); a client that leaves it out
#: only keeps its own session awake, and one that sends it only locks sooner.
BACKGROUND_HEADER = "X-Kamikarte-Background"


#: The last activity is written into the session cookie at most this often: rewriting and re-signing the cookie
#: on every request (each refresh of a live list) cost a fifth of a small request, and the idle lock counts minutes.
LAST_SEEN_STEP_SECONDS = 10


def patient_or_404(patient_id: int) -> Any:
    """The logged-in clinic's patient of a /patients/<id>/… route; no patient, or another clinic's, answers 404
    (never 403: whether a record exists elsewhere is not told)."""
    patient = get_patient(db_session(), current_user.clinic_id, patient_id)
    if patient is None:
        abort(404)
    return patient


#: The largest database id: the id columns are INTEGER, 32-bit signed on PostgreSQL (a larger number bound to one
#: is an error of the database, not "no such row").
MAX_ID = 2**31 - 1
def patient_view(permission: str, look: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Route decorator of every /patients/<patient_id>/… page: the role check (`requires`), then the clinic's
    patient or 404 (`patient_or_404`) and, with `look`, the access-log entry of that look; the view is called with
    the patient in place of its id."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def with_patient(patient_id: int, **kwargs: Any) -> Any:
            patient = patient_or_404(patient_id)
            if look:
                log_look(patient.id, look)
            return view(patient, **kwargs)

        return requires(permission)(with_patient)

    return decorator


def versions_page(template: str, patient: Any, versions: list[Any], look: str, **context: Any) -> str:
    """The page of one record's versions (who changed it, when and why): 404 when there are none (no such record
    of this patient), else the look logged and `template` rendered with the patient, the versions and today."""
    if not versions:
        abort(404)
    log_look(patient.id, look)
    return render_template(template, **{"patient": patient, "versions": versions, "today": japan_today(), **context})


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in URLs, limited to what a database id can be (MAX_ID): a larger number answers 404 like any
    unknown id, instead of an out-of-range error from the database."""

    def __init__(self, url_map: Any, fixed_digits: int = 0, min: int | None = None,  # noqa: A002 (werkzeug's names)
                 max: int | None = MAX_ID, signed: bool = False) -> None:  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def safe_local_path(target: str | None) -> str:
    """`target` when it is a path of this site, else "" — for `next` after login or unlock. Refused: anything with
    a scheme or host, scheme-relative forms (//host, /\\host), backslashes, control characters and white space
    (browsers drop tabs and newlines from URLs), and percent-encoded slashes or backslashes."""
    target = target or ""
    if not target.startswith("/") or target.startswith("//") or len(target) > 2000:
        return ""
    if "\\" in target or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in target):
        return ""
    if re.search(r"%(2f|5c|09|0a|0d|00)", target, re.IGNORECASE):
        return ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return ""
    return target


def current_clinic() -> Any:
    """The logged-in user's clinic (404 if it is gone)."""
    clinic = db_session().get(Clinic, current_user.clinic_id)
    if clinic is None:
        abort(404)
    return clinic


def log_look(patient_id: int, resource: str, action: str = "view") -> None:
    """Record a look at a patient's record (view, print, export) in the access log and commit it at once, so it
    stays even if the rest of the request fails."""
    db = db_session()
    log_access(db, current_actor(), patient_id=patient_id, action=action, resource=resource)
    db.commit()


def client_ip() -> str | None:
    """The caller's address (behind a trusted proxy, ProxyFix has already rewritten it)."""
    return request.remote_addr


def current_actor() -> Actor:
    """The logged-in user as an Actor for services (who, which clinic, from where)."""
    if current_user.is_authenticated:
        return Actor(current_user.id, current_user.login_id, current_user.clinic_id, current_user.role,
                     client_ip(), (request.user_agent.string or "")[:255])
    return Actor(None, None, None, None, client_ip(), (request.user_agent.string or "")[:255])


def wants_json() -> bool:
    """Whether the caller is a script (fetch) rather than a page load."""
    return request.is_json or request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/")


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the signer for a request that brings no session cookie
    (every partner API call): an empty session needs none."""

    def open_session(self, app: Flask, request: Any) -> Any:
        """An empty session when there is no cookie, else Flask's own reading of it."""
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


#: The views called with a bearer token, never a cookie (app/partners registers each `require_scope` route).
_BEARER_VIEWS: set[Callable[..., Any]] = set()


def bearer_view(view: Callable[..., T]) -> Callable[..., T]:
    """Register a view as called with a bearer token instead of a staff session (a partner route)."""
    _BEARER_VIEWS.add(view)
    return view


def bearer_route() -> bool:
    """Whether the request goes to a registered bearer-token view: the staff session rules and the session itself
    are no concern of it."""
    return current_app.view_functions.get(request.endpoint or "") in _BEARER_VIEWS


def enforce_session_rules() -> Any:
    """Before each request: end sessions past 12 hours, lock the screen after the clinic's idle time. A partner
    route (`bearer_view`: a bearer token, no cookie) is outside these staff rules."""
    if bearer_route():
        return None
    if not current_user.is_authenticated:
        return None
    now = time.time()
    started = session.get("auth_at", 0)
    if now - started > current_app.config["SESSION_MAX_HOURS"] * 3600:
        logout_user()
        session.clear()
        if wants_json():
            return jsonify({"error": "session_expired", "message": "ログインの有効期間が過ぎました"}), 401
        return redirect(url_for("auth.login", expired=1))
    if session.get(HANDOVER_KEY):
        return None
    idle_limit = current_user.clinic.idle_lock_minutes * 60
    last_seen = session.get("last_seen", now)
    if now - last_seen > idle_limit:
        session["locked"] = True
    if session.get("locked") and request.endpoint not in LOCK_EXEMPT:
        if wants_json() or request.method != "GET":
            message = "画面がロックされています。パスワードを入力してください"
            return jsonify({"error": "locked", "message": message}), 401
        return redirect(url_for("auth.lock_screen", next=request.full_path.rstrip("?")))
    if (not is_background_request() and request.endpoint != "auth.session_ping" and not session.get("locked")
            and (now - last_seen >= LAST_SEEN_STEP_SECONDS or "last_seen" not in session)):
        session["last_seen"] = now
    return None


def is_background_request() -> bool:
    """Whether the request is one a page makes by itself (BACKGROUND_ENDPOINTS, or a fetch sent with
    BACKGROUND_HEADER): it must not extend the idle time."""
    return request.endpoint in BACKGROUND_ENDPOINTS or request.headers.get(BACKGROUND_HEADER) == "1"


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def set_security_headers(response: Response) -> Response:
    """CSP without inline script, no framing, no caching of pages that may hold patient data."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if request.endpoint != "static" and not getattr(g, "cacheable", False):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


#: The error codes the published JSON API (/api) answers with, by status.
API_ERROR_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                   413: "body_too_large", 500: "server_error"}


def register_error_pages(app: Flask) -> None:
    """Japanese error pages (and JSON errors for scripts); never a stack trace."""
    messages = {
        400: "リクエストが正しくありません。画面を再読み込みしてからもう一度お試しください。",
        403: "この操作を行う権限がありません。",
        404: "お探しのページは見つかりませんでした。",
        405: "この操作は許可されていません。",
        413: "送信されたデータが大きすぎます。",
        500: "システムエラーが発生しました。時間をおいてもう一度お試しください。",
    }
    for status, message in messages.items():
        def handler(exc: Any, status: int = status, message: str = message) -> Any:
            # A 405 says which methods the address takes (RFC 9110 §15.5.6).
            allowed = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else {}
            if request.path.startswith("/api/"):  # the published API: an English code beside the message
                return jsonify({"error": API_ERROR_CODES[status], "message": message}), status, allowed
            if wants_json():
                return jsonify({"error": status, "message": message}), status
            return render_template("error.html", status=status, message=message), status

        app.register_error_handler(status, handler)


def record_file(body: bytes | str, mimetype: str, filename: str, *, inline: bool = False) -> Response:
    """A file of a patient's record sent to the browser — shown there (`inline`: a print) or downloaded under
    `filename` — and never kept in a cache."""
    disposition = "inline" if inline else "attachment"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'{disposition}; filename="{filename}"',
                                                      "Cache-Control": "no-store"})


def found(record: T | None) -> T:
    """The record a service looked up for this route, or 404 (none, or not of this clinic and patient)."""
    if record is None:
        abort(404)
    return record


def committed(call: Callable[[], T], refused: Callable[[Any], Any],
              errors: type[Exception] | tuple[type[Exception], ...] = ValidationError) -> T:
    """Run a service call that changes the database and commit it; its result. When the service refuses (one of
    `errors`: each carries a Japanese message), nothing is kept and the view answers `refused(error)` instead —
    its form again with the errors (422), or a flash and a redirect: the view stops there."""
    db = db_session()
    try:
        result = call()
    except errors as exc:
        db.rollback()
        abort(make_response(refused(exc)))
    db.commit()
    return result


def flashed(message: str, url: str) -> Any:
    """Say what went wrong above the page at `url` and go there (what a refused button answers)."""
    flash(message, "error")
    return redirect(url)


def mark_field(form: Any, exc: ValidationError, default: str) -> None:
    """Show a service's refusal under the form field it names (`default` when it names none)."""
    getattr(form, exc.field or default).errors.append(exc.message)


def connection_settings_page(form: Any, save: Any, test: Any, saved_message: str, endpoint: str, template: str,
                             **context: Any) -> Any:
    """The page of an outside system's connection settings (ORCA, PACS, the sharing and e-prescription services).
    When the posted form is valid, `save(db, data)` in one transaction (a ValidationError marks its field), then
    either `test()` — its (ok, message) shown on the page — or say `saved_message` and redirect to `endpoint`;
    otherwise `template` with the form, the test's result (None when not tested) and `context`."""
    result = None
    if form.validate_on_submit():
        db = db_session()
        try:
            save(db, form.data)
        except ValidationError as exc:
            db.rollback()
            mark_field(form, exc, "base_url")
        else:
            db.commit()
            if request.form.get("action") != "test":
                flash(saved_message, "success")
                return redirect(url_for(endpoint))
            result = test()
    return render_template(template, form=form, result=result, **context)
