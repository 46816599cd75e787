"""Simulator of a clinic's 資格確認端末 as our relay reaches it: request files in, reply files out.

The terminal itself only moves files (docs/standards/eprescription.md §2, onshi.md §1); what a reply says comes
from the national service behind it. So each service's simulator registers a handler per 業務コード (EPSsiPIR01,
YZKsiquc01 …) and this app carries the files, like the real relay over the real folders:

- `PUT /clinic/<医療機関コード>/req/<業務コード>req_<id>.xml` (bearer token) hands a request over; the handler
  answers at once and the reply waits in the clinic's `res` until fetched;
- `GET /clinic/<医療機関コード>/res/<業務コード>res_<id>` returns it once (X-File-Name names it), 404 before.

A request file with no registered handler gets no reply, as a terminal would leave it unanswered. Fault modes
(/_sim/faults): `down` (503), `slow` (`seconds`, default 2), `lost_reply` (the service does the work, the reply
never comes), `garbage` (the reply is not XML); with `code` (e.g. EPSsiPIR01) only that 業務コード's files meet it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, jsonify, request

from simulators.common import add_reset_and_faults, bearer_ok, take_fault

DEMO_TOKENS = {"1310123458": "demo-oqs-a", "1310156789": "demo-oqs-b"}
REQUEST_NAME = re.compile(r"^(?P<code>[A-Za-z]{3}[a-z]{2}[A-Za-z]{3}[0-9]{2})req_(?P<id>[A-Za-z0-9]{1,40})\.xml$")

# A handler gets the clinic's code, the request id and the request file's bytes, and returns the reply's
# extension (".xml" or ".pdf") and bytes.
Handler = Callable[[str, str, bytes], tuple[str, bytes]]


class TerminalState:
    """Replies waiting per clinic, the requests seen, the injected fault; a reset also resets the services behind
    the terminal (`on_reset`)."""

    def __init__(self, on_reset: list[Callable[[], None]] | None = None) -> None:
        self.lock = threading.Lock()
        self.fault: dict[str, Any] = {}
        self.on_reset = list(on_reset or [])
        self.reset()

    def reset(self) -> None:
        """Forget every file."""
        self.replies: dict[tuple[str, str], tuple[str, bytes]] = {}
        self.requests: list[dict[str, str]] = []
        for reset in self.on_reset:
            reset()


def create_app(handlers: dict[str, Handler] | None = None, tokens: dict[str, str] | None = None,
               on_reset: list[Callable[[], None]] | None = None) -> Flask:
    """The relay's HTTP side, answering through `handlers` (業務コード → handler); /_sim/reset also calls each of
    `on_reset` (the services' own state)."""
    app = Flask(__name__)
    state = TerminalState(on_reset)
    handlers = dict(handlers or {})
    tokens = dict(tokens or DEMO_TOKENS)
    add_reset_and_faults(app, state)

    def authorised(clinic: str) -> None:
        if not bearer_ok(tokens, clinic):
            abort(401)

    def faulted(name: str) -> str | None:
        wanted = state.fault.get("code")  # a fault for one 業務コード only leaves the others alone
        fault = take_fault(state) if not wanted or name.startswith(wanted) else None
        if fault == "down":
            abort(503)
        if fault == "slow":
            time.sleep(float(state.fault.get("seconds", 2)))
        return fault

    @app.get("/")
    def index():
        return jsonify({"service": "資格確認端末 (simulator)", "handlers": sorted(handlers)})

    @app.put("/clinic/<clinic>/req/<name>")
    def put_request(clinic: str, name: str):
        authorised(clinic)
        fault = faulted(name)
        match = REQUEST_NAME.match(name)
        if not match:
            return Response("ファイル名が不正です", status=400)
        code, request_id = match["code"], match["id"]
        body = request.get_data()
        with state.lock:
            state.requests.append({"clinic": clinic, "file": name})
        handler = handlers.get(code)
        if handler is None:
            return Response(status=202)
        extension, reply = handler(clinic, request_id, body)
        if fault == "lost_reply":
            return Response(status=202)
        if fault == "garbage":
            extension, reply = ".xml", b"\x00garbage<"
        with state.lock:
            state.replies[(clinic, f"{code}res_{request_id}")] = (extension, reply)
        return Response(status=202)

    @app.get("/clinic/<clinic>/res/<stem>")
    def get_reply(clinic: str, stem: str):
        authorised(clinic)
        faulted(stem)
        with state.lock:
            found = state.replies.pop((clinic, stem), None)
        if found is None:
            return Response(status=404)
        extension, body = found
        mimetype = "application/pdf" if extension == ".pdf" else "application/xml"
        return Response(body, mimetype=mimetype, headers={"X-File-Name": f"{stem}{extension}"})

    @app.get("/_sim/requests")
    def seen_requests():
        with state.lock:
            return jsonify(list(state.requests))

    return app
