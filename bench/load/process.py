"""A server process of the load test started and waited for until its /healthz answers."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import requests

from app.config import ROOT


def start_answering(command: list[str], env: dict[str, str], log: Path, base: str,
                    timeout: float) -> subprocess.Popen:
    """Start `command` (output to `log`) and return it once `base`/healthz answers 200; SystemExit naming the log
    when it exits or does not answer within `timeout` seconds."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"),  # noqa: S603 — our own command
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if _answers(f"{base}/healthz"):
            return process
        time.sleep(0.5)
    if process.poll() is not None:
        raise SystemExit(f"server exited ({process.returncode}); see {log}")
    process.terminate()
    raise SystemExit(f"server did not answer; see {log}")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=10).status_code == 200
    except requests.RequestException:
        return False
