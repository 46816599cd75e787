"""The app served for real (waitress in a process of its own, on loopback) and a browser-like client that logs in
through the login form with its TOTP code, then times requests.

Every figure a user feels is measured here: the request goes through a TCP connection, waitress, the whole WSGI
stack (session cookie, login, CSRF, routing, templates, database) and back, as a clinic's browser sees it on the
same machine (minus the LAN).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from app.config import ROOT
from tests.helpers import csrf_from, totp_code

#: The bench server's session key (benchmark data only; never a real install's).
BENCH_SECRET = "kamikarte-bench-secret-not-for-production"  # noqa: S105


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`waitress-serve --call app:create_app` on a free loopback port, configured by environment variables like
    an install (plain-HTTP cookies, no outbox or ORCA threads so that nothing else competes for the CPU)."""

    def __init__(self, database_url: str, log_path: Path, threads: int = 4) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": BENCH_SECRET,
               "KAMIKARTE_COOKIE_SECURE": "0", "KAMIKARTE_OUTBOX_THREAD": "0", "KAMIKARTE_ORCA_POLL": "0"}
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
            [sys.executable, "-m", "waitress", "--host=127.0.0.1", f"--port={self.port}", f"--threads={threads}",
             "--call", "app:create_app"], cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench server exited ({self.process.returncode}); see {self.log_path}")
            try:
                if requests.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"bench server did not answer within {timeout:.0f} s; see {self.log_path}")

    def cpu_seconds(self) -> float:
        """The CPU time the server process has used so far (user + system, from /proc: 10 ms steps): what our own
        work costs whatever else the machine is doing, where the wall clock also counts waiting for a core."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """End the server process (and close its log)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class Browser:
    """A requests session that keeps cookies like a browser, fills CSRF tokens from the last page, and fails loudly
    on any answer other than the one expected (a benchmark of an error page would measure nothing)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.last_html = ""

    def request(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> requests.Response:
        """One request; SystemExit when the status is not `expect`."""
        response = self.http.request(method, self.base_url + path, allow_redirects=False, timeout=60, **kwargs)
        if response.status_code != expect:
            raise SystemExit(f"{method} {path} answered {response.status_code}, not {expect}: "
                             f"{response.text[:300]}")
        if response.headers.get("Content-Type", "").startswith("text/html"):
            self.last_html = response.text
        return response

    def get(self, path: str, expect: int = 200, **query: str) -> requests.Response:
        """GET a page or file."""
        return self.request("GET", path, expect, params=query or None)

    def token(self) -> str:
        """The CSRF token of the last page."""
        return csrf_from(self.last_html)

    def post_form(self, path: str, data: dict[str, Any], expect: int = 200) -> requests.Response:
        """POST a form with the last page's CSRF token, as the browser does."""
        return self.request("POST", path, expect, data={"csrf_token": self.token(), **data})

    def login(self, login_id: str, password: str, totp_secret: str) -> None:
        """Log in as a user does: the login form, then the authenticator's current code."""
        self.get("/login")
        response = self.post_form("/login", {"login_id": login_id, "password": password}, expect=302)
        if not response.headers["Location"].endswith("/login/verify"):
            raise SystemExit(f"login went to {response.headers['Location']}, not the second factor")
        self.get("/login/verify")
        self.post_form("/login/verify", {"code": totp_code(totp_secret)}, expect=302)
        self.get("/reception")  # the landing page: the session is open


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds of samples in milliseconds (p95: the sample 95 % of them do not exceed)."""
    ordered = sorted(samples)
    return round(statistics.median(ordered), 2), round(ordered[max(int(len(ordered) * 0.95) - 1, 0)], 2)


def measure(call: Callable[[], object], n: int, warm_up: int = 5) -> tuple[float, float]:
    """p50 and p95 in milliseconds over `n` timed calls, after a few untimed ones (connections, first-use
    caches of the server process)."""
    for _ in range(warm_up):
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)
