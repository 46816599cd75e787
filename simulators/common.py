"""What the simulators of outside services (電子処方箋管理サービス, the lab company, the 電子カルテ情報共有サービス)
share on the server side: their bearer tokens, the /_sim/reset and /_sim/faults harness, and taking one injected
fault per request (modes "down", "slow", and "lost_reply": the work is done, the reply is lost). The ORCA simulator
has its own (Basic auth, a richer fault board). And every simulator's command line (`serve_until_stopped`)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any, Protocol

from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

#: The fault mode in which the service does the work but its reply never reaches the caller (a gateway times out).
LOST_REPLY = "lost_reply"


class HarnessState(Protocol):
    """A simulator's state as the harness needs it."""

    lock: Any
    fault: dict[str, Any]

    def reset(self) -> None:
        """Forget everything."""


def bearer_ok(tokens: dict[str, str], code: str) -> bool:
    """Whether the request carries the clinic's bearer token."""
    token = tokens.get(code)
    return bool(token) and request.headers.get("Authorization") == f"Bearer {token}"


def take_fault(state: HarnessState) -> str | None:
    """The mode of the injected fault this request meets ("down", "slow" …), counting down its `times`
    (default 1); None when there is none left."""
    fault = state.fault
    if fault.get("mode") and fault.get("times", 1) > 0:
        fault["times"] = fault.get("times", 1) - 1
        return str(fault["mode"])
    return None


def lost_reply() -> Response:
    """What the caller gets when the reply of work already done is lost on the way: a gateway timeout."""
    return Response("gateway timeout: the reply was lost", status=504)


def add_reset_and_faults(app: Flask, state: HarnessState) -> None:
    """POST /_sim/reset (forget everything) and /_sim/faults ({"mode", "times", …} replaces the fault)."""

    @app.post("/_sim/reset")
    def reset():
        with state.lock:
            state.reset()
        return jsonify({"ok": True})

    @app.post("/_sim/faults")
    def faults():
        state.fault = request.get_json(silent=True) or {}
        return jsonify({"ok": True})


def serve_until_stopped(description: str, default_port: int, make_app: Callable[[argparse.Namespace], Flask],
                        banner: Callable[[str], str], add_arguments: Callable[[argparse.ArgumentParser], None] | None
                        = None) -> None:
    """A simulator's `python -m simulators.<name> --port N [--host H]`: parse, build the app, serve on a threaded
    werkzeug server (no debugger, no reloader) until stopped, printing `banner(root URL)` once it listens."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(args.host, args.port, make_app(args), threaded=True)
    print(banner(f"http://{args.host}:{server.server_port}"), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
