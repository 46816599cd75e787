"""What every simulator's test runner shares: serve a Flask app on a free loopback port in a thread, reset it,
inject faults through its /_sim harness, stop it. Each simulator's testing.py adds its own harness calls."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server


@dataclass
class RunningSimulator:
    """A simulator serving on 127.0.0.1: its root URL, the server and its thread."""

    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def harness(self, path: str, payload: dict[str, Any] | None = None) -> requests.Response:
        """POST to the simulator's /_sim harness (raises on an error status)."""
        response = requests.post(f"{self.url}/_sim/{path}", json=payload, timeout=5)
        response.raise_for_status()
        return response

    def reset(self) -> None:
        """Forget everything it holds; no fault."""
        self.harness("reset")

    def set_fault(self, mode: str, **options: Any) -> None:
        """Inject a fault (e.g. down, times=N)."""
        self.harness("faults", {"mode": mode, **options})

    def stop(self) -> None:
        """Shut down and free the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


Runner = TypeVar("Runner", bound=RunningSimulator)


def serve(app: Flask, runner: type[Runner]) -> Runner:
    """Serve `app` on 127.0.0.1:<free port> in a daemon thread, as a `runner`."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return runner(f"http://127.0.0.1:{server.server_port}", server, thread)
