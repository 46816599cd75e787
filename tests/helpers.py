"""Test helpers: a client that fills CSRF tokens like a browser, login with TOTP."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyotp
from sqlalchemy import event
from werkzeug.test import TestResponse

from tests.factories import DEMO_PASSWORD


@contextmanager
def counted_statements(engine: Any) -> Iterator[list[str]]:
    """Every SQL statement the engine runs inside the block, in order (to show a page's queries are bounded)."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token a page carries."""
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def run_at_once(*targets: Any, timeout: float = 120) -> None:
    """Run each callable in a thread of its own, all at once, and wait for them (several processes' work)."""
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)


def totp_code(secret: str, offset_steps: int = 0) -> str:
    """The current TOTP code (optionally a step later, to avoid reusing a code in fast tests)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


class HTMLClient:
    """Wraps Flask's test client: GET a page, then POST its form with the page's CSRF token."""

    def __init__(self, client: Any) -> None:
        self.raw = client
        self.last_html = ""

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        """GET a page and remember it (for its CSRF token)."""
        response = self.raw.get(path, **kwargs)
        if response.mimetype == "text/html" and response.status_code == 200:
            self.last_html = response.get_data(as_text=True)
        return response

    def token(self, path: str | None = None) -> str:
        """A CSRF token, from `path` or from the last page."""
        if path:
            self.get(path)
        return csrf_from(self.last_html)

    def post(self, path: str, data: dict[str, Any] | None = None, *, form_page: str | None = None,
             **kwargs: Any) -> TestResponse:
        """POST a form as a browser would, with the CSRF token of `form_page` (default: the last page)."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.token(form_page))
        response = self.raw.post(path, data=data, **kwargs)
        if response.mimetype == "text/html" and response.status_code == 200:
            self.last_html = response.get_data(as_text=True)
        return response

    def logout(self) -> TestResponse:
        """Log out as the page's ログアウト button does (POST with the CSRF token; the lock page carries one too)."""
        return self.post("/logout", {}, form_page="/lock")

    def post_json(self, path: str, body: dict[str, Any], **kwargs: Any) -> TestResponse:
        """POST JSON as the page's scripts do (CSRF token in the header)."""
        return self.raw.post(path, json=body, headers={"X-CSRFToken": self.token(), "Accept": "application/json"},
                             **kwargs)

    def login(self, login_id: str, secret: str | None, password: str = DEMO_PASSWORD,
              offset_steps: int = 0) -> TestResponse:
        """Log in with password, then the TOTP code if asked; returns the last response."""
        response = self.post("/login", {"login_id": login_id, "password": password}, form_page="/login")
        if response.status_code == 302 and response.location.endswith("/login/verify"):
            self.get("/login/verify")
            assert secret, "second factor asked but no secret given"
            response = self.post("/login/verify", {"code": totp_code(secret, offset_steps)})
        return response
