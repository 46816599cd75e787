"""The tablet handed to a patient: the session's state, and the one rule that holds it.

While a session is handed over (core.web.HANDOVER_KEY set), `enforce_handover` — a before-request hook of the
whole application, so no template or view has to remember it — lets through only the patient screen itself, its
activity ping, its lock page and the staff member's way out (the password), plus static files. Everything else, every
staff screen, other patient, API call or logout, is refused: a page load is sent back to the patient screen, a
script gets 403. After the clinic's idle time without a touch the screen goes to its lock page, which shows
nothing of the patient; only the staff member's password (counted like a failed login) leaves.
The handover is also marked on the server's login session (auth.services.mark_handover), so a copy of the cookie
taken before it gets only the lock page."""

from __future__ import annotations

import time
from typing import Any

from flask import g, jsonify, redirect, request, session, url_for
from flask_login import current_user

from app.auth.flow import LOGIN_TOKEN_KEY
from app.auth.services import mark_handover
from app.core.web import HANDOVER_KEY, wants_json
from app.db import db_session
from app.patient_view.choice import Choice

#: Reachable whatever the state (files of the page, the PWA shell, the health check).
ALWAYS_OPEN = frozenset({"static", "pwa.manifest", "pwa.service_worker", "pwa.offline", "pwa.icon", "health.healthz"})
#: Reachable while the patient reads; after the time-out only the lock page and the way out.
WHILE_SHOWING = frozenset({"patient_view.screen", "patient_view.ping", "patient_view.locked", "patient_view.leave"})
AFTER_TIMEOUT = frozenset({"patient_view.locked", "patient_view.leave"})
#: The requests that count as the patient still reading.
ACTIVITY = frozenset({"patient_view.screen", "patient_view.ping"})
REFUSED_MESSAGE = "患者さん用の画面を表示中です。職員がパスワードを入力して終了するまで、ほかの画面は開けません。"


def start(patient_id: int, choice: Choice) -> None:
    """Hand this session to a patient: from now on only the patient screen of `patient_id` is reachable. The
    handover is also kept on the server's login session, so an older copy of the cookie is held to it too."""
    now = time.time()
    mark_handover(db_session(), session.get(LOGIN_TOKEN_KEY), patient_id)
    db_session().commit()
    session[HANDOVER_KEY] = {"patient_id": patient_id, "staff_id": current_user.id, "started_at": now,
                             "last_seen": now, "timed_out": False, **choice.as_state()}


def current() -> dict[str, Any] | None:
    """The handover of this session, or None."""
    return session.get(HANDOVER_KEY)


def end() -> int | None:
    """Give the session back to the staff member; the patient's id (None when it was not handed over)."""
    state = session.pop(HANDOVER_KEY, None)
    session["last_seen"] = time.time()
    mark_handover(db_session(), session.get(LOGIN_TOKEN_KEY), None)
    db_session().commit()
    return state["patient_id"] if state else None


def idle_seconds() -> int:
    """How long the screen stays without a touch before it locks: the clinic's screen-lock time."""
    return current_user.clinic.idle_lock_minutes * 60


def has_timed_out(state: dict[str, Any], now: float) -> bool:
    """Whether the screen has locked (it stays locked once it has)."""
    return bool(state.get("timed_out")) or now - state.get("last_seen", 0) > idle_seconds()


def enforce_handover() -> Any:
    """Before every request: a handed-over session reaches only the patient screen's own routes (module doc)."""
    if not request.cookies:
        return None  # no cookie, no staff login to hold (every partner call: loading none would cost each one)
    state = session.get(HANDOVER_KEY)
    if current_user.is_authenticated and not state and g.get("handed_over_patient_id"):
        # The server says this login is handed over but the cookie does not: a copy taken before the handover.
        # It gets the lock page, never the staff screens (and not the patient screen either).
        state = session[HANDOVER_KEY] = {"patient_id": g.handed_over_patient_id, "staff_id": current_user.id,
                                         "timed_out": True}
    if not state:
        return None
    if not current_user.is_authenticated or current_user.id != state.get("staff_id"):
        session.pop(HANDOVER_KEY, None)  # the login it belonged to has ended
        return None
    if request.endpoint in ALWAYS_OPEN:
        return None
    now = time.time()
    if has_timed_out(state, now) and not state.get("timed_out"):
        state["timed_out"] = True
        session.modified = True
    allowed = AFTER_TIMEOUT if state["timed_out"] else WHILE_SHOWING
    if request.endpoint in allowed:
        if request.endpoint in ACTIVITY and not state["timed_out"]:
            state["last_seen"] = now
            session.modified = True
        return None
    if wants_json():
        return jsonify({"error": "patient_view", "message": REFUSED_MESSAGE}), 403
    target = url_for("patient_view.locked" if state["timed_out"] else "patient_view.screen")
    return redirect(target, 302 if request.method == "GET" else 303)
