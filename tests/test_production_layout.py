# ruff: noqa: S603 — the commands run are the repository's own unit files' ExecStart lines
"""The production layout of deploy/systemd, run here as the units would run it: the configuration check, two web
processes (one per core) and the workers, on PostgreSQL, with the environment file's settings. The unit files'
own ExecStart lines are what is started, so a unit that no longer works fails this test. What stays untested: systemd
itself and nginx (deploy/nginx/kamikarte.conf), which this machine does not run."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "deploy" / "systemd"


def _exec_lines(unit: str, key: str = "ExecStart") -> list[list[str]]:
    lines = [line.split("=", 1)[1] for line in (UNITS / unit).read_text(encoding="utf-8").splitlines()
             if line.startswith(f"{key}=")]
    return [shlex.split(line.replace("/opt/kamikarte/.venv/bin/", f"{Path(sys.executable).parent}/"))
            for line in lines]


def _environment(database_url: str) -> dict[str, str]:
    values = dict(line.split("=", 1) for line in (UNITS / "kamikarte.env.example").read_text(encoding="utf-8")
                  .splitlines() if line and not line.startswith("#"))
    values.update(DATABASE_URL=database_url, SECRET_KEY="s" * 64, KAMIKARTE_SECRETS_KEY="k" * 64,
                  KAMIKARTE_ORCA_POLL="1")
    return {**os.environ, **values}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def production_database(database_url: str, backend: str) -> str:
    if backend != "postgresql":
        pytest.skip("the production layout runs on PostgreSQL")
    return database_url


def test_the_units_start_the_production_layout_on_postgresql(production_database):
    env = _environment(production_database)
    check = subprocess.run(_exec_lines("kamikarte-web@.service", "ExecStartPre")[0], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "本番（KAMIKARTE_ENV=production）" in check.stdout
    ports = [_free_port(), _free_port()]
    processes = [subprocess.Popen([part.replace("%i", str(port)) for part in _exec_lines("kamikarte-web@.service")[0]],
                                  cwd=ROOT, env=env) for port in ports]
    processes.append(subprocess.Popen(_exec_lines("kamikarte-outbox.service")[0], cwd=ROOT, env=env))
    try:
        for port in ports:
            deadline = time.monotonic() + 60
            while True:
                try:
                    response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline, f"web process on {port} did not answer"
                    time.sleep(0.3)
            assert response.status_code == 200
            login = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
            assert login.status_code == 200 and 'name="csrf_token"' in login.text
            # Cookies are secure in production: the login page's session cookie is sent over HTTPS only.
            assert "Secure" in login.headers.get("Set-Cookie", "")
        assert all(p.poll() is None for p in processes), "a process of the layout stopped"
        poll = subprocess.run([*_exec_lines("kamikarte-orca-poller.service")[0], "--once"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert poll.returncode == 0, poll.stderr
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def test_a_web_unit_refuses_to_start_without_its_secrets(production_database):
    env = _environment(production_database)
    del env["SECRET_KEY"]
    check = subprocess.run(_exec_lines("kamikarte-web@.service", "ExecStartPre")[0], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 1 and "SECRET_KEY" in check.stderr
