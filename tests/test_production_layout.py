# ruff: noqa: S603 — the commands run are the repository's own unit files' ExecStart lines
"""The production layout of deploy/systemd, run here as the units would run it: the configuration check, the web
server with two worker processes (one per core) and the workers, on PostgreSQL, with the environment file's
settings. The unit files' own ExecStart lines are what is started, so a unit that no longer works fails this test.
What stays untested: systemd itself and nginx (deploy/nginx/kamikarte.conf), which this machine does not run."""

from __future__ import annotations

import os
import re
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


def _environment(database_url: str, transfer_dir: Path | None = None) -> dict[str, str]:
    values = dict(line.split("=", 1) for line in (UNITS / "kamikarte.env.example").read_text(encoding="utf-8")
                  .splitlines() if line and not line.startswith("#"))
    values.update(DATABASE_URL=database_url, SECRET_KEY="s" * 64, KAMIKARTE_SECRETS_KEY="k" * 64,
                  KAMIKARTE_ORCA_POLL="1")
    if transfer_dir is not None:  # the units' /var/lib/kamikarte/transfer (StateDirectory), here a temporary folder
        values["KAMIKARTE_TRANSFER_DIR"] = str(transfer_dir)
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


def _with_port(command: list[str], port: int) -> list[str]:
    return [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in command]


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def _wait_for(url: str, process: subprocess.Popen) -> requests.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return requests.get(url, timeout=10)
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still loading the app
            assert process.poll() is None, "the web server stopped"
            assert time.monotonic() < deadline, f"{url} did not answer"
            time.sleep(0.3)


def test_the_units_start_the_production_layout_on_postgresql(production_database, tmp_path):
    env = {**_environment(production_database, tmp_path), "KAMIKARTE_WEB_WORKERS": "2"}
    check = subprocess.run(_exec_lines("kamikarte-web.service", "ExecStartPre")[0], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "本番（KAMIKARTE_ENV=production）" in check.stdout
    assert f"[OK ] KAMIKARTE_TRANSFER_DIR: 書き出し・取り込みのフォルダー {tmp_path}" in check.stdout
    port = _free_port()
    web = subprocess.Popen(_with_port(_exec_lines("kamikarte-web.service")[0], port), cwd=ROOT, env=env)
    processes = [web] + [subprocess.Popen(_exec_lines(unit)[0], cwd=ROOT, env=env) for unit in
                         ("kamikarte-outbox.service", "kamikarte-orca-poller.service", "kamikarte-lab-poller.service",
                          "kamikarte-transfer.service")]
    try:
        response = _wait_for(f"http://127.0.0.1:{port}/healthz", web)
        assert response.status_code == 200
        deadline = time.monotonic() + 30
        while len(_children(web.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_children(web.pid)) == 2, "one gunicorn worker per core (KAMIKARTE_WEB_WORKERS=2)"
        for _ in range(6):  # fresh connections, answered by either worker
            login = requests.get(f"http://127.0.0.1:{port}/login", timeout=5, headers={"Connection": "close"})
            assert login.status_code == 200 and 'name="csrf_token"' in login.text
            # Cookies are secure in production: the login page's session cookie is sent over HTTPS only.
            assert "Secure" in login.headers.get("Set-Cookie", "")
        time.sleep(1)
        assert all(p.poll() is None for p in processes), "a process of the layout stopped"
        poll = subprocess.run([*_exec_lines("kamikarte-orca-poller.service")[0], "--once"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert poll.returncode == 0, poll.stderr
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    assert web.returncode == 0, "gunicorn stops cleanly on SIGTERM"


def test_the_backup_unit_writes_a_dated_backup(production_database, tmp_path):
    command = [part.replace("%%", "%").replace("/var/backups/kamikarte", str(tmp_path))
               for part in _exec_lines("kamikarte-backup.service")[0]]
    done = subprocess.run(command, cwd=ROOT, env=_environment(production_database), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (backup,) = tmp_path.iterdir()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{4}", backup.name)
    assert {"manifest.json", "manifest.sha256", "database.pgdump"} <= {path.name for path in backup.iterdir()}


def test_a_web_unit_refuses_to_start_without_a_writable_transfer_dir(production_database, tmp_path):
    check = subprocess.run(_exec_lines("kamikarte-web.service", "ExecStartPre")[0], cwd=ROOT,
                           env=_environment(production_database, tmp_path / "missing"), capture_output=True,
                           text=True, timeout=120, check=False)
    assert check.returncode == 1
    assert f"[NG ] KAMIKARTE_TRANSFER_DIR: フォルダー {tmp_path / 'missing'} がありません" in check.stdout


def test_a_web_unit_refuses_to_start_without_its_secrets(production_database):
    env = _environment(production_database)
    del env["SECRET_KEY"]
    check = subprocess.run(_exec_lines("kamikarte-web.service", "ExecStartPre")[0], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 1 and "SECRET_KEY" in check.stderr
