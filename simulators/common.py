"""What the simulators of outside services (電子処方箋管理サービス, the lab company, the 電子カルテ情報共有サービス)
share on the server side: their bearer tokens, the /_sim/reset and /_sim/faults harness, and taking one injected
fault per request (modes "down", "slow", and "lost_reply": the work is done, the reply is lost). The ORCA simulator
has its own (Basic auth, a richer fault board)."""

from __future__ import annotations

from typing import Any, Protocol

from flask import Flask, Response, jsonify, request

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
